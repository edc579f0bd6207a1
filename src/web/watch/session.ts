// The viewer's side, without any DOM: join a room, take the broadcaster's
// media by the route that works (peer-to-peer or TURN, else the server relay),
// and sample what is received every second. Where media comes from is one
// value, `route`; the state people see is derived from it and from the room.
import { ICE_TIMEOUT_DEFAULTS, type ErrorCode, type RoomClosedReason, type ServerMessageOf, type StatsSummary, type VideoCodec } from '../../protocol/messages.js';
import { Emitter } from '../emitter.js';
import { receivableCodecs } from '../rtc/codecs.js';
import { SERVER_RELAY_PATH, type Sample } from '../rtc/stats-sampler.js';
import { decodableCodecs } from '../relay/codecs.js';
import { RelayPlayer, relaySupported } from '../relay/player.js';
import type { SignallingClient } from '../signalling/client.js';
import type { RungRecord } from './connection-ladder.js';
import { PeerRoute, type LadderStatus } from './peer-route.js';
import { SfuRoute } from './sfu-route.js';

export type { LadderStatus } from './peer-route.js';
export type QualityLevel = Omit<ServerMessageOf<'quality_level'>, 'type' | 'from_id'>;

export type ViewState =
  | 'joining'
  | 'connecting' // an offer arrived, ICE is working
  | 'playing'
  | 'waiting' // the broadcaster dropped; the room waits for it
  | 'relay' // neither a direct nor a TURN path connected: request_relay was sent
  | 'closed';

/** Why watching ended: the room closed, the broadcaster removed us, or the room could not be joined again. */
export type ViewEndReason = RoomClosedReason | 'removed' | ErrorCode;

/** What the session itself reports, beside the server's error codes. */
export type ViewErrorCode = 'relay_unsupported' | 'relay_unavailable' | 'no_common_codec';

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
  /** Direct and TURN paths failed and request_relay was sent. */
  relayNeeded: { roomId: string; history: RungRecord[] };
  summary: StatsSummary;
  /** The broadcaster's adaptive bitrate moved this viewer's link to another level. */
  quality: QualityLevel;
  /** The signalling connection dropped or came back (media keeps flowing meanwhile). */
  connection: 'online' | 'reconnecting';
  closed: { reason: ViewEndReason };
  error: { code: ViewErrorCode | ErrorCode; message: string };
}

/**
 * After a reconnect the room may not be back yet (the server restarted and the
 * broadcaster has not reclaimed it): room_not_found then means "try again", at
 * this interval, for up to REJOIN_PATIENCE_MS, before the viewer is told.
 */
const REJOIN_RETRY_MS = 500;
const REJOIN_PATIENCE_MS = 30_000;

/**
 * RTCRtpReceiver.jitterBufferTarget of every received track, ms: 0 asks for
 * no hold beyond what the measured jitter needs (measured in docs/BENCHMARKS.md).
 */
export const JITTER_BUFFER_TARGET_MS = 0;

export interface ViewOptions {
  statsIntervalMs?: number;
  /** Skip P2P and TURN: watch through the server relay from the start (`?via=relay`). */
  forceRelay?: boolean;
  /** Start on the TURN rung (`?via=turn`): the broadcaster never learns this viewer's address. */
  forceTurn?: boolean;
  /** Decode only these video codecs over RTP (`?codecs=vp8,h264`), to try the broadcaster's choice. */
  codecs?: VideoCodec[] | null;
  /** RTCRtpReceiver.jitterBufferTarget for the received tracks, ms (`?jb=`; `?jb=none` leaves the browser's). */
  jitterBufferTargetMs?: number | null;
  /** The name beside this viewer's chat messages (the server picks one without it). */
  name?: string;
}

/**
 * Where media comes from. On the server relay the peer route is kept until the
 * relay's first picture, so a path that connects late still plays; while the
 * relay is asked for, offers are ignored.
 */
type Route =
  | { via: 'none' }
  | { via: 'peer'; peer: PeerRoute }
  | { via: 'sfu'; sfu: SfuRoute }
  | { via: 'server_relay'; peer: PeerRoute | null; player: RelayPlayer | null };

