// The broadcaster's side, without any DOM: capture the camera, own the room,
// and keep one RTCPeerConnection per viewer. The offer goes out the moment a
// viewer joins. Camera and quality changes act on the live senders
// (replaceTrack / applyConstraints / setParameters), so no viewer renegotiates.
import type { ServerMessageOf, StatsSummary } from '../protocol/messages.js';
import type { Rung } from './connection-ladder.js';
import { AdaptiveBitrate, applyLevel, levelMessage, type AbrLevel, type AbrReason } from './adaptive-bitrate.js';
import { Emitter } from './emitter.js';
import { audioConstraints, orderCodecs, PRESETS, videoConstraints, type Quality } from './media.js';
import { RELAY_PATH, StatsSampler, type PathInfo, type Sample } from './peer-stats.js';
import { RelayPublisher, type RelayPublisherStats } from './relay-publisher.js';
import { candidateInit, type SignalingClient } from './signaling.js';
import { median } from '../protocol/stats-math.js';

export interface ViewerInfo {
  id: string;
  state: RTCPeerConnectionState;
  /** The rung of the connection ladder the viewer asked for: 'direct' until it asks for more. */
  rung: Rung;
  path: PathInfo | null;
  bitrate: number;
  rtt?: number;
  loss?: number;
  codec?: string;
  /** The adaptive-bitrate level of this viewer's link (P2P viewers). */
  level?: AbrLevel;
}

export interface BroadcastStats {
  /** kbit/s sent to all viewers together. */
  upload: number;
  /** kbit/s per viewer (median), i.e. the stream's bitrate. */
  bitrate: number;
  availableBitrate?: number;
  fps?: number;
  width?: number;
  height?: number;
  codec?: string;
  qualityLimitation?: string;
  viewers: ViewerInfo[];
}

export interface RoomCredentials {
  roomId: string;
  token: string;
}

export interface BroadcastEvents {
  preview: MediaStream;
  live: RoomCredentials;
  viewers: ViewerInfo[];
  stats: BroadcastStats;
  summary: StatsSummary;
  /** The signalling connection dropped (media to connected viewers keeps flowing) or came back. */
  connection: 'online' | 'reconnecting';
  ended: { reason: string };
  error: { code: string; message: string };
}

interface ViewerLink {
  id: string;
  pc: RTCPeerConnection;
  sampler: StatsSampler;
  last: Sample | null;
  /** Serialises the async steps of one connection (remote description before candidates). */
  chain: Promise<void>;
  pendingCandidates: RTCIceCandidateInit[];
  rung: Rung;
  /** Adaptive bitrate: this link's level, from its own stats samples. */
  abr: AdaptiveBitrate;
}

/** How viewers are served: P2P first then the server relay (auto), or always one of them. */
export type Topology = 'auto' | 'p2p' | 'relay';

/** P2P viewers before further ones go to the relay, unless measurements say stop sooner. */
export const DEFAULT_MAX_P2P = 4;

export interface BroadcastOptions {
  quality: Quality;
  topology?: Topology;
  maxP2P?: number;
  cameraId?: string;
  microphoneId?: string;
  /** Take back a room after a reload or a dropped connection. */
  resume?: RoomCredentials;
  /** Viewers must give this password (sent again on every reclaim, so a restarted server knows it). */
  password?: string;
  /** Not listed by /api/rooms. */
  private?: boolean;
  statsIntervalMs?: number;
}

export class BroadcastSession extends Emitter<BroadcastEvents> {
  stream: MediaStream | null = null;
  quality: Quality;
  room: RoomCredentials | null = null;
  private readonly links = new Map<string, ViewerLink>();
  /** Viewers served by the server relay (no peer connection of ours). */
  private readonly relayViewers = new Set<string>();
  private publisher: RelayPublisher | null = null;
  private publisherStats: RelayPublisherStats | null = null;
  /** Consecutive stats samples in which the encoder said it was CPU-bound. */
  private cpuLimitedSamples = 0;
  /** Consecutive stats samples in which every P2P viewer got under half the preset for lack of bandwidth. */
  private starvedSamples = 0;
  private readonly unsubscribe: (() => void)[] = [];
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private ended = false;

  constructor(
    private readonly signaling: SignalingClient,
    private readonly options: BroadcastOptions,
  ) {
    super();
    this.quality = options.quality;
  }

