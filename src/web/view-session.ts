// The viewer's side, without any DOM: join a room, answer the broadcaster's
// offer, surface the stream, and sample what is received every second.
import type { ServerMessageOf, StatsSummary, VideoCodec } from '../protocol/messages.js';
import { negotiateCaptureTime } from './capture-time.js';
import { offeredCodecs, preferenceOrder, receivableCodecs } from './codecs.js';
import { ConnectionLadder, hasTurnServer, type ClimbReason, type Rung, type RungRecord } from './connection-ladder.js';
import { Emitter } from './emitter.js';
import { RELAY_PATH, StatsSampler, type Sample } from './peer-stats.js';
import { decodableCodecs } from './relay-codecs.js';
import { RelayPlayer, relaySupported } from './relay-player.js';
import { sanitizeSdp, videoRejected } from './sdp.js';
import { candidateInit, type SignalingClient } from './signaling.js';

export type QualityLevel = Omit<ServerMessageOf<'quality_level'>, 'type' | 'from_id'>;

export type ViewState =
  | 'joining'
  | 'connecting' // an offer arrived, ICE is working
  | 'playing'
  | 'waiting' // the broadcaster dropped; the room waits for it
  | 'relay' // neither a direct nor a TURN path connected: request_relay was sent
  | 'closed';

/**
 * After a reconnect the room may not be back yet (the server restarted and the
 * broadcaster has not reclaimed it): room_not_found then means "try again", at
 * this interval, for up to REJOIN_PATIENCE_MS, before the viewer is told.
 */
const REJOIN_RETRY_MS = 500;
const REJOIN_PATIENCE_MS = 30_000;

export interface ViewEvents {
  joined: { roomId: string; broadcasterId: string };
  state: ViewState;
  /** The peer connection's stream. */
  stream: MediaStream;
  /** The server relay's picture, drawn by its player: it takes the video element's place. */
  picture: HTMLCanvasElement;
  stats: Sample;
  /** The connection ladder moved: a rung connected, or the viewer climbed to the next one. */
  ladder: LadderStatus;
  /** Direct and TURN paths failed and request_relay was sent: the hook for server-relayed media. */
  relayNeeded: { roomId: string; history: RungRecord[] };
  summary: StatsSummary;
  /** The broadcaster's adaptive bitrate moved this viewer's link to another level. */
  quality: QualityLevel;
  /** The signalling connection dropped or came back (media keeps flowing meanwhile). */
  connection: 'online' | 'reconnecting';
  closed: { reason: string };
  error: { code: string; message: string };
}

export interface LadderStatus {
  rung: Rung;
  connected: boolean;
  /** Why the viewer climbed, for the latest climb. */
  reason?: ClimbReason;
  history: RungRecord[];
}

/** Fallback when the server sends no timeouts (an older server). */
const DEFAULT_ICE_TIMEOUTS = { direct_ms: 5_000, turn_ms: 8_000 };

/** The session id of an SDP's o= line: the same for every offer of one RTCPeerConnection. */
export function sdpSessionId(sdp: string): string | null {
  return /^o=\S+ (\d+) /m.exec(sdp)?.[1] ?? null;
}

/**
 * RTCRtpReceiver.jitterBufferTarget of every received track, ms: 0 asks for
 * no hold beyond what the measured jitter needs (measured in docs/BENCHMARKS.md).
 */
export const JITTER_BUFFER_TARGET_MS = 0;

/** How long a connection that worked may stay 'disconnected' before the viewer asks for an ICE restart. */
const BLIP_RESTART_MS = 2_000;

export interface ViewOptions {
  statsIntervalMs?: number;
  /** Skip P2P and TURN: watch through the server relay from the start (`?via=relay`). */
  forceRelay?: boolean;
  /**
   * Start on the TURN rung (`?via=turn`): the connection gathers relay candidates
   * only, so the broadcaster never learns this viewer's address.
   */
  forceTurn?: boolean;
  /**
   * Decode only these video codecs over RTP (`?codecs=vp8,h264`): stands in for
   * a browser that lacks the others, so the broadcaster's choice can be tried.
   */
  codecs?: VideoCodec[] | null;
  /** RTCRtpReceiver.jitterBufferTarget for the received tracks, ms (`?jb=`; `?jb=none` leaves the browser's). */
  jitterBufferTargetMs?: number | null;
}

