// Wiring: one HTTP (or HTTPS) server carries the REST routes, the web app and
// the signalling WebSocket at /ws. Tests start it on port 0 and close it after.
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { createRequestHandler } from './http.js';
import { IceServerProvider } from './ice.js';
import { RoomRegistry } from './rooms.js';
import { SignallingServer } from './signalling.js';
import type { TlsMaterial } from './tls.js';

export interface LiveRoomServer {
  readonly http: Server;
  readonly rooms: RoomRegistry;
  readonly signalling: SignallingServer;
  /** 'https' when started with a certificate: the socket is then wss. */
  readonly scheme: 'http' | 'https';
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export function createLiveRoomServer(config: Config, tls: TlsMaterial | null = null): LiveRoomServer {
  const rooms = new RoomRegistry(config.roomGraceMs, config.roomSecret);
  const ice = new IceServerProvider(config.stunUrls, config.turn);
  const signalling = new SignallingServer(config, rooms, ice);
  let accepting = false;

  const handler = createRequestHandler({ rooms, ice, staticDir: config.staticDir, accepting: () => accepting });
  const onRequest: RequestListener = (req, res) => {
    handler(req, res).catch((err: unknown) => {
      console.error('request failed', err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  const http: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, onRequest) : createServer(onRequest);
  http.on('upgrade', (req, socket, head) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname !== '/ws' || !accepting) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    signalling.wss.handleUpgrade(req, socket, head, (ws) => signalling.wss.emit('connection', ws, req));
  });

  return {
    http,
    rooms,
    signalling,
    scheme: tls ? 'https' : 'http',
    listen: () =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => {
          http.off('error', reject);
          accepting = true;
          resolve(http.address() as AddressInfo);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        // Rooms are not closed: clients reconnect and broadcasters reclaim them
        // (across a restart too when ROOM_SECRET is kept).
        accepting = false;
        signalling.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
