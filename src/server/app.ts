// Wiring: one HTTP server carries the REST routes, the web app and the
// signalling WebSocket at /ws. Tests start it on port 0 and close it after.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { createRequestHandler } from './http.js';
import { IceServerProvider } from './ice.js';
import { RelayHub } from './relay.js';
import { RoomRegistry } from './rooms.js';
import { SignallingServer } from './signalling.js';

export interface LiveRoomServer {
  readonly http: Server;
  readonly rooms: RoomRegistry;
  readonly signalling: SignallingServer;
  readonly relay: RelayHub;
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export function createLiveRoomServer(config: Config): LiveRoomServer {
  const rooms = new RoomRegistry(config.roomGraceMs, config.roomSecret);
  const ice = new IceServerProvider(config.stunUrls, config.turn);
  const relay = new RelayHub(rooms, config.relay);
  rooms.onClose = (room) => relay.closeRoom(room.id);
  const signalling = new SignallingServer(config, rooms, ice, relay);
  let accepting = false;

  const handler = createRequestHandler({ rooms, ice, staticDir: config.staticDir, accepting: () => accepting });
  const http = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      console.error('request failed', err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  http.on('upgrade', (req, socket, head) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (accepting && pathname === '/ws') {
      signalling.wss.handleUpgrade(req, socket, head, (ws) => signalling.wss.emit('connection', ws, req));
    } else if (accepting && pathname === '/relay') {
      relay.handleUpgrade(req, socket, head);
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    }
  });

  return {
    http,
    rooms,
    signalling,
    relay,
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
        relay.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
