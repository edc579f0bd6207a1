// The broadcaster's side, without any DOM: it owns the room and ties the parts
// to signalling — the camera (Capture), the P2P/TURN viewers (ViewerLinks),
// the SFU's viewers (SfuFeed), the server-relay viewers (RelayFeed), which of
// them a new viewer gets (topology.ts), the codec rules (CodecPolicy) and the
// figures (stats.ts).
import type { RoomClosedReason, StatsSummary, VideoCodec } from '../../protocol/messages.js';
import type { Sample } from '../rtc/stats-sampler.js';
import { Emitter } from '../emitter.js';
import { relayPublishSupported } from '../relay/publisher.js';
import type { SignallingClient } from '../signalling/client.js';
import { Capture, type TrackKind } from './capture.js';
import { CodecPolicy, type CodecCeiling } from './codec-policy.js';
import { PRESETS, type Quality } from './media.js';
import { openScreen } from './screen-share.js';
import { RelayFeed } from './relay-feed.js';
import { SfuFeed } from './sfu-feed.js';
import { broadcastReport, broadcastStats, relayViewerInfo, sfuViewerInfo, type BroadcastStats, type ViewerInfo } from './stats.js';
import { DEFAULT_MAX_P2P, routeForViewer, uplinkStarved, type Overflow, type Topology } from './topology.js';
import { ViewerLinks } from './viewer-links.js';

export interface RoomCredentials {
  roomId: string;
  token: string;
}

/** Why a broadcast ended: the broadcaster ended it here, or the server closed the room. */
export type BroadcastEndReason = RoomClosedReason;

/** What goes wrong that the broadcaster should hear about. */
export type BroadcastErrorCode = 'relay_publish_unsupported' | 'relay_publish_failed' | 'sfu_unavailable' | 'camera_back_failed';

export interface BroadcastEvents {
  preview: MediaStream;
  live: RoomCredentials;
  viewers: ViewerInfo[];
  stats: BroadcastStats;
  summary: StatsSummary;
  /** The signalling connection dropped (media to connected viewers keeps flowing) or came back. */
  connection: 'online' | 'reconnecting';
  ended: { reason: BroadcastEndReason };
  error: { code: BroadcastErrorCode; message: string };
  /** The picture is the screen (with the tab's sound mixed in, or not), or the camera again. */
  sharing: { screen: boolean; audio: boolean };
}

export interface BroadcastOptions {
  quality: Quality;
  topology?: Topology;
  /** Where auto sends viewers past the P2P cap (default: the SFU). */
  overflow?: Overflow;
  maxP2P?: number;
  cameraId?: string;
  microphoneId?: string;
  /** Take back a room after a reload or a dropped connection. */
  resume?: RoomCredentials;
  /** Viewers must give this password (sent again on every reclaim, so a restarted server knows it). */
  password?: string;
  /** Not listed by /api/rooms. */
  private?: boolean;
  /** The best codec viewers may get (`?codec=`, or the codec menu); the best shared one by default. */
  codec?: VideoCodec | null;
  statsIntervalMs?: number;
}

export class BroadcastSession extends Emitter<BroadcastEvents> {
  room: RoomCredentials | null = null;
  private readonly capture: Capture;
  private readonly codecs: CodecPolicy;
  private readonly links: ViewerLinks;
  private readonly relay: RelayFeed;
  private readonly sfu: SfuFeed;
  /** What each viewer decodes, to serve it another way when the SFU cannot. */
  private readonly receivable = new Map<string, VideoCodec[] | undefined>();
  private sfuSample: Sample | null = null;
  /** Consecutive stats samples in which every P2P viewer got under half the preset for lack of bandwidth. */
  private starvedFor = 0;
  private unsubscribe: (() => void) | null = null;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private ended = false;

  constructor(
    private readonly signalling: SignallingClient,
    private readonly options: BroadcastOptions,
  ) {
    super();
    this.capture = new Capture(options.quality, (kind, track) => this.replaceTrack(kind, track), (stream) => this.emit('preview', stream), options.cameraId, options.microphoneId);
    this.codecs = new CodecPolicy(options.codec ?? null);
    this.links = new ViewerLinks({
      stream: () => (this.ended ? null : this.capture.stream),
      quality: () => this.capture.quality,
      iceServers: () => this.signalling.iceServers,
      codecs: this.codecs,
      send: (message) => this.signalling.send(message),
      changed: () => this.emitViewers(),
    });
    this.relay = new RelayFeed(
      () => this.signalling.endpoint('/relay', { role: 'publish', room: this.room!.roomId, token: this.room!.token }),
      (message) => this.emit('error', { code: 'relay_publish_failed', message }),
    );
    this.sfu = new SfuFeed({
      endpoint: () => this.signalling.httpEndpoint(`/api/whip/${this.room!.roomId}`),
      token: () => this.room!.token,
      iceServers: () => this.signalling.iceServers,
      codecs: this.codecs,
      send: (message) => this.signalling.send(message),
      unavailable: (viewers, message) => {
        this.emit('error', { code: 'sfu_unavailable', message });
        for (const id of viewers) this.addViewer(id, this.receivable.get(id));
      },
    });
  }

