// Time-driven parts of the contract on a real server: the grace period of a room
// whose broadcaster went away, and the periodic stats_summary.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool, createRoom, eventually, joinRoom, listedRooms, type TestClient } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const GRACE_MS = 400;

describe('grace period', () => {
  let srv: RunningServer;
  let pool: ClientPool;
  beforeAll(async () => {
    srv = await startServer({ roomGraceMs: GRACE_MS, statsIntervalMs: 600_000 });
    pool = new ClientPool(() => srv.wsUrl);
  });
  afterEach(async () => {
    expect(await pool.closeAll()).toEqual([]);
  });
  afterAll(async () => {
    await srv.close();
  });

  async function roomWith(n: number) {
    const broadcaster = await pool.connect();
    const { roomId, token } = await createRoom(broadcaster);
    const viewers: TestClient[] = [];
    for (let i = 0; i < n; i++) {
      const v = await pool.connect();
      await joinRoom(v, roomId, broadcaster);
      viewers.push(v);
    }
    return { broadcaster, viewers, roomId, token };
  }

  it('no reclaim within the grace: room_closed to the viewers and the room is gone from /api/rooms', async () => {
    const { broadcaster: b, viewers, roomId } = await roomWith(2);
    const leftAt = Date.now();
    await b.terminate();
    for (const v of viewers) await v.next('broadcaster_left');
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(2);
    for (const v of viewers) {
      const closed = await v.next('room_closed', GRACE_MS + 2_000);
      expect(closed.room_id).toBe(roomId);
      expect(closed.reason.length).toBeGreaterThan(0);
    }
    expect(Date.now() - leftAt).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect((await listedRooms(srv.httpUrl)).has(roomId)).toBe(false);
    // The viewers were let go and can use their connections for something else.
    for (const v of viewers) {
      v.send({ type: 'leave_room' });
      await v.nextError('not_in_room');
      v.send({ type: 'join_room', room_id: roomId });
      await v.nextError('room_not_found');
    }
  });

  it('a room without viewers also expires', async () => {
    const { broadcaster: b, roomId } = await roomWith(0);
    await b.close();
    expect((await listedRooms(srv.httpUrl)).has(roomId)).toBe(true);
    await eventually(async () => expect((await listedRooms(srv.httpUrl)).has(roomId)).toBe(false), GRACE_MS + 3_000);
  });

  it('a reclaim inside the grace cancels the expiry', async () => {
    const { broadcaster: b, viewers, roomId, token } = await roomWith(1);
    await b.terminate();
    await viewers[0]!.next('broadcaster_left');
    const b2 = await pool.connect();
    b2.send({ type: 'create_room', room_id: roomId, room_token: token });
    await b2.next('room_created');
    await viewers[0]!.next('broadcaster_returned');
    await b2.next('viewer_joined');
    // Well past the grace: nothing closes.
    await viewers[0]!.expectNothing(GRACE_MS * 2, { ignore: ['stats_summary'] });
    await b2.expectNothing(0, { ignore: ['stats_summary'] });
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(1);
    b2.send({ type: 'offer', target_id: viewers[0]!.id, sdp: { type: 'offer', sdp: 'v=0' } });
    expect((await viewers[0]!.next('offer')).from_id).toBe(b2.id);
  });

  it('the token still works after the room expired: the room comes back with the same id', async () => {
    const { broadcaster: b, viewers, roomId, token } = await roomWith(1);
    await b.terminate();
    await viewers[0]!.next('room_closed', GRACE_MS + 2_000);
    const b2 = await pool.connect();
    b2.send({ type: 'create_room', room_id: roomId, room_token: token });
    expect(await b2.next('room_created')).toEqual({ type: 'room_created', room_id: roomId, room_token: token });
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(0);
    // Nobody was carried over: the old viewer is out and may join again.
    await b2.expectNothing(100);
    await joinRoom(viewers[0]!, roomId, b2);
  });

  it('the broadcaster leaving twice in a row restarts the grace', async () => {
    const { broadcaster: b, viewers, roomId, token } = await roomWith(1);
    b.send({ type: 'leave_room' });
    await viewers[0]!.next('broadcaster_left');
    b.send({ type: 'create_room', room_id: roomId, room_token: token });
    await viewers[0]!.next('broadcaster_returned');
    b.send({ type: 'leave_room' });
    await viewers[0]!.next('broadcaster_left');
    await viewers[0]!.next('room_closed', GRACE_MS + 2_000);
    expect((await listedRooms(srv.httpUrl)).has(roomId)).toBe(false);
  });
});