export class ViewSession extends Emitter<ViewEvents> {
  state: ViewState = 'joining';
  roomId: string | null = null;
  private route: Route = { via: 'none' };
  private broadcasterId: string | null = null;
  private lastRelaySample: Sample | null = null;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private unsubscribe: (() => void) | null = null;
  private password: string | undefined;
  private rejoinDeadline = 0;
  private rejoinTimer: ReturnType<typeof setTimeout> | null = null;
  private relayRetry: ReturnType<typeof setTimeout> | null = null;
  /** The relay's sound follows the page's mute button (the P2P sound plays in the page's video element). */
  private muted = true;

  constructor(
    private readonly signalling: SignallingClient,
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
    this.unsubscribe?.();
    this.unsubscribe = this.listen();
    this.password = password;
    let joined: ServerMessageOf<'room_joined'>;
    try {
      if (!this.signalling.connected) await this.signalling.connect();
      joined = await this.signalling.request(this.joinMessage(roomId, password), 'room_joined');
    } catch (err) {
      // A session that did not get in must not answer offers meant for the next one.
      this.unsubscribe();
      this.unsubscribe = null;
      throw err;
    }
    this.roomId = joined.room_id;
    this.broadcasterId = joined.broadcaster_id;
    this.statsTimer = setInterval(() => void this.sampleStats(), this.options.statsIntervalMs ?? 1000);
    this.emit('joined', { roomId: joined.room_id, broadcasterId: joined.broadcaster_id });
    if (this.options.forceRelay) void this.useServerRelay();
    // The broadcaster's offer is on its way: have the connection ready for it, rather than make it when it lands.
    else this.route = { via: 'peer', peer: this.newPeer(joined.broadcaster_id) };
  }

  /** Mute or unmute the relay's sound; call from the click, which is the gesture audio needs. */
  setMuted(muted: boolean): void {
    this.muted = muted;
    if (this.route.via === 'server_relay') this.route.player?.setMuted(muted);
  }

  leave(): void {
    if (this.roomId && this.state !== 'closed') this.signalling.send({ type: 'leave_room' });
    this.finish();
  }

  /** join_room, telling the broadcaster which codecs this browser decodes. */
  private joinMessage(roomId: string, password: string | undefined) {
    const codecs = receivableCodecs(this.options.codecs);
    const name = this.options.name;
    return {
      type: 'join_room' as const,
      room_id: roomId,
      ...(password !== undefined ? { password } : {}),
      ...(codecs.length ? { codecs } : {}),
      ...(name !== undefined ? { name } : {}),
    };
  }

  private listen(): () => void {
    return this.signalling.onEach({
      offer: (m) => this.onOffer(m.from_id, m.sdp.sdp),
      ice_candidate: (m) => this.peer?.candidate(m.from_id, m.candidate as RTCIceCandidateInit),
      stats_summary: (m) => this.emit('summary', m),
      quality_level: ({ type: _type, from_id, ...level }) => {
        // The relay sends one stream to all its viewers: no level of this viewer's own.
        const onRelay = this.route.via === 'server_relay' && this.route.player !== null;
        if (from_id === this.broadcasterId && !onRelay) this.emit('quality', level);
      },
      broadcaster_left: () => {
        this.peer?.pause();
        this.setState('waiting');
      },
      use_relay: () => void this.useServerRelay(),
      use_sfu: (m) => this.useSfu(m.ticket),
      relay_ready: (m) => {
        if (this.route.via === 'server_relay' && m.ticket) this.startPlayer(m.ticket);
      },
      relay_unavailable: () => this.relayUnavailable(),
      // A rejoin after a reconnect: the broadcaster may have a new id too (both reconnected).
      room_joined: (m) => {
        if (m.room_id === this.roomId) this.broadcasterId = m.broadcaster_id;
      },
      broadcaster_returned: (m) => {
        this.broadcasterId = m.broadcaster_id;
        this.setState('connecting');
      },
      room_closed: (m) => this.end(m.reason),
      // The broadcaster removed us: out for good, no rejoin.
      removed: () => this.end('removed'),
      disconnected: () => this.emit('connection', 'reconnecting'),
      connected: ({ reconnect }) => this.onReconnected(reconnect),
      error: (m) => this.onJoinError(m),
    });
  }