  get stream(): MediaStream | null {
    return this.capture.stream;
  }

  get quality(): Quality {
    return this.capture.quality;
  }

  get videoTrack(): MediaStreamTrack | undefined {
    return this.capture.videoTrack;
  }

  /** The effective codec ceiling: the lower of the broadcaster's choice and the CPU step-down. */
  get codecCeiling(): CodecCeiling | undefined {
    return this.codecs.ceiling;
  }

  /** Open the camera (and microphone, if there is one) for the preview. */
  startPreview(): Promise<MediaStream> {
    return this.capture.open();
  }

  /** Create the room (or reclaim it) and start answering viewers. */
  async goLive(): Promise<RoomCredentials> {
    if (!this.capture.stream) await this.capture.open();
    this.unsubscribe = this.signalling.onEach({
      viewer_joined: (m) => this.addViewer(m.viewer_id, m.codecs),
      viewer_left: (m) => {
        this.relay.remove(m.viewer_id);
        this.sfu.remove(m.viewer_id);
        this.receivable.delete(m.viewer_id);
        if (this.links.remove(m.viewer_id)) this.emitViewers();
      },
      relay_requested: (m) => this.serveByRelay(m.viewer_id),
      answer: (m) => this.links.onAnswer(m.from_id, m.sdp.sdp),
      ice_candidate: (m) => this.links.onCandidate(m.from_id, m.candidate as RTCIceCandidateInit),
      ice_restart: (m) => {
        this.links.onIceRestart(m.from_id, m.ice_transport_policy === 'relay');
        this.emitViewers();
      },
      stats_summary: (m) => this.emit('summary', m),
      room_closed: (m) => this.finish(m.reason),
      connected: ({ reconnect }) => this.onReconnected(reconnect),
      disconnected: () => this.emit('connection', 'reconnecting'),
    });
    if (!this.signalling.connected) await this.signalling.connect();
    const resume = this.options.resume;
    const created = await this.signalling.request(
      resume ? { type: 'create_room', room_id: resume.roomId, room_token: resume.token, ...this.roomOptions() } : { type: 'create_room', ...this.roomOptions() },
      'room_created',
    );
    this.room = { roomId: created.room_id, token: created.room_token };
    if (this.options.topology === 'relay' && !relayPublishSupported()) this.emitRelayUnsupported();
    this.links.prepareSpare(0);
    this.statsTimer = setInterval(() => void this.sampleStats(), this.options.statsIntervalMs ?? 1000);
    this.emit('live', this.room);
    return this.room;
  }

  /** Switch to another camera while live: the new track replaces the old on every connection. */
  switchCamera(deviceId: string): Promise<void> {
    return this.capture.switchCamera(deviceId);
  }

  /** Switch the microphone, or (null) send no sound. */
  switchMicrophone(deviceId: string | null): Promise<void> {
    return this.capture.switchMicrophone(deviceId);
  }

  get sharingScreen(): boolean {
    return this.capture.sharingScreen;
  }

  /**
   * Send the screen instead of the camera, on every viewer link and the relay
   * (replaceTrack: nobody reconnects). Rejects if the person cancels the choice.
   * Stopping from the browser's own sharing bar comes back to the camera too.
   */
  async shareScreen(): Promise<void> {
    if (this.capture.sharingScreen) return;
    const screen = await openScreen(PRESETS[this.capture.quality].frameRate);
    screen.video.addEventListener('ended', () => {
      this.stopSharing().catch((err: unknown) => this.emit('error', { code: 'camera_back_failed', message: String(err) }));
    });
    await this.capture.shareScreen(screen);
    this.emit('sharing', { screen: true, audio: screen.audio !== null });
  }

  /** Back to the camera. */
  async stopSharing(): Promise<void> {
    if (!this.capture.sharingScreen) return;
    await this.capture.stopSharing();
    this.emit('sharing', { screen: false, audio: false });
  }

  /** Change the capture size and the encoder ceiling in place. */
  async setQuality(quality: Quality): Promise<void> {
    await this.capture.setQuality(quality);
    await this.links.setQuality(quality);
    this.relay.setQuality(quality);
    await this.sfu.setQuality(quality);
  }

  /** Cap the codec (null: the best shared one). Viewers above the new ceiling renegotiate at once. */
  setCodecCeiling(codec: VideoCodec | null): void {
    this.options.codec = codec;
    this.codecs.setUserCeiling(codec);
    this.links.applyCodecs();
    this.emitViewers();
  }

  /** Password and visibility for the room, set before goLive. */
  setRoomOptions(options: { password?: string | undefined; private?: boolean }): void {
    this.options.password = options.password;
    this.options.private = options.private;
  }

