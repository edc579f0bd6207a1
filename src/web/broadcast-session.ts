// The broadcaster's side, without any DOM: capture the camera, own the room,
// and keep one RTCPeerConnection per viewer. The offer goes out the moment a
// viewer joins. Camera and quality changes act on the live senders
// (replaceTrack / applyConstraints / setParameters), so no viewer renegotiates.
import type { ServerMessageOf, StatsSummary } from '../protocol/messages.js';
import type { Rung } from './connection-ladder.js';
import { Emitter } from './emitter.js';
import { audioConstraints, orderCodecs, PRESETS, videoConstraints, type Quality } from './media.js';
import { StatsSampler, type PathInfo, type Sample } from './peer-stats.js';
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
}

export interface BroadcastOptions {
  quality: Quality;
  cameraId?: string;
  microphoneId?: string;
  /** Take back a room after a reload or a dropped connection. */
  resume?: RoomCredentials;
  statsIntervalMs?: number;
}

export class BroadcastSession extends Emitter<BroadcastEvents> {
  stream: MediaStream | null = null;
  quality: Quality;
  room: RoomCredentials | null = null;
  private readonly links = new Map<string, ViewerLink>();
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
      viewer_left: (m: ServerMessageOf<'viewer_left'>) => this.removeViewer(m.viewer_id),
      answer: (m: ServerMessageOf<'answer'>) => this.onAnswer(m),
      ice_candidate: (m: ServerMessageOf<'ice_candidate'>) => this.onCandidate(m),
      ice_restart: (m: ServerMessageOf<'ice_restart'>) => this.onIceRestart(m),
      relay_requested: (m: ServerMessageOf<'relay_requested'>) => this.onRelayRequested(m),
      stats_summary: (m: ServerMessageOf<'stats_summary'>) => this.emit('summary', m),
      room_closed: (m: ServerMessageOf<'room_closed'>) => this.finish(m.reason),
      connected: ({ reconnect }: { reconnect: boolean }) => {
        if (!reconnect || !this.room) return;
        // Our client id changed: the server will announce every viewer again.
        this.closeAllLinks();
        this.signaling.send({ type: 'create_room', room_id: this.room.roomId, room_token: this.room.token });
        this.emit('connection', 'online');
      },
      disconnected: () => this.emit('connection', 'reconnecting'),
    };
    (Object.keys(handlers) as (keyof typeof handlers)[]).forEach(on);

    if (!this.signaling.connected) await this.signaling.connect();
    const created = await this.request(
      this.options.resume
        ? { type: 'create_room', room_id: this.options.resume.roomId, room_token: this.options.resume.token }
        : { type: 'create_room' },
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
    await Promise.all([...this.links.values()].map((l) => this.applyBitrate(l)));
    if (this.stream) this.emit('preview', this.stream);
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

  private request(message: Parameters<SignalingClient['send']>[0]): Promise<ServerMessageOf<'room_created'>> {
    return new Promise((resolve, reject) => {
      const done = () => {
        offOk();
        offErr();
      };
      const offOk = this.signaling.on('room_created', (m) => {
        done();
        resolve(m);
      });
      const offErr = this.signaling.on('error', (m) => {
        if (m.request_type !== 'create_room') return;
        done();
        reject(Object.assign(new Error(m.message), { code: m.code }));
      });
      this.signaling.send(message);
    });
  }

  private addViewer(viewerId: string): void {
    const stream = this.stream;
    if (!stream || this.ended) return;
    this.removeViewer(viewerId, false);
    const pc = new RTCPeerConnection({ iceServers: this.signaling.iceServers, bundlePolicy: 'max-bundle' });
    const link: ViewerLink = { id: viewerId, pc, sampler: new StatsSampler(pc, 'outbound'), last: null, chain: Promise.resolve(), pendingCandidates: [], rung: 'direct' };
    this.links.set(viewerId, link);

    // Always one audio and one video sender, even with no microphone, so a
    // device switch later is a replaceTrack and never a renegotiation.
    const audio = stream.getAudioTracks()[0];
    pc.addTransceiver(audio ?? 'audio', { direction: 'sendonly', streams: [stream] });
    const video = pc.addTransceiver(stream.getVideoTracks()[0] ?? 'video', {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: [{ maxBitrate: PRESETS[this.quality].maxBitrate }],
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

  /** Neither a direct nor a TURN path reached this viewer; the relay module serves it. */
  private onRelayRequested(m: ServerMessageOf<'relay_requested'>): void {
    const link = this.links.get(m.viewer_id);
    if (!link) return;
    link.rung = 'relay';
    this.emitViewers();
  }

  private onCandidate(m: ServerMessageOf<'ice_candidate'>): void {
    const link = this.links.get(m.from_id);
    if (!link) return;
    const candidate = m.candidate as RTCIceCandidateInit;
    if (!link.pc.remoteDescription) link.pendingCandidates.push(candidate);
    else this.enqueue(link, () => link.pc.addIceCandidate(candidate));
  }

  private enqueue(link: ViewerLink, step: () => Promise<void>): void {
    link.chain = link.chain.then(step).catch((err: unknown) => {
      if (link.pc.signalingState !== 'closed') console.warn(`viewer ${link.id}:`, err);
    });
  }

  private sender(link: ViewerLink, kind: 'audio' | 'video'): RTCRtpSender | undefined {
    return link.pc.getTransceivers().find((t) => t.receiver.track.kind === kind)?.sender;
  }

  private async applyBitrate(link: ViewerLink): Promise<void> {
    const sender = this.sender(link, 'video');
    if (!sender) return;
    const params = sender.getParameters();
    if (!params.encodings?.length) return;
    for (const e of params.encodings) e.maxBitrate = PRESETS[this.quality].maxBitrate;
    await sender.setParameters(params);
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
    };
  }

  private emitViewers(): void {
    this.emit('viewers', [...this.links.values()].map((l) => this.viewerInfo(l)));
  }

  private async sampleStats(): Promise<void> {
    const links = [...this.links.values()].filter((l) => l.pc.connectionState !== 'closed');
    await Promise.all(
      links.map(async (l) => {
        l.last = await l.sampler.sample().catch(() => l.last);
      }),
    );
    const samples = links.map((l) => l.last).filter((s): s is Sample => s !== null);
    const settings = this.videoTrack?.getSettings();
    const lead = samples.find((s) => s.fps !== undefined);
    const available = samples.map((s) => s.availableBitrate).filter((v): v is number => v !== undefined);
    const rtts = samples.map((s) => s.rtt).filter((v): v is number => v !== undefined);
    const losses = samples.map((s) => s.loss).filter((v): v is number => v !== undefined);
    const stats: BroadcastStats = {
      upload: samples.reduce((sum, s) => sum + s.bitrate, 0),
      bitrate: Math.round(median(samples.map((s) => s.bitrate)) ?? 0),
      ...(available.length ? { availableBitrate: Math.min(...available) } : {}),
      fps: lead?.fps ?? settings?.frameRate,
      width: lead?.width ?? settings?.width,
      height: lead?.height ?? settings?.height,
      ...(lead?.codec ? { codec: lead.codec } : {}),
      ...(lead?.qualityLimitation ? { qualityLimitation: lead.qualityLimitation } : {}),
      viewers: links.map((l) => this.viewerInfo(l)),
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
    this.stream?.getTracks().forEach((t) => t.stop());
    this.room = null;
    this.emit('ended', { reason });
  }
}