  private get peer(): PeerRoute | null {
    return this.route.via === 'peer' || this.route.via === 'server_relay' ? this.route.peer : null;
  }

  /**
   * Watch through the server's SFU (a WHIP-fed room, or the broadcaster's
   * choice): WHEP with the ticket. A peer route made for offers that will not
   * come goes; an SFU that cannot be reached, or whose codec this browser does
   * not decode, leaves the server relay, which needs neither.
   */
  private useSfu(ticket: string): void {
    if (!this.roomId) return;
    this.closeRoute();
    const sfu = new SfuRoute({
      endpoint: this.signalling.httpEndpoint(`/api/whep/${this.roomId}`),
      ticket,
      iceServers: this.signalling.iceServers,
      iceTimeouts: this.signalling.iceTimeouts ?? ICE_TIMEOUT_DEFAULTS,
      jitterBufferTargetMs: this.jitterBufferTarget(),
    });
    this.route = { via: 'sfu', sfu };
    sfu.onEach({
      stream: (stream) => this.emit('stream', stream),
      state: (state) => this.setState(state),
      noVideo: () => this.emit('error', { code: 'no_common_codec', message: 'this browser cannot decode the video codec the room is sent in' }),
      failed: ({ code, message }) => {
        if (this.route.via !== 'sfu' || this.route.sfu !== sfu) return;
        if (code === 'no_common_codec') this.emit('error', { code: 'no_common_codec', message });
        this.route = { via: 'none' };
        void this.useServerRelay();
        this.setState('relay');
      },
    });
    sfu.start();
  }

  private newPeer(broadcasterId: string): PeerRoute {
    const peer = new PeerRoute(broadcasterId, {
      iceServers: this.signalling.iceServers,
      iceTimeouts: this.signalling.iceTimeouts ?? ICE_TIMEOUT_DEFAULTS,
      send: (message) => this.signalling.send(message),
      forceTurn: this.options.forceTurn ?? false,
      codecs: this.options.codecs ?? null,
      jitterBufferTargetMs: this.jitterBufferTarget(),
    });
    peer.onEach({
      stream: (stream) => this.emit('stream', stream),
      state: (state) => this.setState(state),
      ladder: (status) => this.emit('ladder', status),
      relayNeeded: (history) => {
        if (!this.roomId) return;
        void this.useServerRelay();
        this.setState('relay');
        this.emit('relayNeeded', { roomId: this.roomId, history });
      },
      noCommonCodec: () => this.emit('error', { code: 'no_common_codec', message: 'this browser cannot decode any video codec the broadcaster offered' }),
    });
    return peer;
  }

  private jitterBufferTarget(): number | null {
    return this.options.jitterBufferTargetMs === undefined ? JITTER_BUFFER_TARGET_MS : this.options.jitterBufferTargetMs;
  }

  private onOffer(from: string, sdp: string): void {
    if (this.route.via === 'server_relay' || this.route.via === 'sfu' || (this.broadcasterId && from !== this.broadcasterId)) return;
    let peer = this.peer;
    // An offer from a new RTCPeerConnection (the broadcaster reloaded or
    // reconnected) replaces ours; one from the same connection renegotiates it.
    if (!peer || !peer.takes(sdp)) {
      peer?.close();
      peer = this.newPeer(from);
      this.route = { via: 'peer', peer };
    }
    peer.offer(from, sdp);
  }

  /**
   * Watch through the server relay: the last rung of the ladder, the
   * broadcaster's choice (use_relay), or the user's (?via=relay). The current
   * picture stays until the relay's first frame replaces it.
   */
  private async useServerRelay(): Promise<void> {
    if (this.route.via === 'server_relay' || !this.roomId) return;
    if (!relaySupported()) {
      this.emit('error', { code: 'relay_unsupported', message: 'this browser cannot play the server relay (no WebCodecs)' });
      return;
    }
    this.route = { via: 'server_relay', peer: this.peer, player: null };
    await this.requestTicket();
  }

  private async requestTicket(): Promise<void> {
    if (this.roomId) this.signalling.send({ type: 'request_relay', room_id: this.roomId, codecs: await decodableCodecs() });
  }

