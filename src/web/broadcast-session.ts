// The broadcaster's side, without any DOM: capture the camera, own the room,
// and keep one RTCPeerConnection per viewer. The offer goes out the moment a
// viewer joins. Camera and quality changes act on the live senders
// (replaceTrack / applyConstraints / setParameters), so no viewer renegotiates.
import type { ServerMessageOf, StatsSummary, VideoCodec } from '../protocol/messages.js';
import { negotiateCaptureTime } from './capture-time.js';
import { chooseCodec, codecBelow, CpuStepDown, preferenceOrder, sendableCodecs, VIDEO_CODEC_ORDER } from './codecs.js';
import type { Rung } from './connection-ladder.js';
import { AdaptiveBitrate, applyLevel, levelMessage, type AbrLevel, type AbrReason } from './adaptive-bitrate.js';
import { Emitter } from './emitter.js';
import { audioConstraints, PRESETS, resizeIgnored, videoConstraints, type Quality } from './media.js';
import { RELAY_PATH, StatsSampler, type PathInfo, type Sample } from './peer-stats.js';
import { RelayPublisher, relayPublishSupported, type RelayPublisherStats } from './relay-publisher.js';
import { sanitizeSdp } from './sdp.js';
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
  /** The codec measured on the wire (getStats). */
  codec?: string;
  /** The codec chosen for this viewer: best shared, under the ceiling. */
  plannedCodec?: VideoCodec;
  /** The adaptive-bitrate level of this viewer's link (P2P viewers). */
  level?: AbrLevel;
}

/** Why new viewers do not get the best codec: the broadcaster's choice, or an encoder out of CPU. */
export interface CodecCeiling {
  codec: VideoCodec;
  reason: 'user' | 'cpu';
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
  /** Set when codecs are capped below AV1. */
  codecCeiling?: CodecCeiling;
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
  /** What the viewer said it decodes (undefined: an older client that did not say). */
  receivable: VideoCodec[] | undefined;
  codec: VideoCodec | null;
  /** Adaptive bitrate: this link's level, from its own stats samples. */
  abr: AdaptiveBitrate;
}

/**
 * A peer connection made before its viewer exists: senders added, offer set
 * as local description, candidates gathering. The offer (with every candidate
 * gathered so far) goes out the moment a viewer joins; `target` is the viewer
 * its later candidates go to, null until then.
 */
interface PreparedPeer {
  pc: RTCPeerConnection;
  offered: Promise<void>;
  target: string | null;
  /** The codec its offer puts first: the best for a viewer that decodes everything. */
  codec: VideoCodec | null;
}

/**
 * The next spare is made once the viewer that took the last one is connected
 * (its set-up no longer competes for the CPU), or this long after, whichever
 * comes first: viewers arriving in a burst each find one ready.
 */
