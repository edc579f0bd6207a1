// The WebSocket half of the contract: every frame is checked, limited, and
// dispatched to the room registry. A bad frame is answered with `error` and
// changes nothing else; the connection, its room and everyone else carry on.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { ClientMessage, ClientMessageOf, ErrorCode, ServerMessage } from '../protocol/messages.js';
import { parseClientMessage } from '../protocol/parse.js';
import type { Config } from './config.js';
import { clientIp } from './client-ip.js';
import type { IceServerProvider } from './ice.js';
import { IpLimits } from './ip-limits.js';
import type { ServerMetrics } from './metrics.js';
import { originAllowed } from './origin.js';
import { hashPassword, passwordMatches, type PasswordHash } from './password.js';
import { TokenBucket } from './ratelimit.js';
import type { Member, Room } from './room.js';
import type { RelayHub } from './relay.js';
import type { RoomRegistry } from './rooms.js';

/** Frames above this close the socket in `ws` itself; between the soft limit and this we answer too_large. */
const HARD_FRAME_LIMIT = 1 << 20;
/** At most one rate_limited answer per connection per this many ms, so a flood is not echoed back. */
const RATE_LIMIT_NOTICE_MS = 1_000;

/** Why an upgrade to /ws is refused: HTTP status and the contract's error code. */
export type Admission = { ok: true; ip: string } | { ok: false; status: number; code: ErrorCode; message: string };

class Connection implements Member {
  readonly id = randomBytes(9).toString('base64url');
  room: Room | null = null;
  alive = true;
  lastRateNotice = 0;
  /** A create or join waiting for a password hash; a second one meanwhile is refused. */
  busy = false;

  constructor(
    readonly socket: WebSocket,
    readonly bucket: TokenBucket,
    readonly ip: string,
    private readonly metrics: ServerMetrics,
  ) {}

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  send(message: ServerMessage): void {
    this.sendText(JSON.stringify(message));
  }

  sendText(text: string): void {
    if (this.open) this.socket.send(text);
  }

  error(code: ErrorCode, message: string, requestType?: string): void {
    this.metrics.errors.inc({ code });
    this.send({ type: 'error', code, message, ...(requestType ? { request_type: requestType } : {}) });
  }
}

export class SignallingServer {
  readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly statsTicker: ReturnType<typeof setInterval>;
  readonly ipLimits: IpLimits;