describe('periodic stats_summary (default interval)', () => {
  let srv: RunningServer;
  let pool: ClientPool;
  beforeAll(async () => {
    srv = await startServer({ roomGraceMs: 30_000 });
    pool = new ClientPool(() => srv.wsUrl);
  });
  afterEach(async () => {
    expect(await pool.closeAll()).toEqual([]);
  });
  afterAll(async () => {
    await srv.close();
  });

  it('reaches everyone in a room with viewers at least every 2 s, and folds in stats_report', async () => {
    const b = await pool.connect();
    const { roomId } = await createRoom(b);
    const v = await pool.connect();
    await joinRoom(v, roomId, b);
    await v.next('stats_summary', { where: (s) => s.viewer_count === 1 });
    await b.next('stats_summary', { where: (s) => s.viewer_count === 1 });
    let last = Date.now();

    b.send({ type: 'stats_report', bitrate: 2500, upload_bitrate: 2500, fps: 30 });
    v.send({ type: 'stats_report', bitrate: 2400, rtt: 12, loss: 0, connection_type: 'turn', relay_protocol: 'udp' });

    const gaps: number[] = [];
    for (let i = 0; i < 2; i++) {
      const [sv, sb] = await Promise.all([v.next('stats_summary', 3_000), b.next('stats_summary', 3_000)]);
      const now = Date.now();
      gaps.push(now - last);
      last = now;
      for (const s of [sv, sb]) {
        expect(s.room_id).toBe(roomId);
        expect(s.viewer_count).toBe(1);
      }
    }
    // The contract's bound is 2 s; 250 ms more allows for this client's own event-loop delays.
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(2_250);
    const folded = await v.next('stats_summary', { where: (s) => s.current_bitrate === 2500, timeoutMs: 2_100 });
    expect(folded).toMatchObject({ upload_bitrate: 2500, paths: { p2p: 0, turn: 1, relay: 0, unknown: 0 }, rtt_median: 12, loss_worst: 0, broadcaster_present: true });
  });

  it('keeps coming while the broadcaster is away, saying so', async () => {
    const b = await pool.connect();
    const { roomId } = await createRoom(b);
    const viewers = [await pool.connect(), await pool.connect()];
    for (const v of viewers) await joinRoom(v, roomId, b);
    await b.terminate();
    for (const v of viewers) await v.next('broadcaster_left');
    for (const v of viewers) {
      const s = await v.next('stats_summary', { where: (m) => !m.broadcaster_present, timeoutMs: 2_100 });
      expect(s).toMatchObject({ room_id: roomId, viewer_count: 2, broadcaster_present: false });
    }
  });
});

describe('dead connections', () => {
  let srv: RunningServer;
  let pool: ClientPool;
  beforeAll(async () => {
    srv = await startServer({ heartbeatMs: 150, statsIntervalMs: 600_000 });
    pool = new ClientPool(() => srv.wsUrl);
  });
  afterEach(async () => {
    expect(await pool.closeAll()).toEqual([]);
  });
  afterAll(async () => {
    await srv.close();
  });

  it('a viewer that stops answering pings is cut: viewer_left, and the count drops', async () => {
    const b = await pool.connect();
    const { roomId } = await createRoom(b);
    const healthy = await pool.connect();
    const silent = await pool.connect(srv.wsUrl, { autoPong: false });
    await joinRoom(healthy, roomId, b);
    await joinRoom(silent, roomId, b);
    expect(await b.next('viewer_left', 3_000)).toEqual({ type: 'viewer_left', viewer_id: silent.id });
    await silent.closed();
    expect((await b.next('stats_summary', { where: (s) => s.viewer_count === 1 })).room_id).toBe(roomId);
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(1);
    // Clients that answer pings stay, however long they are idle.
    expect(healthy.isOpen).toBe(true);
    expect(b.isOpen).toBe(true);
    await healthy.roundTrip();
  });

  it('a broadcaster that stops answering pings is cut: broadcaster_left to the viewers', async () => {
    const b = await pool.connect(srv.wsUrl, { autoPong: false });
    const { roomId } = await createRoom(b);
    const v = await pool.connect();
    await joinRoom(v, roomId, b);
    expect(await v.next('broadcaster_left', 3_000)).toEqual({ type: 'broadcaster_left', room_id: roomId });
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(1);
  });
});