const SPARE_DELAY_MS = 2_000;

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
  /** The best codec viewers may get (`?codec=`, or the codec menu); the best shared one by default. */
  codec?: VideoCodec | null;
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
  /** Counts CPU-bound samples; decides when the codec steps down (AV1 → VP9 → VP8 → H.264). */
  private readonly cpu = new CpuStepDown();
  /** Lowered while the encoder is CPU-bound; not raised again by itself in this broadcast (it would oscillate). */
  private cpuCeiling: VideoCodec | null = null;
  private readonly sendable = sendableCodecs();
  /** Consecutive stats samples in which every P2P viewer got under half the preset for lack of bandwidth. */
  private starvedSamples = 0;
  private readonly unsubscribe: (() => void)[] = [];
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private ended = false;
  /** At most one spare peer connection; closed when used up or when the broadcast ends. */
  private spare: PreparedPeer | null = null;
  private spareTimer: ReturnType<typeof setTimeout> | null = null;

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
    if (this.quality !== requested) await this.resizeCamera(this.quality);
    this.emit('preview', stream);
    return stream;
  }

  /** Create the room (or reclaim it) and start answering viewers. */
  async goLive(): Promise<RoomCredentials> {
    if (!this.stream) await this.startPreview();
    const on = <K extends keyof typeof handlers>(type: K) =>
      this.unsubscribe.push(this.signaling.on(type, handlers[type] as never));
    const handlers = {
      viewer_joined: (m: ServerMessageOf<'viewer_joined'>) => this.addViewer(m.viewer_id, m.codecs),
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
    if (this.options.topology === 'relay' && !relayPublishSupported()) this.emitRelayUnsupported();
    this.prepareSpare(0);
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
    const pcs = [...[...this.links.values()].map((l) => l.pc), ...(this.spare ? [this.spare.pc] : [])];
    await Promise.all(pcs.map((pc) => this.sender(pc, kind)?.replaceTrack(track)));
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
    await this.resizeCamera(quality);
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

  /**
   * Cap the codec (null: the best shared one). Viewers above the new ceiling
   * renegotiate at once; the CPU step-down, if any, still applies below it.
   */
  setCodecCeiling(codec: VideoCodec | null): void {
    this.options.codec = codec;
    this.cpuCeiling = null;
    for (const link of this.links.values()) this.applyCodec(link);
    this.emitViewers();
  }

  /** The effective ceiling: the lower of the broadcaster's choice and the CPU step-down. */
  get codecCeiling(): CodecCeiling | undefined {
    const user = this.options.codec ?? null;
    const cpu = this.cpuCeiling;
    const rank = (c: VideoCodec) => VIDEO_CODEC_ORDER.indexOf(c);
    if (cpu && (!user || rank(cpu) > rank(user))) return { codec: cpu, reason: 'cpu' };
    return user ? { codec: user, reason: 'user' } : undefined;
  }

  /**
   * Resize the live camera track to a preset. Firefox (ESR 153, measured with
   * its fake camera) resolves applyConstraints on a camera track without
   * changing its size, even for exact constraints, so when the size did not
   * move at all the camera is opened again at the new size and swapped in
   * with replaceTrack (no renegotiation, as for a camera switch).
   */
  private async resizeCamera(quality: Quality): Promise<void> {
    const track = this.videoTrack;
    if (!track) return;
    const before = track.getSettings();
    await track.applyConstraints(videoConstraints(quality));
    if (!resizeIgnored(before, track.getSettings(), PRESETS[quality])) return;
    const fresh = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(quality, this.options.cameraId ?? before.deviceId) });
    const replacement = fresh.getVideoTracks()[0]!;
    replacement.contentHint = 'motion';
    await this.replaceTrack('video', replacement);
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

  private addViewer(viewerId: string, receivable?: VideoCodec[]): void {
    const stream = this.stream;
    if (!stream || this.ended) return;
    this.removeViewer(viewerId, false);
    if (this.relayFirst()) {
      this.signaling.send({ type: 'assign_relay', viewer_id: viewerId });
      this.relayViewers.add(viewerId);
      this.emitViewers();
      return;
    }
    const peer = this.takeSpare() ?? this.preparePeer();
    const pc = peer.pc;
    const link: ViewerLink = {
      id: viewerId,
      pc,
      sampler: new StatsSampler(pc, 'outbound'),
      last: null,
      chain: Promise.resolve(),
      pendingCandidates: [],
      rung: 'direct',
      receivable,
      codec: peer.codec,
      abr: new AdaptiveBitrate(this.quality),
    };
    this.links.set(viewerId, link);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected' || pc.connectionState === 'failed') this.prepareSpare(0);
      this.emitViewers();
    };
    this.enqueue(link, async () => {
      await peer.offered;
      // The spare was offered with the codec most viewers get; this viewer may
      // decode less (or the cap moved since). A new offer on a connection that
      // is already set up costs a few milliseconds, not the set-up again.
      const wanted = this.codecFor(link);
      const video = this.transceiver(pc, 'video');
      if (wanted !== link.codec && video) {
        link.codec = this.preferCodecs(video, wanted);
        await pc.setLocalDescription(await pc.createOffer());
      }
      // The local description holds the candidates gathered so far; later ones trickle.
      // sanitizeSdp: Firefox's offers can carry lines Chromium refuses (src/web/sdp.ts).
      this.signaling.send({ type: 'offer', target_id: viewerId, sdp: { type: 'offer', sdp: sanitizeSdp(pc.localDescription!.sdp) } });
      peer.target = viewerId;
    });
    this.prepareSpare(SPARE_DELAY_MS);
    this.emitViewers();
  }

  /** A peer connection with its senders and its offer, ready for any viewer. */
  private preparePeer(): PreparedPeer {
    const stream = this.stream!;
    const pc = new RTCPeerConnection({ iceServers: this.signaling.iceServers, bundlePolicy: 'max-bundle' });
    const peer: PreparedPeer = { pc, offered: Promise.resolve(), target: null, codec: null };
    // Always one audio and one video sender, even with no microphone, so a
    // device switch later is a replaceTrack and never a renegotiation.
    const audio = stream.getAudioTracks()[0];
    pc.addTransceiver(audio ?? 'audio', { direction: 'sendonly', streams: [stream] });
    const video = pc.addTransceiver(stream.getVideoTracks()[0] ?? 'video', {
      direction: 'sendonly',
      streams: [stream],
      // The preset's ceiling: a new link's adaptive bitrate starts at its top level.
      sendEncodings: [{ maxBitrate: PRESETS[this.quality].maxBitrate }],
    });
    peer.codec = this.preferCodecs(video, this.codecFor(null));
    negotiateCaptureTime(video);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && peer.target) this.signaling.send({ type: 'ice_candidate', target_id: peer.target, candidate: candidateInit(candidate) });
    };
    peer.offered = pc.createOffer().then((offer) => pc.setLocalDescription(offer));
    return peer;
  }

  /** Make the spare for the next viewer after `delayMs`, unless there is one. */
  private prepareSpare(delayMs: number): void {
    if (this.spareTimer) clearTimeout(this.spareTimer);
    this.spareTimer = setTimeout(() => {
      this.spareTimer = null;
      if (!this.spare && this.stream && !this.ended) this.spare = this.preparePeer();
    }, delayMs);
  }

  private takeSpare(): PreparedPeer | null {
    const spare = this.spare;
    this.spare = null;
    if (spare && spare.pc.signalingState === 'have-local-offer') return spare;
    spare?.pc.close();
    return null;
  }

  /**
   * Whether a new viewer goes to the server relay instead of P2P: by the
   * room's choice, or because this browser's encoder or uplink is already the
   * limit (each P2P viewer costs one more encode and one more upload).
   */
  private relayFirst(): boolean {
    // A browser that cannot publish to the relay (Firefox) serves everyone P2P/TURN.
    if (!relayPublishSupported()) return false;
    const topology = this.options.topology ?? 'auto';
    if (topology !== 'auto') return topology === 'relay';
    const p2p = this.links.size;
    if (p2p >= (this.options.maxP2P ?? DEFAULT_MAX_P2P)) return true;
    if (p2p === 0) return false;
    // CPU-bound for 5 s in a row, or the uplink too thin for the preset for
    // 10 s in a row (not the first seconds, while bandwidth estimation ramps
    // up): another P2P viewer would make everyone's picture worse.
    return this.cpu.limitedFor >= 5 || this.starvedSamples >= 10;
  }

  /** Serve one viewer through the server relay: start publishing if we are not already. */
  private serveByRelay(viewerId: string): void {
    if (!this.room || !this.stream || this.ended) return;
    if (!relayPublishSupported()) {
      // Keep the viewer's peer connection (a path may still connect late) and
      // tell it, and the broadcaster, that the relay cannot carry this room.
      this.signaling.send({ type: 'relay_unavailable', viewer_id: viewerId });
      this.emitRelayUnsupported();
      return;
    }
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

  private emitRelayUnsupported(): void {
    this.emit('error', {
      code: 'relay_publish_unsupported',
      message: 'this browser cannot publish to the server relay (no MediaStreamTrackProcessor): viewers are served peer-to-peer or through TURN',
    });
  }

  /** The codec a viewer gets now (null link: a viewer that decodes everything, for the spare's offer). */
  private codecFor(link: ViewerLink | null): VideoCodec | null {
    return chooseCodec(this.sendable, link?.receivable, this.codecCeiling?.codec ?? null);
  }

  /**
   * Put a codec first in the offer. The viewer's answer keeps the offer's
   * order among what it decodes, so the sender encodes that codec; the rest
   * stay listed as a fallback should the viewer have misreported.
   */
  private preferCodecs(transceiver: RTCRtpTransceiver, codec: VideoCodec | null): VideoCodec | null {
    const capabilities = RTCRtpSender.getCapabilities?.('video');
    if (!capabilities || !transceiver.setCodecPreferences) return codec;
    try {
      transceiver.setCodecPreferences(preferenceOrder(capabilities.codecs, codec));
    } catch (err) {
      console.warn('codec preferences not applied', err);
    }
    return codec;
  }

  /** Renegotiate a viewer whose codec is no longer the one the rules choose (same connection, new offer). */
  private applyCodec(link: ViewerLink): void {
    const wanted = this.codecFor(link);
    const transceiver = this.transceiver(link.pc, 'video');
    if (wanted === link.codec || !transceiver || link.pc.signalingState === 'closed') return;
    link.codec = this.preferCodecs(transceiver, wanted);
    this.enqueue(link, async () => {
      await link.pc.setLocalDescription(await link.pc.createOffer());
      this.signaling.send({ type: 'offer', target_id: link.id, sdp: { type: 'offer', sdp: sanitizeSdp(link.pc.localDescription!.sdp) } });
    });
  }

  /**
   * The encoder has been CPU-bound for a while (CpuStepDown): the best
   * codec in use steps down one (new viewers get the cheaper codec at once,
   * then every existing viewer above it renegotiates).
   */
  private stepDownForCpu(): void {
    const inUse = [...this.links.values()].map((l) => l.codec).filter((c): c is VideoCodec => c !== null);
    if (!inUse.length) return;
    const top = VIDEO_CODEC_ORDER.find((c) => inUse.includes(c))!;
    const next = codecBelow(top, this.sendable);
    if (!next) return;
    this.cpuCeiling = next;
    console.info(`encoder CPU-bound: codec steps down from ${top} to ${next}`);
    for (const link of this.links.values()) this.applyCodec(link);
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
      await link.pc.setRemoteDescription({ type: 'answer', sdp: sanitizeSdp(m.sdp.sdp) });
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
      this.signaling.send({ type: 'offer', target_id: link.id, sdp: { type: 'offer', sdp: sanitizeSdp(link.pc.localDescription!.sdp) } });
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

  private transceiver(pc: RTCPeerConnection, kind: 'audio' | 'video'): RTCRtpTransceiver | undefined {
    return pc.getTransceivers().find((t) => t.receiver.track.kind === kind);
  }

  private sender(pc: RTCPeerConnection, kind: 'audio' | 'video'): RTCRtpSender | undefined {
    return this.transceiver(pc, kind)?.sender;
  }

  private async applyBitrate(link: ViewerLink): Promise<void> {
    const sender = this.sender(link.pc, 'video');
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
      ...(link.codec ? { plannedCodec: link.codec } : {}),
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
    if (this.cpu.observe(samples.some((s) => s.qualityLimitation === 'cpu'))) this.stepDownForCpu();
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
      ...(this.codecCeiling ? { codecCeiling: this.codecCeiling } : {}),
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
    if (this.spareTimer) clearTimeout(this.spareTimer);
    this.spare?.pc.close();
    this.spare = null;
    this.publisher?.stop();
    this.publisher = null;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.room = null;
    this.emit('ended', { reason });
  }
}