export class ViewSession extends Emitter<ViewEvents> {
  state: ViewState = 'joining';
  roomId: string | null = null;
  private pc: RTCPeerConnection | null = null;
  /** The connection was made at room_joined and has seen no offer yet: the first offer starts its ladder. */
  private prepared = false;
  private relay: RelayPlayer | null = null;
  /** Set from the moment the relay is asked for: offers are then ignored. */
  private onRelay = false;
  private remoteSession: string | null = null;
  private broadcasterId: string | null = null;
  private sampler: StatsSampler | null = null;
  private lastRelaySample: Sample | null = null;
  private ladder: ConnectionLadder | null = null;
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private chain: Promise<void> = Promise.resolve();
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private readonly unsubscribe: (() => void)[] = [];
  private password: string | undefined;
  private rejoinDeadline = 0;
  private rejoinTimer: ReturnType<typeof setTimeout> | null = null;
  /** The relay's sound follows the page's mute button (the P2P sound plays in the page's video element). */
  private muted = true;

  constructor(
    private readonly signaling: SignalingClient,
    private readonly options: ViewOptions = {},
  ) {
    super();
  }

  /**
   * Enter a room; rejects with the server's error (room_not_found, invalid_room_id,
   * room_full, password_required, wrong_password…). After password_required,
   * call join again with the password.
   */
  async join(roomId: string, password?: string): Promise<void> {
    this.unsubscribe.splice(0).forEach((off) => off());
    this.listen();
    this.password = password;
    let joined: ServerMessageOf<'room_joined'>;
    try {
      joined = await this.requestJoin(roomId, password);
    } catch (err) {
      // A session that did not get in must not answer offers meant for the next one.
      this.unsubscribe.splice(0).forEach((off) => off());
      throw err;
    }
    this.roomId = joined.room_id;
    this.broadcasterId = joined.broadcaster_id;
    this.statsTimer = setInterval(() => void this.sampleStats(), this.options.statsIntervalMs ?? 1000);
    this.emit('joined', { roomId: joined.room_id, broadcasterId: joined.broadcaster_id });
    if (this.options.forceRelay) void this.useRelay();
    // The broadcaster's offer is on its way: have the connection ready for
    // it, rather than make it when it lands.
    else this.prepareConnection(joined.broadcaster_id);
  }

  private async requestJoin(roomId: string, password: string | undefined): Promise<ServerMessageOf<'room_joined'>> {
    if (!this.signaling.connected) await this.signaling.connect();
    return this.signaling.request(this.joinMessage(roomId, password), 'room_joined');
  }

  /** join_room, telling the broadcaster which codecs this browser decodes. */
  private joinMessage(roomId: string, password: string | undefined) {
    const codecs = receivableCodecs(this.options.codecs);
    return {
      type: 'join_room' as const,
      room_id: roomId,
      ...(password !== undefined ? { password } : {}),
      ...(codecs.length ? { codecs } : {}),
    };
  }

  /**
   * Watch through the server relay: the last rung of the ladder, the
   * broadcaster's choice (use_relay), or the user's (?via=relay). The current
   * picture stays until the relay's first frame replaces it.
   */
  async useRelay(): Promise<void> {
    if (this.onRelay || !this.roomId) return;
    if (!relaySupported()) {
      this.emit('error', { code: 'relay_unsupported', message: 'this browser cannot play the server relay (no WebCodecs)' });
      return;
    }
    this.onRelay = true;
    this.signaling.send({ type: 'request_relay', room_id: this.roomId, codecs: await decodableCodecs() });
  }

  private startRelay(ticket: string): void {
    this.relay?.stop();
    const player = new RelayPlayer(this.signaling.endpoint('/relay', { role: 'view', ticket }), { muted: this.muted });
    this.relay = player;
    player.on('picture', (canvas) => {
      // The relay has a picture: now the peer connection can go.
      this.pc?.close();
      this.pc = null;
      this.sampler = null;
      this.emit('picture', canvas);
      this.setState('playing');
    });
    player.on('stats', (s) => {
      this.lastRelaySample = {
        at: performance.now(),
        bitrate: s.bitrate,
        videoBitrate: s.bitrate,
        fps: s.fps,
        width: s.width,
        height: s.height,
        codec: s.codec,
        latency: s.latency,
        path: RELAY_PATH,
      };
    });
    player.on('closed', () => {
      if (this.relay !== player || this.state === 'closed') return;
      // The server dropped us (restart, fell too far behind): ask again.
      this.relay = null;
      this.onRelay = false;
      setTimeout(() => void this.useRelay(), 1_000);
    });
    player.start();
  }

