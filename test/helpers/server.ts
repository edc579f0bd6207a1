// Start a real LiveRoom server on a free loopback port for one test file.
import { defaultConfig, type Config } from '../../src/server/config.js';
import { createLiveRoomServer, type LiveRoomServer } from '../../src/server/app.js';

export interface RunningServer {
  server: LiveRoomServer;
  port: number;
  httpUrl: string;
  wsUrl: string;
  close(): Promise<void>;
}

export async function startServer(overrides: Partial<Config> = {}): Promise<RunningServer> {
  const base = defaultConfig();
  const config: Config = {
    ...base,
    port: 0,
    host: '127.0.0.1',
    stunUrls: [],
    logLevel: 'silent',
    ...overrides,
    // Every test client comes from 127.0.0.1: the per-IP limits are opened wide
    // here, and the tests of those limits set them explicitly.
    limits: { ...base.limits, maxRoomsPerIp: 10_000, maxConnectionsPerIp: 10_000, failedJoinsPerMinute: 10_000, ...overrides.limits },
    turn: { ...base.turn, ...overrides.turn },
    relay: { ...base.relay, ...overrides.relay },
    // The SFU's media port: any free one, so test servers never meet on UDP 8080.
    sfu: { ...base.sfu, udpPort: 0, ...overrides.sfu },
  };
  const server = createLiveRoomServer(config);
  const { port } = await server.listen();
  return {
    server,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    close: () => server.close(),
  };
}
