// The viewer's side, without any DOM: join a room, answer the broadcaster's
// offer, surface the stream, and sample what is received every second.
import type { ServerMessageOf, StatsSummary } from '../protocol/messages.js';
import { ConnectionLadder, hasTurnServer, type ClimbReason, type Rung, type RungRecord } from './connection-ladder.js';
import { Emitter } from './emitter.js';
import { StatsSampler, type Sample } from './peer-stats.js';
import { candidateInit, type SignalingClient } from './signaling.js';

export type ViewState =
  | 'joining'
  | 'connecting' // an offer arrived, ICE is working
  | 'playing'
  | 'waiting' // the broadcaster dropped; the room waits for it
  | 'relay' // neither a direct nor a TURN path connected: request_relay was sent
  | 'closed';

export interface ViewEvents {
  joined: { roomId: string; broadcasterId: string };
  state: ViewState;
  stream: MediaStream;
  stats: Sample;
  /** The connection ladder moved: a rung connected, or the viewer climbed to the next one. */
  ladder: LadderStatus;
  /** Direct and TURN paths failed and request_relay was sent: the hook for server-relayed media. */
  relayNeeded: { roomId: string; history: RungRecord[] };
  summary: StatsSummary;
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

export class ViewSession extends Emitter<ViewEvents> {
  state: ViewState = 'joining';
  roomId: string | null = null;
  private pc: RTCPeerConnection | null = null;
  private remoteSession: string | null = null;
  private broadcasterId: string | null = null;
  private sampler: StatsSampler | null = null;
  private ladder: ConnectionLadder | null = null;
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private chain: Promise<void> = Promise.resolve();
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly signaling: SignalingClient,
    private readonly statsIntervalMs = 1000,
  ) {
    super();
  }

  /** Enter a room; rejects with the server's error (room_not_found, invalid_room_id, room_full…). */
  async join(roomId: string): Promise<void> {
    this.listen();
    if (!this.signaling.connected) await this.signaling.connect();
    const joined = await new Promise<ServerMessageOf<'room_joined'>>((resolve, reject) => {
      const done = () => {
        offOk();
        offErr();
      };
      const offOk = this.signaling.on('room_joined', (m) => {
        done();
        resolve(m);
      });
      const offErr = this.signaling.on('error', (m) => {
        if (m.request_type !== 'join_room') return;
        done();
        reject(Object.assign(new Error(m.message), { code: m.code }));
      });
      this.signaling.send({ type: 'join_room', room_id: roomId });
    });
    this.roomId = joined.room_id;
    this.broadcasterId = joined.broadcaster_id;
    this.statsTimer = setInterval(() => void this.sampleStats(), this.statsIntervalMs);
    this.emit('joined', { roomId: joined.room_id, broadcasterId: joined.broadcaster_id });
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
      this.signaling.on('broadcaster_left', () => {
        // Its connection is going away: that says nothing about the network.
        this.ladder?.stop();
        this.setState('waiting');
      }),
      this.signaling.on('broadcaster_returned', (m) => {
        this.broadcasterId = m.broadcaster_id;
        this.setState('connecting');
      }),
      this.signaling.on('room_closed', (m) => {
        this.emit('closed', { reason: m.reason });
        this.finish();
      }),
      this.signaling.on('disconnected', () => this.emit('connection', 'reconnecting')),
      this.signaling.on('connected', ({ reconnect }) => {
        if (!reconnect || !this.roomId) return;
        // A new client id: join again; the broadcaster answers with a fresh offer.
        this.signaling.send({ type: 'join_room', room_id: this.roomId });
        this.emit('connection', 'online');
      }),
    ];
    this.unsubscribe.push(...subs);
  }

  private onOffer(m: ServerMessageOf<'offer'>): void {
    if (this.broadcasterId && m.from_id !== this.broadcasterId) return;
    const session = sdpSessionId(m.sdp.sdp);
    // An offer from a new RTCPeerConnection (the broadcaster reloaded or
    // reconnected) replaces ours; one from the same connection renegotiates it.
    if (!this.pc || session !== this.remoteSession) this.newConnection(m.from_id);
    this.remoteSession = session;
    const pc = this.pc!;
    this.enqueue(async () => {
      await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp.sdp });
      for (const c of this.pendingCandidates.splice(0)) await pc.addIceCandidate(c);
      await pc.setLocalDescription(await pc.createAnswer());
      this.signaling.send({ type: 'answer', target_id: m.from_id, sdp: { type: 'answer', sdp: pc.localDescription!.sdp } });
    });
  }

  private newConnection(broadcasterId: string): void {
    this.pc?.close();
    this.pendingCandidates = [];
    this.ladder?.stop();
    const pc = new RTCPeerConnection({ iceServers: this.signaling.iceServers, bundlePolicy: 'max-bundle' });
    this.pc = pc;
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
      const stream = event.streams[0] ?? new MediaStream([event.track]);
      this.emit('stream', stream);
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.signaling.send({ type: 'ice_candidate', target_id: broadcasterId, candidate: candidateInit(candidate) });
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      if (pc.connectionState === 'connected') {
        ladder.onConnected();
        this.setState('playing');
      } else if (pc.connectionState === 'failed') {
        ladder.onFailed();
      }
    };
    this.setState('connecting');
    ladder.start();
    this.emit('ladder', { rung: 'direct', connected: false, history: ladder.history });
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
   * Last rung: the server relay. The peer connection stays open, so a path
   * that connects late still plays; the relay's media is the relay module's.
   */
  private requestRelay(history: RungRecord[]): void {
    if (!this.roomId) return;
    this.signaling.send({ type: 'request_relay', room_id: this.roomId });
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
    if (!this.sampler) return;
    const sample = await this.sampler.sample().catch(() => null);
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
    this.unsubscribe.splice(0).forEach((off) => off());
    this.ladder?.stop();
    this.pc?.close();
    this.pc = null;
    this.setState('closed');
  }
}