  /** Mute or unmute the relay's sound; call from the click, which is the gesture audio needs. */
  setMuted(muted: boolean): void {
    this.muted = muted;
    this.relay?.setMuted(muted);
  }

  leave(): void {
    if (this.roomId && this.state !== 'closed') this.signaling.send({ type: 'leave_room' });
    this.finish();
  }

  private listen(): void {
    const subs = [
      this.signaling.on('offer', (m) => this.onOffer(m)),
      this.signaling.on('ice_candidate', (m) => this.onCandidate(m)),
      this.signaling.on('stats_summary', (m) => this.emit('summary', m)),
      this.signaling.on('quality_level', ({ type: _type, from_id, ...level }) => {
        if (from_id === this.broadcasterId && !this.relay) this.emit('quality', level);
      }),
      this.signaling.on('broadcaster_left', () => {
        // Its connection is going away: that says nothing about the network.
        this.ladder?.stop();
        this.setState('waiting');
      }),
      this.signaling.on('use_relay', () => void this.useRelay()),
      // The broadcaster's browser cannot publish to the relay (Firefox): stop
      // waiting for it; the peer connection, if any, stays and may still connect.
      this.signaling.on('relay_unavailable', () => {
        this.relay?.stop();
        this.relay = null;
        this.onRelay = false;
        this.emit('error', { code: 'relay_unavailable', message: "the broadcaster's browser cannot send through the server relay" });
        // Straight to the relay (?via=relay), this viewer ignored the broadcaster's
        // offer: ask for a fresh one (an ICE restart makes the broadcaster offer again).
        if (!this.pc && this.broadcasterId) {
          this.signaling.send({ type: 'ice_restart', target_id: this.broadcasterId, ice_transport_policy: 'all' });
        }
      }),
      this.signaling.on('relay_ready', (m) => {
        if (this.onRelay && m.ticket) this.startRelay(m.ticket);
      }),
      // A rejoin after a reconnect: the broadcaster may have a new id too (both reconnected).
      this.signaling.on('room_joined', (m) => {
        if (m.room_id === this.roomId) this.broadcasterId = m.broadcaster_id;
      }),
      this.signaling.on('broadcaster_returned', (m) => {
        this.broadcasterId = m.broadcaster_id;
        this.setState('connecting');
      }),
      this.signaling.on('room_closed', (m) => {
        this.emit('closed', { reason: m.reason });
        this.finish();
      }),
      // The broadcaster removed us: out for good, no rejoin.
      this.signaling.on('removed', () => {
        this.emit('closed', { reason: 'removed' });
        this.finish();
      }),
      this.signaling.on('disconnected', () => this.emit('connection', 'reconnecting')),
      this.signaling.on('connected', ({ reconnect }) => {
        if (!reconnect || !this.roomId) return;
        // A new client id: join again; the broadcaster answers with a fresh offer.
        this.rejoinDeadline = Date.now() + REJOIN_PATIENCE_MS;
        this.rejoin();
        if (this.onRelay) {
          // On the relay, a new client id needs a new ticket.
          this.onRelay = false;
          void this.useRelay();
        }
        this.emit('connection', 'online');
      }),
      this.signaling.on('error', (m) => {
        if (m.request_type !== 'join_room' || !this.roomId || this.state === 'closed') return;
        if (m.code === 'room_not_found' && Date.now() < this.rejoinDeadline) {
          this.rejoinTimer = setTimeout(() => this.rejoin(), REJOIN_RETRY_MS);
          return;
        }
        this.emit('error', { code: m.code, message: m.message });
        this.emit('closed', { reason: m.code });
        this.finish();
      }),
    ];
    this.unsubscribe.push(...subs);
  }