  constructor(
    private readonly config: Config,
    private readonly rooms: RoomRegistry,
    private readonly ice: IceServerProvider,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    private readonly relay: RelayHub,
  ) {
    this.ipLimits = new IpLimits(config.limits);
    rooms.onRoomRemoved((room) => this.ipLimits.roomClosed(room.owner));
    // UTF-8 is checked by JSON parsing below, so a broken frame is answered
    // with bad_json instead of ws closing the connection (1007).
    this.wss = new WebSocketServer({ noServer: true, maxPayload: HARD_FRAME_LIMIT, perMessageDeflate: false, skipUTF8Validation: true });
    this.heartbeat = setInterval(() => this.checkAlive(), config.heartbeatMs);
    this.statsTicker = setInterval(() => this.sendSummaries(), config.statsIntervalMs);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  close(): void {
    clearInterval(this.heartbeat);
    clearInterval(this.statsTicker);
    for (const c of this.connections) c.socket.terminate();
    this.wss.close();
  }

  /**
   * Decide on an upgrade before it happens, so a refused client gets a plain
   * HTTP answer (403 for a foreign Origin, 429 over the per-IP connection limit)
   * and never counts as connected. An admitted connection is counted at once.
   */
  admit(req: IncomingMessage): Admission {
    const ip = clientIp(req, this.config.trustProxy);
    if (!originAllowed(req.headers.origin, req.headers.host, this.config.allowedOrigins)) {
      this.metrics.refused.inc({ reason: 'origin' });
      this.log.warn({ ip, origin: req.headers.origin }, 'websocket refused: origin not allowed');
      return { ok: false, status: 403, code: 'not_allowed', message: `origin ${req.headers.origin} may not open /ws` };
    }
    if (!this.ipLimits.openConnection(ip)) {
      this.metrics.refused.inc({ reason: 'connections_per_ip' });
      this.log.warn({ ip }, 'websocket refused: too many connections from one IP');
      return {
        ok: false,
        status: 429,
        code: 'rate_limited',
        message: `more than ${this.config.limits.maxConnectionsPerIp} connections from one address`,
      };
    }
    return { ok: true, ip };
  }

  /** Take an upgraded socket that admit() let in. */
  accept(socket: WebSocket, ip: string): void {
    const { messageBurst, messagesPerSecond } = this.config.limits;
    const conn = new Connection(socket, new TokenBucket(messageBurst, messagesPerSecond), ip, this.metrics);
    this.connections.add(conn);
    socket.on('pong', () => (conn.alive = true));
    socket.on('message', (data, isBinary) => {
      // Any frame proves the peer alive: a pong queued behind a busy client's own
      // frames must not get that client cut by the heartbeat.
      conn.alive = true;
      // One message must never take the process (and every other room) down with it.
      try {
        this.receive(conn, data, isBinary);
      } catch (err) {
        this.log.error({ err }, 'handling a message failed');
        conn.error('bad_message', 'the server could not handle this message');
      }
    });
    socket.on('close', () => this.drop(conn));
    socket.on('error', () => socket.terminate());
    const iceServers = this.ice.forClient(conn.id);
    this.metrics.countIceServers(iceServers);
    conn.send({ type: 'welcome', client_id: conn.id, ice_servers: iceServers, ice_timeouts: this.config.iceTimeouts });
  }

  /** Shutdown: tell every client to come back after the hint (the HTTP side stops accepting). */
  goingAway(reconnectAfterMs: number): void {
    const text = JSON.stringify({ type: 'server_going_away', reconnect_after_ms: reconnectAfterMs } satisfies ServerMessage);
    for (const c of this.connections) c.sendText(text);
  }

  /** Viewers by the path they last reported, over all rooms (for /metrics). */
  viewersByPath(): Record<string, number> {
    const total: Record<string, number> = { p2p: 0, turn: 0, relay: 0, unknown: 0 };
    for (const room of this.rooms.all()) {
      for (const [path, n] of Object.entries(room.summary().paths)) total[path] = (total[path] ?? 0) + n;
    }
    return total;
  }

  private receive(conn: Connection, data: RawData, isBinary: boolean): void {
    if (!conn.bucket.take()) {
      this.metrics.messages.inc({ type: 'rate_limited' });
      const now = Date.now();
      if (now - conn.lastRateNotice >= RATE_LIMIT_NOTICE_MS) {
        conn.lastRateNotice = now;
        conn.error('rate_limited', `more than ${this.config.limits.messagesPerSecond} messages per second; slow down`);
      }
      return;
    }
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
    if (size > this.config.limits.maxMessageBytes) {
      conn.error('too_large', `message of ${size} bytes is over the limit of ${this.config.limits.maxMessageBytes}`);
      return;
    }
    if (isBinary) {
      conn.error('bad_json', 'frames on /ws are JSON text, not binary');
      return;
    }
    const parsed = parseClientMessage(data.toString());
    if (!parsed.ok) {
      this.metrics.messages.inc({ type: 'invalid' });
      conn.error(parsed.code, parsed.message, parsed.request_type);
      return;
    }
    this.metrics.messages.inc({ type: parsed.message.type });
    this.dispatch(conn, parsed.message);
  }

  private dispatch(conn: Connection, msg: ClientMessage): void {
    switch (msg.type) {
      case 'create_room':
        return this.createRoom(conn, msg);
      case 'join_room':
        return this.joinRoom(conn, msg);
      case 'leave_room':
        return this.leaveRoom(conn);
      case 'end_room':
        return this.endRoom(conn);
      case 'offer':
      case 'answer':
      case 'ice_candidate':
      case 'ice_restart':
        return this.forward(conn, msg);
      case 'quality_level':
        // Only the broadcaster knows a link's level: a viewer may not send one to anybody.
        if (conn.room && !conn.room.isBroadcaster(conn)) return conn.error('not_allowed', 'only the broadcaster sends quality_level', msg.type);
        return this.forward(conn, msg);
      case 'request_relay':
        return this.requestRelay(conn, msg);
      case 'assign_relay':
        return this.assignRelay(conn, msg);
      case 'relay_unavailable':
        return this.relayUnavailable(conn, msg);
      case 'stats_report':
        return this.statsReport(conn, msg);
      case 'remove_viewer':
        return this.removeViewer(conn, msg);
      case 'ping':
        return conn.send({ type: 'pong' });
    }
  }

  private createRoom(conn: Connection, msg: ClientMessageOf<'create_room'>): void {
    if (conn.busy) return conn.error('not_allowed', 'the previous create_room or join_room is still being handled', msg.type);
    if (conn.room) {
      // The same broadcaster reclaiming the room it holds (a retry) is answered again.
      if (conn.room.isBroadcaster(conn) && msg.room_id === conn.room.id && msg.room_token === conn.room.token) {
        conn.send({ type: 'room_created', room_id: conn.room.id, room_token: conn.room.token });
        return;
      }
      return conn.error('not_allowed', `already in room ${conn.room.id}; leave it first`, msg.type);
    }
    const reclaim = msg.room_id !== undefined && msg.room_token !== undefined;
    // A reclaim brings back a room the IP already had, so only new rooms count against the limit.
    if (!reclaim && !this.ipLimits.canCreateRoom(conn.ip)) {
      return conn.error('rate_limited', `one address may hold at most ${this.config.limits.maxRoomsPerIp} rooms`, msg.type);
    }
    if (msg.password === undefined) return this.openRoom(conn, msg, null);
    conn.busy = true;
    hashPassword(msg.password)
      .then((hash) => {
        conn.busy = false;
        if (conn.open && !conn.room) this.openRoom(conn, msg, hash);
      })
      .catch((err: unknown) => {
        conn.busy = false;
        this.log.error({ err }, 'hashing a room password failed');
      });
  }

  private openRoom(conn: Connection, msg: ClientMessageOf<'create_room'>, password: PasswordHash | null): void {
    const options = { isPublic: msg.private !== true, password, owner: conn.ip };
    if (msg.room_id === undefined || msg.room_token === undefined) {
      this.ipLimits.roomOpened(conn.ip);
      const room = this.rooms.create(conn, options);
      this.log.info({ room: room.id, private: !room.isPublic, password: password !== null }, 'room created');
      return;
    }
    const known = this.rooms.get(msg.room_id) !== undefined;
    const result = this.rooms.reclaim(msg.room_id, msg.room_token, conn, options);
    if (!result.ok) return conn.error('not_allowed', `the room token does not match room ${msg.room_id}`, msg.type);
    if (!known) this.ipLimits.roomOpened(conn.ip);
    this.log.info({ room: msg.room_id, recreated: !known }, 'room reclaimed');
  }

  private joinRoom(conn: Connection, msg: ClientMessageOf<'join_room'>): void {
    if (conn.busy) return conn.error('not_allowed', 'the previous create_room or join_room is still being handled', msg.type);
    if (conn.room) return conn.error('not_allowed', `already in room ${conn.room.id}; leave it first`, msg.type);
    // Checked before the room is looked up, so an address that guessed too much learns nothing more.
    if (!this.ipLimits.mayTryJoin(conn.ip)) {
      return conn.error('rate_limited', `more than ${this.config.limits.failedJoinsPerMinute} failed joins a minute from this address; wait`, msg.type);
    }
    const room = this.rooms.get(msg.room_id);
    if (!room) {
      this.ipLimits.joinFailed(conn.ip);
      return conn.error('room_not_found', `no live room with code ${msg.room_id}`, msg.type);
    }
    if (!room.password) return this.enterRoom(conn, room, msg);
    if (msg.password === undefined) return conn.error('password_required', `room ${msg.room_id} needs a password`, msg.type);
    const stored = room.password;
    conn.busy = true;
    passwordMatches(msg.password, stored)
      .then((ok) => {
        conn.busy = false;
        if (!conn.open || conn.room) return;
        if (!ok) {
          this.ipLimits.joinFailed(conn.ip);
          return conn.error('wrong_password', `wrong password for room ${msg.room_id}`, msg.type);
        }
        // The room may have ended, or been replaced, while the hash was computed.
        const current = this.rooms.get(msg.room_id);
        if (current !== room) return conn.error('room_not_found', `no live room with code ${msg.room_id}`, msg.type);
        this.enterRoom(conn, room, msg);
      })
      .catch((err: unknown) => {
        conn.busy = false;
        this.log.error({ err }, 'checking a room password failed');
      });
  }

  private enterRoom(conn: Connection, room: Room, msg: ClientMessageOf<'join_room'>): void {
    if (room.viewers.size >= this.config.limits.maxViewersPerRoom) {
      return conn.error('room_full', `room ${msg.room_id} has the most viewers allowed (${this.config.limits.maxViewersPerRoom})`, msg.type);
    }
    room.addViewer(conn, msg.codecs);
  }

  private removeViewer(conn: Connection, msg: ClientMessageOf<'remove_viewer'>): void {
    const room = conn.room;
    if (!room) return conn.error('not_in_room', 'remove_viewer needs a room', msg.type);
    if (!room.isBroadcaster(conn)) return conn.error('not_allowed', 'only the broadcaster can remove viewers', msg.type);
    const viewer = room.viewers.get(msg.viewer_id);
    if (!viewer) return conn.error('not_allowed', `${msg.viewer_id} is not a viewer of room ${room.id}`, msg.type);
    this.viewerOut(room, viewer, { type: 'removed', room_id: room.id, reason: 'removed_by_broadcaster' });
  }

  /** Every way a viewer leaves a room goes through here, so its relay stream stops with it. */
  private viewerOut(room: Room, viewer: Member, notice?: ServerMessage): void {
    room.removeViewer(viewer, notice);
    this.relay.release(room.id, viewer.id);
  }

  private leaveRoom(conn: Connection): void {
    const room = conn.room;
    if (!room) return conn.error('not_in_room', 'not in a room', 'leave_room');
    // A broadcaster that leaves without ending the room may come back: viewers wait.
    if (room.isBroadcaster(conn)) this.rooms.broadcasterGone(room);
    else this.viewerOut(room, conn);
    conn.send({ type: 'room_left', room_id: room.id });
  }

  private endRoom(conn: Connection): void {
    const room = conn.room;
    if (!room) return conn.error('not_in_room', 'not in a room', 'end_room');
    if (!room.isBroadcaster(conn)) return conn.error('not_allowed', 'only the broadcaster can end the room', 'end_room');
    this.rooms.close(room, 'ended');
  }

  private forward(conn: Connection, msg: ClientMessageOf<'offer' | 'answer' | 'ice_candidate' | 'ice_restart' | 'quality_level'>): void {
    const room = conn.room;
    if (!room) return conn.error('not_in_room', `${msg.type} needs a room: join or create one first`, msg.type);
    const target = room.peerFor(conn, msg.target_id);
    if (!target) {
      return conn.error('not_allowed', `${msg.type} may only go between the broadcaster and a viewer of the same room`, msg.type);
    }
    const { target_id: _target, ...rest } = msg;
    target.send({ ...rest, from_id: conn.id } as ServerMessage);
  }

  private requestRelay(conn: Connection, msg: ClientMessageOf<'request_relay'>): void {
    const room = conn.room;
    if (!room) {
      return this.rooms.get(msg.room_id)
        ? conn.error('not_in_room', `join room ${msg.room_id} before asking for relay`, msg.type)
        : conn.error('room_not_found', `no live room with code ${msg.room_id}`, msg.type);
    }
    if (room.id !== msg.room_id) return conn.error('not_in_room', `not in room ${msg.room_id}`, msg.type);
    if (room.isBroadcaster(conn)) return conn.error('not_allowed', 'the broadcaster does not need a relay to itself', msg.type);
    const codecs = msg.codecs ?? [];
    room.broadcaster?.send({ type: 'relay_requested', viewer_id: conn.id, ...(codecs.length ? { codecs } : {}) });
    conn.send({ type: 'relay_ready', room_id: room.id, ticket: this.relay.issueTicket(room.id, conn.id, codecs) });
  }

  private assignRelay(conn: Connection, msg: ClientMessageOf<'assign_relay'>): void {
    const room = conn.room;
    if (!room) return conn.error('not_in_room', 'assign_relay needs a room', msg.type);
    if (!room.isBroadcaster(conn)) return conn.error('not_allowed', 'only the broadcaster assigns paths', msg.type);
    const viewer = room.viewers.get(msg.viewer_id);
    if (!viewer) return conn.error('not_allowed', `${msg.viewer_id} is not a viewer of this room`, msg.type);
    viewer.send({ type: 'use_relay', room_id: room.id });
  }

  /** The broadcaster cannot publish to the relay: tell the viewer, and close the relay stream it may have opened. */
  private relayUnavailable(conn: Connection, msg: ClientMessageOf<'relay_unavailable'>): void {
    const room = conn.room;
    if (!room) return conn.error('not_in_room', 'relay_unavailable needs a room', msg.type);
    if (!room.isBroadcaster(conn)) return conn.error('not_allowed', 'only the broadcaster publishes to the relay', msg.type);
    const viewer = room.viewers.get(msg.viewer_id);
    if (!viewer) return conn.error('not_allowed', `${msg.viewer_id} is not a viewer of this room`, msg.type);
    this.relay.release(room.id, viewer.id);
    viewer.send({ type: 'relay_unavailable', room_id: room.id });
  }

  private statsReport(conn: Connection, msg: ClientMessageOf<'stats_report'>): void {
    if (!conn.room) return conn.error('not_in_room', 'stats_report needs a room', msg.type);
    const { type: _type, ...report } = msg;
    conn.room.recordStats(conn, report);
  }

  private drop(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    this.ipLimits.closeConnection(conn.ip);
    const room = conn.room;
    if (!room) return;
    if (room.isBroadcaster(conn)) this.rooms.broadcasterGone(room);
    else this.viewerOut(room, conn);
  }

  private checkAlive(): void {
    this.ipLimits.sweep();
    for (const conn of this.connections) {
      if (!conn.alive) {
        conn.socket.terminate();
        this.drop(conn);
        continue;
      }
      conn.alive = false;
      conn.socket.ping();
    }
  }

  private sendSummaries(): void {
    const now = Date.now();
    for (const room of this.rooms.all()) {
      if (room.viewers.size > 0) room.sendSummary(now);
    }
  }
}
