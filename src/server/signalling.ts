// The WebSocket half of the contract: every frame is checked, limited, and
// dispatched to its route (routes.ts). A bad frame is answered with `error` and
// changes nothing else; the connection, its room and everyone else carry on.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { ErrorCode, ServerMessage } from '../protocol/messages.js';
import { parseClientMessage } from '../protocol/parse.js';
import type { Config } from './config.js';
import { clientIp } from './client-ip.js';
import { Connection } from './connection.js';
import type { IceServerProvider } from './ice.js';
import type { IpLimits } from './ip-limits.js';
import type { ServerMetrics } from './metrics.js';
import { originAllowed } from './origin.js';
import { TokenBucket } from './ratelimit.js';
import type { RelayHub } from './relay.js';
import type { RoomRegistry } from './rooms.js';
import { MessageRouter } from './routes.js';
import type { SfuRouting } from './sfu/service.js';

/** Frames above this close the socket in `ws` itself; between the soft limit and this we answer too_large. */
const HARD_FRAME_LIMIT = 1 << 20;
/** At most one rate_limited answer per connection per this many ms, so a flood is not echoed back. */
const RATE_LIMIT_NOTICE_MS = 1_000;

/** Why an upgrade to /ws is refused: HTTP status and the contract's error code. */
export type Admission = { ok: true; ip: string } | { ok: false; status: number; code: ErrorCode; message: string };

export class SignallingServer {
  readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly statsTicker: ReturnType<typeof setInterval>;
  private readonly router: MessageRouter;

  constructor(
    private readonly config: Config,
    private readonly rooms: RoomRegistry,
    private readonly ice: IceServerProvider,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    private readonly relay: RelayHub,
    /** Shared with the SFU's HTTP doors, whose sessions and failed POSTs count against the same address. */
    readonly ipLimits: IpLimits,
    sfu: SfuRouting,
  ) {
    this.router = new MessageRouter({ config, rooms, relay, sfu, ipLimits, log });
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
    const { burst, messagesPerSecond: chatRate } = this.config.chat;
    const conn = new Connection(socket, new TokenBucket(messageBurst, messagesPerSecond), ip, this.metrics, new TokenBucket(burst, chatRate));
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
    const total: Record<string, number> = { p2p: 0, turn: 0, relay: 0, sfu: 0, unknown: 0 };
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
    this.router.dispatch(conn, parsed.message);
  }

  private drop(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    this.ipLimits.closeConnection(conn.ip);
    this.router.left(conn);
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