  private rejoin(): void {
    this.rejoinTimer = null;
    if (!this.roomId || this.state === 'closed') return;
    this.signaling.send(this.joinMessage(this.roomId, this.password));
  }

  private onOffer(m: ServerMessageOf<'offer'>): void {
    if (this.onRelay || (this.broadcasterId && m.from_id !== this.broadcasterId)) return;
    const session = sdpSessionId(m.sdp.sdp);
    // An offer from a new RTCPeerConnection (the broadcaster reloaded or
    // reconnected) replaces ours; one from the same connection renegotiates it.
    if (this.pc && this.prepared) this.startLadder();
    else if (!this.pc || session !== this.remoteSession) this.newConnection(m.from_id);
    this.remoteSession = session;
    const pc = this.pc!;
    this.enqueue(async () => {
      // sanitizeSdp: an offer from Firefox can carry lines Chromium refuses (src/web/sdp.ts).
      await pc.setRemoteDescription({ type: 'offer', sdp: sanitizeSdp(m.sdp.sdp) });
      for (const c of this.pendingCandidates.splice(0)) await pc.addIceCandidate(c);
      this.restrictCodecs(pc, m.sdp.sdp);
      for (const t of pc.getTransceivers()) if (t.receiver.track.kind === 'video') negotiateCaptureTime(t);
      await pc.setLocalDescription(await pc.createAnswer());
      const answer = pc.localDescription!.sdp;
      // Firefox turns video down without a word when it decodes none of the
      // offered codecs (H.264 alone: no OpenH264 plugin): say so, not a black picture.
      if (videoRejected(answer)) this.emit('error', { code: 'no_common_codec', message: 'this browser cannot decode any video codec the broadcaster offered' });
      this.signaling.send({ type: 'answer', target_id: m.from_id, sdp: { type: 'answer', sdp: sanitizeSdp(answer) } });
    });
  }

  /**
   * With `codecs` set, the answer accepts only those, led by the first of them
   * the broadcaster offered (the broadcaster chose it; the answer must not overrule).
   */
  private restrictCodecs(pc: RTCPeerConnection, offer: string): void {
    const only = this.options.codecs;
    const capabilities = RTCRtpReceiver.getCapabilities?.('video');
    if (!only || !capabilities) return;
    const first = offeredCodecs(offer).find((c) => only.includes(c)) ?? null;
    for (const t of pc.getTransceivers()) {
      if (t.receiver.track.kind !== 'video' || !t.setCodecPreferences) continue;
      t.setCodecPreferences(preferenceOrder(capabilities.codecs, first, only));
    }
  }

  private newConnection(broadcasterId: string): void {
    this.prepareConnection(broadcasterId);
    this.startLadder();
  }

