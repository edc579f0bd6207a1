// A connection that stops answering pings (a dead network, a frozen tab) is cut
// by the heartbeat and leaves its room: one missed pong, so it is gone within
// two heartbeat intervals (the default 5 s gives the 10 s of the issue).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/server/config.js';
import { ClientPool, createRoom, joinRoom, listedRooms } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const HEARTBEAT_MS = 500;
let srv: RunningServer;
const pool = new ClientPool(() => srv.wsUrl);
beforeAll(async () => {
  srv = await startServer({ heartbeatMs: HEARTBEAT_MS, statsIntervalMs: 600_000 });
});
afterAll(async () => {
  await srv.close();
});
afterEach(async () => {
  expect(await pool.closeAll()).toEqual([]);
});

describe('heartbeat', () => {
  it('the default interval notices a dead connection within 10 s', () => {
    expect(defaultConfig().heartbeatMs * 2).toBeLessThanOrEqual(10_000);
  });

  it('a viewer that stops answering pings is cut within two intervals; viewer counts stay exact', async () => {
    const b = await pool.connect();
    const { roomId } = await createRoom(b);
    const alive = await pool.connect();
    // autoPong off: the socket stays open but never answers, like a peer whose network vanished.
    const dead = await pool.connect(undefined, { autoPong: false });
    await joinRoom(alive, roomId, b);
    await joinRoom(dead, roomId, b);
    await b.next('stats_summary', { where: (s) => s.viewer_count === 2 });
    const started = Date.now();
    await b.next('viewer_left', { where: (m) => m.viewer_id === dead.id, timeoutMs: HEARTBEAT_MS * 2 + 3_000 });
    const took = Date.now() - started;
    expect(took).toBeLessThanOrEqual(HEARTBEAT_MS * 2 + 3_000);
    await b.next('stats_summary', { where: (s) => s.viewer_count === 1 });
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(1);
    expect(srv.server.signalling.connectionCount).toBe(2);
    await dead.closed();
    // The live ones answer their pings and stay through several intervals.
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS * 3));
    await alive.roundTrip();
    await b.roundTrip();
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(1);
  });

  it('any frame counts as a sign of life: a busy client whose pongs lag behind its own frames is kept', async () => {
    const busy = await pool.connect(undefined, { autoPong: false });
    for (let i = 0; i < 8; i++) {
      await busy.roundTrip();
      await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS / 2));
    }
    expect(busy.isOpen).toBe(true);
  });

  it('a dead broadcaster is noticed too: viewers get broadcaster_left', async () => {
    const b = await pool.connect(undefined, { autoPong: false });
    const { roomId } = await createRoom(b);
    const v = await pool.connect();
    await joinRoom(v, roomId, b);
    await v.next('broadcaster_left', { timeoutMs: HEARTBEAT_MS * 2 + 3_000 });
    expect(srv.server.rooms.get(roomId)?.broadcaster).toBeNull();
  });
});
