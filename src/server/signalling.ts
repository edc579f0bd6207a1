// The WebSocket half of the contract: every frame is checked, limited, and
// dispatched to the room registry. A bad frame is answered with `error` and
// changes nothing else; the connection, its room and everyone else carry on.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { ClientMessage, ClientMessageOf, ErrorCode, ServerMessage } from '../protocol/messages.js';
import { parseClientMessage } from '../protocol/parse.js';
import type { Config } from './config.js';
import type { IceServerProvider } from './ice.js';
import { TokenBucket } from './ratelimit.js';
import type { Member, Room } from './room.js';
import type { RoomRegistry } from './rooms.js';

/** Frames above this close the socket in `ws` itself; between the soft limit and this we answer too_large. */
const HARD_FRAME_LIMIT = 1 << 20;
/** At most one rate_limited answer per connection per this many ms, so a flood is not echoed back. */
const RATE_LIMIT_NOTICE_MS = 1_000;

class Connection implements Member {
  readonly id = randomBytes(9).toString('base64url');
  room: Room | null = null;
  alive = true;
  lastRateNotice = 0;

  constructor(
    readonly socket: WebSocket,
    readonly bucket: TokenBucket,
  ) {}

  send(message: ServerMessage): void {
    this.sendText(JSON.stringify(message));
  }

  sendText(text: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(text);
  }

  error(code: ErrorCode, message: string, requestType?: string): void {
    this.send({ type: 'error', code, message, ...(requestType ? { request_type: requestType } : {}) });
  }
}

export class SignallingServer {
  readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly statsTicker: ReturnType<typeof setInterval>;

  constructor(
    private readonly config: Config,
    private readonly rooms: RoomRegistry,
    private readonly ice: IceServerProvider,
  ) {
    // UTF-8 is checked by JSON parsing below, so a broken frame is answered
    // with bad_json instead of ws closing the connection (1007).
    this.wss = new WebSocketServer({ noServer: true, maxPayload: HARD_FRAME_LIMIT, perMessageDeflate: false, skipUTF8Validation: true });
    this.wss.on('connection', (socket: WebSocket, req: IncomingMessage) => this.accept(socket, req));
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

  private accept(socket: WebSocket, _req: IncomingMessage): void {
    const { messageBurst, messagesPerSecond } = this.config.limits;
    const conn = new Connection(socket, new TokenBucket(messageBurst, messagesPerSecond));
    this.connections.add(conn);
    socket.on('pong', () => (conn.alive = true));
    socket.on('message', (data, isBinary) => this.receive(conn, data, isBinary));
    socket.on('close', () => this.drop(conn));
    socket.on('error', () => socket.terminate());
    conn.send({ type: 'welcome', client_id: conn.id, ice_servers: this.ice.forClient(conn.id), ice_timeouts: this.config.iceTimeouts });
  }

  private receive(conn: Connection, data: RawData, isBinary: boolean): void {
    if (!conn.bucket.take()) {
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
      conn.error(parsed.code, parsed.message, parsed.request_type);
      return;
    }
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
      case 'request_relay':
        return this.requestRelay(conn, msg);
      case 'stats_report':
        return this.statsReport(conn, msg);
      case 'ping':
        return conn.send({ type: 'pong' });
    }
  }

  private createRoom(conn: Connection, msg: ClientMessageOf<'create_room'>): void {
    if (conn.room) {
      // The same broadcaster reclaiming the room it holds (a retry) is answered again.
      if (conn.room.isBroadcaster(conn) && msg.room_id === conn.room.id && msg.room_token === conn.room.token) {
        conn.send({ type: 'room_created', room_id: conn.room.id, room_token: conn.room.token });
        return;
      }
      return conn.error('not_allowed', `already in room ${conn.room.id}; leave it first`, msg.type);
    }
    if (msg.room_id === undefined || msg.room_token === undefined) {
      this.rooms.create(conn);
      return;
    }
    const result = this.rooms.reclaim(msg.room_id, msg.room_token, conn);
    if (!result.ok) conn.error('not_allowed', `the room token does not match room ${msg.room_id}`, msg.type);
  }

  private joinRoom(conn: Connection, msg: ClientMessageOf<'join_room'>): void {
    if (conn.room) return conn.error('not_allowed', `already in room ${conn.room.id}; leave it first`, msg.type);
    const room = this.rooms.get(msg.room_id);
    if (!room) return conn.error('room_not_found', `no live room with code ${msg.room_id}`, msg.type);
    if (room.viewers.size >= this.config.limits.maxViewersPerRoom) {
      return conn.error('room_full', `room ${msg.room_id} has the most viewers allowed (${this.config.limits.maxViewersPerRoom})`, msg.type);
    }
    room.addViewer(conn);
  }

  private leaveRoom(conn: Connection): void {
    const room = conn.room;
    if (!room) return conn.error('not_in_room', 'not in a room', 'leave_room');
    // A broadcaster that leaves without ending the room may come back: viewers wait.
    if (room.isBroadcaster(conn)) this.rooms.broadcasterGone(room);
    else room.removeViewer(conn);
    conn.send({ type: 'room_left', room_id: room.id });
  }

  private endRoom(conn: Connection): void {
    const room = conn.room;
    if (!room) return conn.error('not_in_room', 'not in a room', 'end_room');
    if (!room.isBroadcaster(conn)) return conn.error('not_allowed', 'only the broadcaster can end the room', 'end_room');
    this.rooms.close(room, 'ended');
  }

  private forward(conn: Connection, msg: ClientMessageOf<'offer' | 'answer' | 'ice_candidate' | 'ice_restart'>): void {
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
    room.broadcaster?.send({ type: 'relay_requested', viewer_id: conn.id });
    conn.send({ type: 'relay_ready', room_id: room.id });
  }

  private statsReport(conn: Connection, msg: ClientMessageOf<'stats_report'>): void {
    if (!conn.room) return conn.error('not_in_room', 'stats_report needs a room', msg.type);
    const { type: _type, ...report } = msg;
    conn.room.recordStats(conn, report);
  }

  private drop(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    const room = conn.room;
    if (!room) return;
    if (room.isBroadcaster(conn)) this.rooms.broadcasterGone(room);
    else room.removeViewer(conn);
  }

  private checkAlive(): void {
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