  private prepareConnection(broadcasterId: string): void {
    this.pc?.close();
    this.pendingCandidates = [];
    this.ladder?.stop();
    // No iceCandidatePoolSize: with a pooled set, an answer made within ~40 ms of
    // the connection (the broadcaster's spare offer lands that fast) sometimes
    // never surfaced a candidate in Chromium 150, and the join waited 5 s for the
    // ladder (4 of 594 joins; none of 200 without the pool, which was no slower:
    // docs/BENCHMARKS.md).
    const pc = new RTCPeerConnection({
      iceServers: this.signaling.iceServers,
      bundlePolicy: 'max-bundle',
      ...(this.options.forceTurn ? { iceTransportPolicy: 'relay' as const } : {}),
    });
    this.pc = pc;
    this.prepared = true;
    const ladder = new ConnectionLadder(
      this.signaling.iceTimeouts ?? DEFAULT_ICE_TIMEOUTS,
      hasTurnServer(this.signaling.iceServers),
    );
    this.ladder = ladder;
    ladder.on('connected', ({ rung, history }) => this.emit('ladder', { rung, connected: true, history }));
    ladder.on('climb', ({ to, reason, history }) => {
      this.emit('ladder', { rung: to, connected: false, reason, history });
      if (to === 'turn') this.restartOverTurn(pc, broadcasterId);
      else this.requestRelay(history);
    });
    this.sampler = new StatsSampler(pc, 'inbound');
    pc.ontrack = (event) => {
      const target = this.options.jitterBufferTargetMs === undefined ? JITTER_BUFFER_TARGET_MS : this.options.jitterBufferTargetMs;
      if (target !== null) event.receiver.jitterBufferTarget = target;
      const stream = event.streams[0] ?? new MediaStream([event.track]);
      this.emit('stream', stream);
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.signaling.send({ type: 'ice_candidate', target_id: broadcasterId, candidate: candidateInit(candidate) });
    };
    let blip: ReturnType<typeof setTimeout> | null = null;
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      if (blip) clearTimeout(blip);
      blip = null;
      if (pc.connectionState === 'connected') {
        ladder.onConnected();
        this.setState('playing');
      } else if (pc.connectionState === 'failed') {
        ladder.onFailed();
      } else if (pc.connectionState === 'disconnected' && this.state === 'playing') {
        // A network blip on a path that worked: if ICE has not found its way
        // back by itself within BLIP_RESTART_MS, ask for an ICE restart on the
        // same connection (same policy) before anything more drastic.
        blip = setTimeout(() => {
          if (this.pc !== pc || pc.connectionState !== 'disconnected' || !this.broadcasterId) return;
          const policy = pc.getConfiguration().iceTransportPolicy ?? 'all';
          this.signaling.send({ type: 'ice_restart', target_id: this.broadcasterId, ice_transport_policy: policy });
        }, BLIP_RESTART_MS);
      }
    };
  }

  /** The first offer arrived: the ladder's timers start now, not at room_joined (the broadcaster may be away). */
  private startLadder(): void {
    const ladder = this.ladder!;
    this.prepared = false;
    this.setState('connecting');
    ladder.start(this.options.forceTurn ? 'turn' : 'direct');
    // Without a TURN server, ?via=turn has already climbed to the relay (and said so).
    if (ladder.rung !== 'relay') this.emit('ladder', { rung: ladder.rung, connected: false, history: ladder.history });
  }

  /**
   * Second rung: gather relay candidates only, and ask the broadcaster (the
   * offerer) for an ICE restart with the same policy; its new offer renegotiates
   * this same connection.
   */
  private restartOverTurn(pc: RTCPeerConnection, broadcasterId: string): void {
    pc.setConfiguration({ ...pc.getConfiguration(), iceTransportPolicy: 'relay' });
    this.setState('connecting');
    this.signaling.send({ type: 'ice_restart', target_id: broadcasterId, ice_transport_policy: 'relay' });
  }

  /**
   * Last rung: the server relay. The peer connection stays open until the
   * relay shows its first frame, so a path that connects late still plays.
   */
  private requestRelay(history: RungRecord[]): void {
    if (!this.roomId) return;
    void this.useRelay();
    this.setState('relay');
    this.emit('relayNeeded', { roomId: this.roomId, history });
  }

  private onCandidate(m: ServerMessageOf<'ice_candidate'>): void {
    const pc = this.pc;
    if (!pc || m.from_id !== this.broadcasterId) return;
    const candidate = m.candidate as RTCIceCandidateInit;
    if (!pc.remoteDescription) this.pendingCandidates.push(candidate);
    else this.enqueue(() => pc.addIceCandidate(candidate));
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((err: unknown) => {
      if (this.pc?.signalingState !== 'closed') console.warn('viewer connection:', err);
    });
  }

  private async sampleStats(): Promise<void> {
    const sample = this.relay ? this.lastRelaySample : await this.sampler?.sample().catch(() => null);
    if (!sample) return;
    this.emit('stats', sample);
    // Undefined fields vanish in JSON, so the report carries only what was measured.
    this.signaling.send({
      type: 'stats_report',
      bitrate: sample.bitrate,
      available_bitrate: sample.availableBitrate,
      fps: sample.fps,
      width: sample.width,
      height: sample.height,
      rtt: sample.rtt,
      loss: sample.loss,
      jitter: sample.jitter,
      freezes: sample.freezes,
      latency: sample.latency,
      codec: sample.codec,
      connection_type: sample.path?.type,
      relay_protocol: sample.path?.relayProtocol,
    });
  }

  private setState(state: ViewState): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.emit('state', state);
  }

  private finish(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    this.unsubscribe.splice(0).forEach((off) => off());
    this.ladder?.stop();
    this.pc?.close();
    this.pc = null;
    this.relay?.stop();
    this.relay = null;
    this.setState('closed');
  }
}
