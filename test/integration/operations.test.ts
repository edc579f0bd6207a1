// The operator's view on a real server: /metrics in Prometheus text format with
// the LiveRoom series, structured JSON logs that never carry a secret, and
// /healthz turning 503 while the server drains.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig, type Config } from '../../src/server/config.js';
import { createLiveRoomServer, type LiveRoomServer } from '../../src/server/app.js';
import { createLogger } from '../../src/server/logger.js';
import { ClientPool, createRoom, joinRoom } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const servers: { close(): Promise<void> }[] = [];
const pool = new ClientPool(() => {
  throw new Error('pass a url');
});
afterEach(async () => {
  expect(await pool.closeAll()).toEqual([]);
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  it('counts connections, rooms, viewers by path, messages and errors by type, relay bytes and TURN credentials', async () => {
    const srv = await startServer({ statsIntervalMs: 600_000, turn: { urls: ['turn:turn.example.org'], secret: 's', ttlSeconds: 600 } });
    servers.push(srv);
    const [b, v] = await Promise.all([pool.connect(srv.wsUrl), pool.connect(srv.wsUrl)]);
    const { roomId } = await createRoom(b);
    await joinRoom(v, roomId, b);
    v.send({ type: 'stats_report', connection_type: 'turn', bitrate: 900 });
    v.send({ type: 'nonsense' });
    await v.nextError('bad_message');
    await v.roundTrip();
    srv.server.metrics.relayBytes.inc({ direction: 'out' }, 1234);
    await fetch(`${srv.httpUrl}/api/ice-servers`);

    const res = await fetch(`${srv.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(metric(text, 'liveroom_connections')).toBe(2);
    expect(metric(text, 'liveroom_rooms')).toBe(1);
    expect(metric(text, 'liveroom_viewers{path="turn"}')).toBe(1);
    expect(metric(text, 'liveroom_viewers{path="p2p"}')).toBe(0);
    expect(metric(text, 'liveroom_messages_total{type="create_room"}')).toBe(1);
    expect(metric(text, 'liveroom_messages_total{type="invalid"}')).toBe(1);
    expect(metric(text, 'liveroom_messages_total{type="ping"}')).toBe(1);
    expect(metric(text, 'liveroom_errors_total{code="bad_message"}')).toBe(1);
    expect(metric(text, 'liveroom_relay_bytes_total{direction="out"}')).toBe(1234);
    // Two welcomes and one /api/ice-servers, each with one TURN credential.
    expect(metric(text, 'liveroom_turn_credentials_issued_total')).toBe(3);
    expect(metric(text, 'liveroom_draining')).toBe(0);
    expect(text).toContain('process_resident_memory_bytes');
    // No secret leaks into the numbers.
    expect(text).not.toMatch(/turn\.example\.org|credential=/);
  });

  it('two servers in one process keep their own counts', async () => {
    const [a, b] = await Promise.all([startServer(), startServer()]);
    servers.push(a, b);
    await pool.connect(a.wsUrl);
    const textB = await (await fetch(`${b.httpUrl}/metrics`)).text();
    expect(metric(textB, 'liveroom_connections')).toBe(0);
  });
});

describe('logs', () => {
  it('are JSON lines and never carry a password, room token or secret', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const base = defaultConfig();
    const config: Config = { ...base, port: 0, host: '127.0.0.1', stunUrls: [], roomSecret: 'room-secret-value', logLevel: 'debug', sfu: { ...base.sfu, udpPort: 0 } };
    const server: LiveRoomServer = createLiveRoomServer(config, null, createLogger('debug', sink));
    servers.push(server);
    const { port } = await server.listen();
    const b = await pool.connect(`ws://127.0.0.1:${port}/ws`);
    b.send({ type: 'create_room', password: 'very-secret-password' });
    const { room_token } = await b.next('room_created');
    // A log call that slips a secret in by name is redacted.
    server.log.info({ password: 'very-secret-password', room_token, config: { roomSecret: 'room-secret-value' } }, 'careless');
    const text = lines.join('\n');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'room created')).toBe(true);
    expect(text).not.toContain('very-secret-password');
    expect(text).not.toContain(room_token);
    expect(text).not.toContain('room-secret-value');
  });
});