  get videoTrack(): MediaStreamTrack | undefined {
    return this.stream?.getVideoTracks()[0];
  }

  /** Open the camera (and microphone, if there is one) for the preview. */
  async startPreview(): Promise<MediaStream> {
    const requested = this.quality;
    const video = videoConstraints(requested, this.options.cameraId);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video, audio: audioConstraints(this.options.microphoneId) });
    } catch {
      // A missing or refused microphone should not stop a video broadcast;
      // if the camera itself is the problem, this second call says so.
      stream = await navigator.mediaDevices.getUserMedia({ video });
    }
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = stream;
    this.tuneVideoTrack();
    // The quality may have changed while the camera was opening.
    if (this.quality !== requested) await this.videoTrack?.applyConstraints(videoConstraints(this.quality));
    this.emit('preview', stream);
    return stream;
  }

  /** Create the room (or reclaim it) and start answering viewers. */
  async goLive(): Promise<RoomCredentials> {
    if (!this.stream) await this.startPreview();
    const on = <K extends keyof typeof handlers>(type: K) =>
      this.unsubscribe.push(this.signaling.on(type, handlers[type] as never));
    const handlers = {
      viewer_joined: (m: ServerMessageOf<'viewer_joined'>) => this.addViewer(m.viewer_id),
      viewer_left: (m: ServerMessageOf<'viewer_left'>) => {
        this.relayViewers.delete(m.viewer_id);
        this.removeViewer(m.viewer_id);
      },
      relay_requested: (m: ServerMessageOf<'relay_requested'>) => this.serveByRelay(m.viewer_id),
      answer: (m: ServerMessageOf<'answer'>) => this.onAnswer(m),
      ice_candidate: (m: ServerMessageOf<'ice_candidate'>) => this.onCandidate(m),
      ice_restart: (m: ServerMessageOf<'ice_restart'>) => this.onIceRestart(m),
      stats_summary: (m: ServerMessageOf<'stats_summary'>) => this.emit('summary', m),
      room_closed: (m: ServerMessageOf<'room_closed'>) => this.finish(m.reason),
      connected: ({ reconnect }: { reconnect: boolean }) => {
        if (!reconnect || !this.room) return;
        // Our client id changed: the server will announce every viewer again.
        this.closeAllLinks();
        this.relayViewers.clear();
        this.signaling.send({ type: 'create_room', room_id: this.room.roomId, room_token: this.room.token, ...this.roomOptions() });
        this.emit('connection', 'online');
      },
      disconnected: () => this.emit('connection', 'reconnecting'),
    };
    (Object.keys(handlers) as (keyof typeof handlers)[]).forEach(on);

    if (!this.signaling.connected) await this.signaling.connect();
    const created = await this.signaling.request(
      this.options.resume
        ? { type: 'create_room', room_id: this.options.resume.roomId, room_token: this.options.resume.token, ...this.roomOptions() }
        : { type: 'create_room', ...this.roomOptions() },
      'room_created',
    );
    this.room = { roomId: created.room_id, token: created.room_token };
    this.statsTimer = setInterval(() => void this.sampleStats(), this.options.statsIntervalMs ?? 1000);
    this.emit('live', this.room);
    return this.room;
  }

  /** Switch to another camera while live: the new track replaces the old on every connection. */
  async switchCamera(deviceId: string): Promise<void> {
    const fresh = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(this.quality, deviceId) });
    this.options.cameraId = deviceId;
    const track = fresh.getVideoTracks()[0]!;
    track.contentHint = 'motion';
    await this.replaceTrack('video', track);
  }

  /** Switch the microphone, or (null) send no sound. */
  async switchMicrophone(deviceId: string | null): Promise<void> {
    const fresh = deviceId ? await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(deviceId) }) : null;
    this.options.microphoneId = deviceId ?? undefined;
    await this.replaceTrack('audio', fresh?.getAudioTracks()[0] ?? null);
  }

  private async replaceTrack(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void> {
    const stream = this.stream;
    if (!stream) return;
    await Promise.all([...this.links.values()].map((l) => this.sender(l, kind)?.replaceTrack(track)));
    this.publisher?.replaceTrack(track, kind);
    for (const old of kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks()) {
      stream.removeTrack(old);
      old.stop();
    }
    if (track) stream.addTrack(track);
    this.emit('preview', stream);
  }

  /** Change the capture size and the encoder ceiling in place. */
  async setQuality(quality: Quality): Promise<void> {
    this.quality = quality;
    const track = this.videoTrack;
    if (track) await track.applyConstraints(videoConstraints(quality));
    await Promise.all(
      [...this.links.values()].map((l) => {
        // A new preset is a new ceiling: every link starts again at its top level. In the link's
        // queue, so it never interleaves with the adaptive bitrate's own setParameters.
        l.abr.setQuality(quality);
        return this.enqueue(l, async () => {
          await this.applyBitrate(l);
          this.sendLevel(l, 'preset');
        });
      }),
    );
    this.publisher?.setQuality(quality);
    if (this.stream) this.emit('preview', this.stream);
  }

  /** Password and visibility for the room, set before goLive. */
  setRoomOptions(options: { password?: string | undefined; private?: boolean }): void {
    this.options.password = options.password;
    this.options.private = options.private;
  }

  /** Remove a viewer from the room; the server tells it and sends us viewer_left. */
  removeViewerFromRoom(viewerId: string): void {
    this.signaling.send({ type: 'remove_viewer', viewer_id: viewerId });
  }

  private roomOptions(): { password?: string; private?: boolean } {
    return {
      ...(this.options.password ? { password: this.options.password } : {}),
      ...(this.options.private ? { private: true } : {}),
    };
  }

  /** End the broadcast for everyone. */
  end(): void {
    if (this.room) this.signaling.send({ type: 'end_room' });
    this.finish('ended');
  }

  private tuneVideoTrack(): void {
    // Camera content: motion matters more than fine detail.
    const track = this.videoTrack;
    if (track) track.contentHint = 'motion';
  }

  private addViewer(viewerId: string): void {
    const stream = this.stream;
    if (!stream || this.ended) return;
    this.removeViewer(viewerId, false);
    if (this.relayFirst()) {
      this.signaling.send({ type: 'assign_relay', viewer_id: viewerId });
      this.relayViewers.add(viewerId);
      this.emitViewers();
      return;
    }
    const pc = new RTCPeerConnection({ iceServers: this.signaling.iceServers, bundlePolicy: 'max-bundle' });
    const link: ViewerLink = { id: viewerId, pc, sampler: new StatsSampler(pc, 'outbound'), last: null, chain: Promise.resolve(), pendingCandidates: [], rung: 'direct', abr: new AdaptiveBitrate(this.quality) };
    this.links.set(viewerId, link);

    // Always one audio and one video sender, even with no microphone, so a
    // device switch later is a replaceTrack and never a renegotiation.
    const audio = stream.getAudioTracks()[0];
    pc.addTransceiver(audio ?? 'audio', { direction: 'sendonly', streams: [stream] });
    const video = pc.addTransceiver(stream.getVideoTracks()[0] ?? 'video', {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: [{ maxBitrate: link.abr.level.maxBitrate }],
    });
    this.preferCodecs(video);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.signaling.send({ type: 'ice_candidate', target_id: viewerId, candidate: candidateInit(candidate) });
    };
    pc.onconnectionstatechange = () => this.emitViewers();
    this.enqueue(link, async () => {
      await pc.setLocalDescription(await pc.createOffer());
      const sdp = pc.localDescription!;
      this.signaling.send({ type: 'offer', target_id: viewerId, sdp: { type: 'offer', sdp: sdp.sdp } });
    });
    this.emitViewers();
  }

  /**
   * Whether a new viewer goes to the server relay instead of P2P: by the
   * room's choice, or because this browser's encoder or uplink is already the
   * limit (each P2P viewer costs one more encode and one more upload).
   */
  private relayFirst(): boolean {
    const topology = this.options.topology ?? 'auto';
    if (topology !== 'auto') return topology === 'relay';
    const p2p = this.links.size;
    if (p2p >= (this.options.maxP2P ?? DEFAULT_MAX_P2P)) return true;
    if (p2p === 0) return false;
    // CPU-bound for 5 s in a row, or the uplink too thin for the preset for
    // 10 s in a row (not the first seconds, while bandwidth estimation ramps
    // up): another P2P viewer would make everyone's picture worse.
    return this.cpuLimitedSamples >= 5 || this.starvedSamples >= 10;
  }

  /** Serve one viewer through the server relay: start publishing if we are not already. */
  private serveByRelay(viewerId: string): void {
    if (!this.room || !this.stream || this.ended) return;
    this.removeViewer(viewerId, false);
    this.relayViewers.add(viewerId);
    if (!this.publisher) {
      const url = this.signaling.endpoint('/relay', { role: 'publish', room: this.room.roomId, token: this.room.token });
      this.publisher = new RelayPublisher(url, this.stream, this.quality);
      this.publisher.on('stats', (s) => (this.publisherStats = s));
      this.publisher.on('error', (e) => this.emit('error', { code: 'relay', message: e.message }));
      this.publisher.start();
    }
    this.emitViewers();
  }

  private preferCodecs(transceiver: RTCRtpTransceiver): void {
    const capabilities = RTCRtpSender.getCapabilities?.('video');
    if (!capabilities || !transceiver.setCodecPreferences) return;
    try {
      transceiver.setCodecPreferences(orderCodecs(capabilities.codecs));
    } catch (err) {
      console.warn('codec preferences not applied', err);
    }
  }

  private removeViewer(viewerId: string, notify = true): void {
    const link = this.links.get(viewerId);
    if (!link) return;
    link.pc.close();
    this.links.delete(viewerId);
    if (notify) this.emitViewers();
  }

  private onAnswer(m: ServerMessageOf<'answer'>): void {
    const link = this.links.get(m.from_id);
    if (!link) return;
    this.enqueue(link, async () => {
      await link.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp.sdp });
      for (const c of link.pendingCandidates.splice(0)) await link.pc.addIceCandidate(c);
      await this.applyBitrate(link);
      this.sendLevel(link, 'start');
    });
  }

  /**
   * The viewer's ladder climbed to TURN: restart ICE with its policy and send
   * a fresh offer. The viewer changes its own policy before asking.
   */
  private onIceRestart(m: ServerMessageOf<'ice_restart'>): void {
    const link = this.links.get(m.from_id);
    if (!link) return;
    link.rung = m.ice_transport_policy === 'relay' ? 'turn' : 'direct';
    this.enqueue(link, async () => {
      link.pc.setConfiguration({ ...link.pc.getConfiguration(), iceTransportPolicy: m.ice_transport_policy });
      await link.pc.setLocalDescription(await link.pc.createOffer({ iceRestart: true }));
      this.signaling.send({ type: 'offer', target_id: link.id, sdp: { type: 'offer', sdp: link.pc.localDescription!.sdp } });
    });
    this.emitViewers();
  }

  private onCandidate(m: ServerMessageOf<'ice_candidate'>): void {
    const link = this.links.get(m.from_id);
    if (!link) return;
    const candidate = m.candidate as RTCIceCandidateInit;
    if (!link.pc.remoteDescription) link.pendingCandidates.push(candidate);
    else this.enqueue(link, () => link.pc.addIceCandidate(candidate));
  }

  private enqueue(link: ViewerLink, step: () => Promise<void>): Promise<void> {
    link.chain = link.chain.then(step).catch((err: unknown) => {
      if (link.pc.signalingState !== 'closed') console.warn(`viewer ${link.id}:`, err);
    });
    return link.chain;
  }

  private sender(link: ViewerLink, kind: 'audio' | 'video'): RTCRtpSender | undefined {
    return link.pc.getTransceivers().find((t) => t.receiver.track.kind === kind)?.sender;
  }

  private async applyBitrate(link: ViewerLink): Promise<void> {
    const sender = this.sender(link, 'video');
    if (!sender) return;
    const params = sender.getParameters();
    if (!params.encodings?.length) return;
    await sender.setParameters(applyLevel(params, link.abr.level));
  }

  /** Feed the link's latest sample to its adaptive bitrate; apply and announce a new level. */
  private adapt(link: ViewerLink): void {
    const s = link.last;
    if (!s || link.pc.connectionState !== 'connected') return;
    const d = link.abr.update({
      at: s.at,
      loss: s.loss,
      rtt: s.rtt,
      availableBitrate: s.availableBitrate,
      sentBitrate: s.videoBitrate,
      qualityLimitation: s.qualityLimitation,
    });
    if (!d.changed) return;
    this.enqueue(link, async () => {
      await this.applyBitrate(link);
      this.sendLevel(link, d.reason ?? 'start');
    });
  }

  private sendLevel(link: ViewerLink, reason: AbrReason): void {
    if (link.pc.signalingState !== 'closed') this.signaling.send(levelMessage(link.id, link.abr.level, reason));
  }

  private viewerInfo(link: ViewerLink): ViewerInfo {
    const s = link.last;
    return {
      id: link.id,
      state: link.pc.connectionState,
      rung: link.rung,
      path: s?.path ?? null,
      bitrate: s?.bitrate ?? 0,
      ...(s?.rtt !== undefined ? { rtt: s.rtt } : {}),
      ...(s?.loss !== undefined ? { loss: s.loss } : {}),
      ...(s?.codec !== undefined ? { codec: s.codec } : {}),
      level: link.abr.level,
    };
  }

  private relayViewerInfo(id: string): ViewerInfo {
    const s = this.publisherStats;
    return { id, state: 'connected', path: RELAY_PATH, rung: 'relay', bitrate: s?.bitrate ?? 0, ...(s?.codec ? { codec: s.codec } : {}) };
  }

  private allViewers(): ViewerInfo[] {
    return [...[...this.links.values()].map((l) => this.viewerInfo(l)), ...[...this.relayViewers].map((id) => this.relayViewerInfo(id))];
  }

  private emitViewers(): void {
    this.emit('viewers', this.allViewers());
  }

  private async sampleStats(): Promise<void> {
    const links = [...this.links.values()].filter((l) => l.pc.connectionState !== 'closed');
    await Promise.all(
      links.map(async (l) => {
        l.last = await l.sampler.sample().catch(() => l.last);
        this.adapt(l);
      }),
    );
    const samples = links.map((l) => l.last).filter((s): s is Sample => s !== null);
    this.cpuLimitedSamples = samples.some((s) => s.qualityLimitation === 'cpu') ? this.cpuLimitedSamples + 1 : 0;
    const target = PRESETS[this.quality].maxBitrate / 1000;
    const starved = samples.length > 0 && samples.every((s) => s.qualityLimitation === 'bandwidth' && s.videoBitrate < target / 2);
    this.starvedSamples = starved ? this.starvedSamples + 1 : 0;
    const relay = this.relayViewers.size ? this.publisherStats : null;
    const settings = this.videoTrack?.getSettings();
    const lead = samples.find((s) => s.fps !== undefined);
    const available = samples.map((s) => s.availableBitrate).filter((v): v is number => v !== undefined);
    const rtts = samples.map((s) => s.rtt).filter((v): v is number => v !== undefined);
    const losses = samples.map((s) => s.loss).filter((v): v is number => v !== undefined);
    const stats: BroadcastStats = {
      // The relay stream is uploaded once, whatever the number of relay viewers.
      upload: samples.reduce((sum, s) => sum + s.bitrate, 0) + (relay?.bitrate ?? 0),
      bitrate: Math.round(median(samples.map((s) => s.bitrate)) ?? relay?.bitrate ?? 0),
      ...(available.length ? { availableBitrate: Math.min(...available) } : {}),
      fps: lead?.fps ?? relay?.fps ?? settings?.frameRate,
      width: lead?.width ?? settings?.width,
      height: lead?.height ?? settings?.height,
      codec: lead?.codec ?? relay?.codec ?? undefined,
      ...(lead?.qualityLimitation ? { qualityLimitation: lead.qualityLimitation } : {}),
      viewers: this.allViewers(),
    };
    this.emit('stats', stats);
    this.emitViewers();
    // Undefined fields vanish in JSON, so the report carries only what was measured.
    this.signaling.send({
      type: 'stats_report',
      bitrate: stats.bitrate,
      upload_bitrate: stats.upload,
      available_bitrate: stats.availableBitrate,
      fps: stats.fps === undefined ? undefined : Math.round(stats.fps),
      width: stats.width,
      height: stats.height,
      rtt: median(rtts) ?? undefined,
      loss: median(losses) ?? undefined,
      codec: stats.codec,
    });
  }

  private closeAllLinks(): void {
    for (const id of [...this.links.keys()]) this.removeViewer(id, false);
    this.emitViewers();
  }

  private finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.unsubscribe.splice(0).forEach((off) => off());
    this.closeAllLinks();
    this.relayViewers.clear();
    this.publisher?.stop();
    this.publisher = null;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.room = null;
    this.emit('ended', { reason });
  }
}
