// The per-address abuse limits and the Origin check, each on a real server:
// connections per IP, rooms per IP, failed joins per IP (against guessing
// six-digit codes), X-Forwarded-For only with TRUST_PROXY, and the Origin
// allow-list. Each refusal carries the contract's error code.
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig, type Config } from '../../src/server/config.js';
import { ClientPool, createRoom, freeRoomId, joinRoom } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const pool = new ClientPool(() => {
  throw new Error('pass a url');
});
const servers: RunningServer[] = [];
afterEach(async () => {
  expect(await pool.closeAll()).toEqual([]);
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serverWith(limits: Partial<Config['limits']>, rest: Partial<Config> = {}): Promise<RunningServer> {
  const srv = await startServer({ statsIntervalMs: 600_000, ...rest, limits: { ...defaultConfig().limits, ...limits } });
  servers.push(srv);
  return srv;
}

/** Try an upgrade that the server should refuse; resolves with the HTTP status and the JSON error. */
function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => {});
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        const parsed = JSON.parse(body) as { error: { code: string } };
        resolve({ status: res.statusCode ?? 0, code: parsed.error.code });
      });
    });
  });
}

describe('connections per IP', () => {
  it('the connection over the limit is refused with 429 rate_limited; a place frees up on close', async () => {
    const srv = await serverWith({ maxConnectionsPerIp: 3 });
    const clients = await Promise.all([1, 2, 3].map(() => pool.connect(srv.wsUrl)));
    expect(await refusedUpgrade(srv.wsUrl)).toEqual({ status: 429, code: 'rate_limited' });
    // The refused attempt did not disturb the three that are in.
    await Promise.all(clients.map((c) => c.roundTrip()));
    await clients[0]!.close();
    await pool.connect(srv.wsUrl);
  });

  it('X-Forwarded-For is ignored unless TRUST_PROXY: a client cannot claim another address', async () => {
    const srv = await serverWith({ maxConnectionsPerIp: 1 });
    await pool.connect(srv.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.1' } });
    expect(await refusedUpgrade(srv.wsUrl, { 'X-Forwarded-For': '203.0.113.2' })).toEqual({ status: 429, code: 'rate_limited' });
  });

  it('with TRUST_PROXY the last X-Forwarded-For entry is the client', async () => {
    const srv = await serverWith({ maxConnectionsPerIp: 1 }, { trustProxy: true });
    await pool.connect(srv.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.1' } });
    // A spoofed first entry does not help: the proxy appended the real address last.
    await pool.connect(srv.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.1, 203.0.113.2' } });
    expect(await refusedUpgrade(srv.wsUrl, { 'X-Forwarded-For': '198.51.100.7, 203.0.113.1' })).toEqual({ status: 429, code: 'rate_limited' });
  });
});

describe('rooms per IP', () => {
  it('create_room over the limit is rate_limited; ending a room frees a place; a reclaim is not a new room', async () => {
    const srv = await serverWith({ maxRoomsPerIp: 2 });
    const [b1, b2, b3] = await Promise.all([1, 2, 3].map(() => pool.connect(srv.wsUrl)));
    const first = await createRoom(b1!);
    await createRoom(b2!);
    b3!.send({ type: 'create_room' });
    expect((await b3!.nextError('rate_limited')).request_type).toBe('create_room');
    await b3!.roundTrip();
    expect(srv.server.rooms.size).toBe(2);

    // The broadcaster of the first room drops and reclaims it from a new connection: allowed at the limit.
    await b1!.terminate();
    const again = await pool.connect(srv.wsUrl);
    again.send({ type: 'create_room', room_id: first.roomId, room_token: first.token });
    expect((await again.next('room_created')).room_id).toBe(first.roomId);

    again.send({ type: 'end_room' });
    await again.next('room_closed');
    await createRoom(b3!);
  });
});

describe('failed joins per IP', () => {
  it('after the allowed failures a minute, every join is rate_limited, even of a live room', async () => {
    const srv = await serverWith({ failedJoinsPerMinute: 5 }, { trustProxy: true });
    const b = await pool.connect(srv.wsUrl);
    const { roomId } = await createRoom(b);
    const guesser = await pool.connect(srv.wsUrl, { headers: { 'X-Forwarded-For': '198.51.100.9' } });
    for (let i = 0; i < 5; i++) {
      guesser.send({ type: 'join_room', room_id: freeRoomId(srv.server.rooms) });
      await guesser.nextError('room_not_found');
    }
    guesser.send({ type: 'join_room', room_id: roomId });
    expect((await guesser.nextError('rate_limited')).request_type).toBe('join_room');
    // A new connection from the same address does not reset the count.
    const sameAddress = await pool.connect(srv.wsUrl, { headers: { 'X-Forwarded-For': '198.51.100.9' } });
    sameAddress.send({ type: 'join_room', room_id: roomId });
    await sameAddress.nextError('rate_limited');
    // Another address is not affected, and the guesser's connection still works.
    const honest = await pool.connect(srv.wsUrl, { headers: { 'X-Forwarded-For': '198.51.100.10' } });
    await joinRoom(honest, roomId, b);
    await guesser.roundTrip();
  });

  it('a wrong room password counts as a failed join', async () => {
    const srv = await serverWith({ failedJoinsPerMinute: 2 });
    const b = await pool.connect(srv.wsUrl);
    b.send({ type: 'create_room', password: 'right' });
    const { room_id } = await b.next('room_created');
    const v = await pool.connect(srv.wsUrl);
    for (let i = 0; i < 2; i++) {
      v.send({ type: 'join_room', room_id, password: 'wrong' });
      await v.nextError('wrong_password');
    }
    v.send({ type: 'join_room', room_id, password: 'right' });
    await v.nextError('rate_limited');
  });
});

describe('Origin allow-list', () => {
  it('default: same origin as Host only; clients without Origin (tools, tests) are let in', async () => {
    const srv = await serverWith({});
    await pool.connect(srv.wsUrl, { origin: srv.httpUrl });
    await pool.connect(srv.wsUrl); // no Origin header at all
    expect(await refusedUpgrade(srv.wsUrl, { Origin: 'https://evil.example' })).toEqual({ status: 403, code: 'not_allowed' });
    expect(await refusedUpgrade(srv.wsUrl, { Origin: `http://127.0.0.1:${srv.port + 1}` })).toEqual({ status: 403, code: 'not_allowed' });
    expect(await refusedUpgrade(srv.wsUrl, { Origin: 'null' })).toEqual({ status: 403, code: 'not_allowed' });
  });

  it('ALLOWED_ORIGINS replaces same-origin with the list', async () => {
    const srv = await serverWith({}, { allowedOrigins: ['https://live.example.com'] });
    await pool.connect(srv.wsUrl, { origin: 'https://live.example.com' });
    expect(await refusedUpgrade(srv.wsUrl, { Origin: srv.httpUrl })).toEqual({ status: 403, code: 'not_allowed' });
  });

  it('refused upgrades are counted in /metrics', async () => {
    const srv = await serverWith({}, { allowedOrigins: ['https://live.example.com'] });
    await refusedUpgrade(srv.wsUrl, { Origin: 'https://evil.example' });
    const text = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    expect(text).toMatch(/liveroom_refused_connections_total\{reason="origin"\} 1/);
  });
});