  /** Remove a viewer from the room; the server tells it and sends us viewer_left. */
  removeViewerFromRoom(viewerId: string): void {
    this.signalling.send({ type: 'remove_viewer', viewer_id: viewerId });
  }

  /** End the broadcast for everyone. */
  end(): void {
    if (this.room) this.signalling.send({ type: 'end_room' });
    this.finish('ended');
  }

  private roomOptions(): { password?: string; private?: boolean } {
    return {
      ...(this.options.password ? { password: this.options.password } : {}),
      ...(this.options.private ? { private: true } : {}),
    };
  }

  private async replaceTrack(kind: TrackKind, track: MediaStreamTrack | null): Promise<void> {
    await this.links.replaceTrack(kind, track);
    this.relay.replaceTrack(kind, track);
    await this.sfu.replaceTrack(kind, track);
  }

  /** Our client id changed: the server will announce every viewer again once the room is reclaimed. */
  private onReconnected(reconnect: boolean): void {
    if (!reconnect || !this.room) return;
    this.links.removeAll();
    this.relay.forgetViewers();
    // The SFU's session is the old connection's: a new one starts with the first viewer announced again.
    this.sfu.stop();
    this.emitViewers();
    this.signalling.send({ type: 'create_room', room_id: this.room.roomId, room_token: this.room.token, ...this.roomOptions() });
    this.emit('connection', 'online');
  }

  private addViewer(viewerId: string, receivable?: VideoCodec[]): void {
    const stream = this.capture.stream;
    if (!stream || this.ended) return;
    this.links.remove(viewerId);
    this.receivable.set(viewerId, receivable);
    const route = routeForViewer({
      topology: this.options.topology ?? 'auto',
      overflow: this.options.overflow ?? 'sfu',
      maxP2P: this.options.maxP2P ?? DEFAULT_MAX_P2P,
      canPublishToRelay: relayPublishSupported(),
      sfuAccepts: this.sfu.accepts(receivable),
      p2pViewers: this.links.size,
      cpuLimitedFor: this.codecs.cpuLimitedFor,
      starvedFor: this.starvedFor,
    });
    if (route === 'relay') {
      this.signalling.send({ type: 'assign_relay', viewer_id: viewerId });
      this.relay.viewers.add(viewerId);
    } else if (route === 'sfu') {
      this.sfu.serve(viewerId, receivable, stream, this.capture.quality);
    } else {
      this.links.add(viewerId, receivable);
    }
    this.emitViewers();
  }

  /** Serve one viewer through the server relay: start publishing if we are not already. */
  private serveByRelay(viewerId: string): void {
    const stream = this.capture.stream;
    if (!this.room || !stream || this.ended) return;
    if (!relayPublishSupported()) {
      // Keep the viewer's peer connection (a path may still connect late) and
      // tell it, and the broadcaster, that the relay cannot carry this room.
      this.signalling.send({ type: 'relay_unavailable', viewer_id: viewerId });
      this.emitRelayUnsupported();
      return;
    }
    this.links.remove(viewerId);
    this.relay.serve(viewerId, stream, this.capture.quality);
    this.emitViewers();
  }

  private emitRelayUnsupported(): void {
    this.emit('error', {
      code: 'relay_publish_unsupported',
      message: 'this browser cannot publish to the server relay (no MediaStreamTrackProcessor): viewers are served peer-to-peer or through TURN',
    });
  }

  private allViewers(): ViewerInfo[] {
    const relay = this.relay.stats;
    return [
      ...this.links.viewers(),
      ...[...this.sfu.viewers].map((id) => sfuViewerInfo(id, this.sfuSample)),
      ...[...this.relay.viewers].map((id) => relayViewerInfo(id, relay)),
    ];
  }

  private emitViewers(): void {
    this.emit('viewers', this.allViewers());
  }

  private async sampleStats(): Promise<void> {
    const samples = await this.links.sample();
    this.sfuSample = await this.sfu.sample();
    if (this.codecs.observe(samples.some((s) => s.qualityLimitation === 'cpu'), this.links.codecsInUse())) this.links.applyCodecs();
    this.starvedFor = uplinkStarved(samples, PRESETS[this.capture.quality].maxBitrate / 1000) ? this.starvedFor + 1 : 0;
    const viewers = this.allViewers();
    const stats = broadcastStats({
      samples,
      relay: this.relay.stats,
      sfu: this.sfuSample,
      ...(this.capture.videoTrack ? { camera: this.capture.videoTrack.getSettings() } : {}),
      ...(this.codecs.ceiling ? { ceiling: this.codecs.ceiling } : {}),
      viewers,
    });
    this.emit('stats', stats);
    this.emit('viewers', viewers);
    this.signalling.send(broadcastReport(stats, samples));
  }

  private finish(reason: BroadcastEndReason): void {
    if (this.ended) return;
    this.ended = true;
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.unsubscribe?.();
    this.links.stop();
    this.emitViewers();
    this.relay.stop();
    this.sfu.stop();
    this.capture.stop();
    this.room = null;
    this.emit('ended', { reason });
  }
}