  private startPlayer(ticket: string): void {
    const route = this.route;
    if (route.via !== 'server_relay') return;
    route.player?.stop();
    const player = new RelayPlayer(this.signalling.endpoint('/relay', { role: 'view', ticket }), { muted: this.muted });
    route.player = player;
    player.on('picture', (canvas) => {
      // The relay has a picture: now the peer route can go.
      route.peer?.close();
      route.peer = null;
      this.emit('picture', canvas);
      this.setState('playing');
    });
    player.on('stats', (s) => {
      this.lastRelaySample = {
        at: performance.now(),
        bitrate: s.bitrate,
        videoBitrate: s.bitrate,
        // The relay has no congestion estimate: its network speed is what arrives.
        availableBitrate: s.bitrate,
        speedSource: 'relay',
        fps: s.fps,
        width: s.width,
        height: s.height,
        codec: s.codec,
        latency: s.latency,
        path: SERVER_RELAY_PATH,
      };
    });
    player.on('closed', () => {
      if (route.player !== player || this.state === 'closed') return;
      // The server dropped us (restart, fell too far behind): ask again.
      route.player = null;
      this.relayRetry = setTimeout(() => void this.requestTicket(), 1_000);
    });
    player.start();
  }

  /** The broadcaster's browser cannot publish to the relay (Firefox): back to the peer route, if there is one. */
  private relayUnavailable(): void {
    const route = this.route;
    if (route.via !== 'server_relay') return;
    route.player?.stop();
    this.route = route.peer ? { via: 'peer', peer: route.peer } : { via: 'none' };
    this.emit('error', { code: 'relay_unavailable', message: "the broadcaster's browser cannot send through the server relay" });
    // Straight to the relay (?via=relay), this viewer ignored the broadcaster's
    // offer: ask for a fresh one (an ICE restart makes the broadcaster offer again).
    if (!route.peer && this.broadcasterId) this.signalling.send({ type: 'ice_restart', target_id: this.broadcasterId, ice_transport_policy: 'all' });
  }

  private onReconnected(reconnect: boolean): void {
    if (!reconnect || !this.roomId) return;
    // A new client id: join again; the broadcaster answers with a fresh offer.
    this.rejoinDeadline = Date.now() + REJOIN_PATIENCE_MS;
    this.rejoin();
    // On the relay, a new client id needs a new ticket.
    if (this.route.via === 'server_relay') void this.requestTicket();
    this.emit('connection', 'online');
  }

  private rejoin(): void {
    this.rejoinTimer = null;
    if (!this.roomId || this.state === 'closed') return;
    this.signalling.send(this.joinMessage(this.roomId, this.password));
  }

  private onJoinError(m: ServerMessageOf<'error'>): void {
    if (m.request_type !== 'join_room' || !this.roomId || this.state === 'closed') return;
    if (m.code === 'room_not_found' && Date.now() < this.rejoinDeadline) {
      this.rejoinTimer = setTimeout(() => this.rejoin(), REJOIN_RETRY_MS);
      return;
    }
    this.emit('error', { code: m.code, message: m.message });
    this.end(m.code);
  }

  private async sampleStats(): Promise<void> {
    const route = this.route;
    const sample =
      route.via === 'server_relay' && route.player ? this.lastRelaySample : route.via === 'sfu' ? await route.sfu.sample() : await this.peer?.link.sample();
    if (!sample) return;
    this.emit('stats', sample);
    // Undefined fields vanish in JSON, so the report carries only what was measured.
    this.signalling.send({
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
      relay_protocol: sample.path?.turnProtocol,
    });
  }

  private setState(state: ViewState): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.emit('state', state);
  }

  private end(reason: ViewEndReason): void {
    this.emit('closed', { reason });
    this.finish();
  }

  private finish(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    if (this.relayRetry) clearTimeout(this.relayRetry);
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.closeRoute();
    this.setState('closed');
  }

  /** Whatever media comes in now stops. */
  private closeRoute(): void {
    const route = this.route;
    this.peer?.close();
    if (route.via === 'sfu') route.sfu.close();
    if (route.via === 'server_relay') route.player?.stop();
    this.route = { via: 'none' };
  }
}
