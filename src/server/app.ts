// Wiring: one HTTP (or HTTPS) server carries the REST routes, the web app, the
// signalling WebSocket at /ws and the SFU's WHIP/WHEP doors; the SFU's media
// uses its own UDP port. Tests start both on port 0 and close them after.
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createRequestHandler } from './http.js';
import { IceServerProvider } from './ice.js';
import { IpLimits } from './ip-limits.js';
import { createLogger } from './logger.js';
import { ServerMetrics } from './metrics.js';
import { RelayHub } from './relay.js';
import { RoomRegistry } from './rooms.js';
import { SignallingServer } from './signalling.js';
import { createSfuHandler } from './sfu/http.js';
import { bridgeSfuToRelay } from './sfu/relay-bridge.js';
import { SfuService } from './sfu/service.js';
import type { TlsMaterial } from './tls.js';

export interface LiveRoomServer {
  readonly http: Server;
  readonly rooms: RoomRegistry;
  readonly signalling: SignallingServer;
  readonly relay: RelayHub;
  /** The SFU: WHIP/WHEP sessions and the media port. */
  readonly sfu: SfuService;
  /** The /metrics registry; other modules (the relay) bump its counters. */
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  /** 'https' when started with a certificate: the socket is then wss. */
  readonly scheme: 'http' | 'https';
  listen(): Promise<AddressInfo>;
  /**
   * Graceful stop (SIGTERM): stop accepting (/healthz answers 503), tell every
   * client `server_going_away` with the reconnect hint, wait up to drainMs for
   * them to leave, then close.
   */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** An HTTP answer written on a raw socket, for upgrades refused before they happen. */
function refuseUpgrade(status: number, reason: string, body: unknown): string {
  const text = JSON.stringify(body);
  return `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

const REASONS: Record<number, string> = { 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' };

export function createLiveRoomServer(config: Config, tls: TlsMaterial | null = null, log: Logger = createLogger(config.logLevel)): LiveRoomServer {
  const rooms = new RoomRegistry(config.roomGraceMs, config.roomSecret);
  const ice = new IceServerProvider(config.stunUrls, config.turn);
  let accepting = false;
  let draining = false;
  const metrics: ServerMetrics = new ServerMetrics({
    connections: (): number => signalling.connectionCount,
    rooms: (): number => rooms.size,
    viewersByPath: (): Record<string, number> => signalling.viewersByPath(),
    draining: () => draining,
    sfuPeerConnections: () => sfu.engine.peerConnections,
  });
  const relay = new RelayHub(rooms, config.relay, metrics);
  rooms.onRoomRemoved((room) => relay.closeRoom(room.id));
  const ipLimits = new IpLimits(config.limits);
  rooms.onRoomRemoved((room) => ipLimits.roomClosed(room.owner));
  const sfu: SfuService = new SfuService(config, rooms, ipLimits, metrics, log);
  bridgeSfuToRelay(sfu, relay);
  const signalling: SignallingServer = new SignallingServer(config, rooms, ice, metrics, log, relay, ipLimits, sfu);
  const sfuHttp = createSfuHandler({ sfu, rooms, ice, ipLimits, config, log });

  const handler = createRequestHandler({ rooms, ice, metrics, staticDir: config.staticDir, accepting: () => accepting, sfu: sfuHttp });
  const onRequest: RequestListener = (req, res) => {
    handler(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  const http: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, onRequest) : createServer(onRequest);
  http.on('upgrade', (req, socket, head) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    const refuse = (status: number, code: string, message: string) =>
      socket.end(refuseUpgrade(status, REASONS[status] ?? 'Error', { error: { code, message } }));
    if (pathname !== '/ws' && pathname !== '/relay') return refuse(404, 'not_found', `no WebSocket at ${pathname}`);
    if (!accepting) return refuse(503, 'unavailable', 'the server is shutting down; reconnect shortly');
    // The relay checks its own credentials (room token or ticket).
    if (pathname === '/relay') return relay.handleUpgrade(req, socket, head);
    const admission = signalling.admit(req);
    if (!admission.ok) return refuse(admission.status, admission.code, admission.message);
    signalling.wss.handleUpgrade(req, socket, head, (ws) => signalling.accept(ws, admission.ip));
  });

  const close = (): Promise<void> =>
    new Promise((resolve) => {
      // Rooms are not closed: clients reconnect and broadcasters reclaim them
      // (across a restart too, since the room secret is kept).
      accepting = false;
      signalling.close();
      relay.close();
      sfu.close();
      http.closeAllConnections();
      http.close(() => resolve());
    });

  return {
    http,
    rooms,
    signalling,
    relay,
    sfu,
    metrics,
    log,
    scheme: tls ? 'https' : 'http',
    listen: async () => {
      // The media port first: one that cannot be bound stops the server before it accepts anyone.
      await sfu.start();
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => {
          http.off('error', reject);
          accepting = true;
          resolve(http.address() as AddressInfo);
        });
      });
    },
    drain: async () => {
      accepting = false;
      draining = true;
      log.info({ connections: signalling.connectionCount, drainMs: config.drainMs }, 'draining: telling clients to reconnect later');
      signalling.goingAway(config.reconnectAfterMs);
      const deadline = Date.now() + config.drainMs;
      while (signalling.connectionCount > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50)); // poll the count; clients leave on their own time
      }
      log.info({ left: signalling.connectionCount }, 'drained; closing');
      await close();
    },
    close,
  };
}
