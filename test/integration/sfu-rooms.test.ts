// The SFU in the room model, over signalling and HTTP together: a WHIP feed
// stands in as the broadcaster of a room that has none (viewers get use_sfu),
// or is the feed a WebSocket broadcaster assigns viewers to (assign_sfu);
// WHEP players count as viewers everywhere; a room with a live feed outlives
// its WebSocket broadcaster; sessions end with the room, the viewer, the feed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool, createRoom, eventually, joinRoom, listedRooms, type OpenRoom } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { TestPlayer, TestPublisher } from '../helpers/sfu-peers.js';

const GRACE_MS = 800;
let srv: RunningServer;
const pool = new ClientPool(() => srv.wsUrl);
const peers: { close(): void }[] = [];

beforeAll(async () => {
  srv = await startServer({ roomGraceMs: GRACE_MS });
});
afterEach(async () => {
  peers.splice(0).forEach((p) => p.close());
  expect(await pool.closeAll()).toEqual([]);
});
afterAll(() => srv.close());

async function publish(room: { roomId: string; token: string }): Promise<TestPublisher> {
  const pub = new TestPublisher();
  peers.push(pub);
  expect((await pub.publish(`${srv.httpUrl}/api/whip/${room.roomId}`, room.token)).status).toBe(201);
  return pub;
}

async function play(roomId: string, credential?: string): Promise<TestPlayer> {
  const p = new TestPlayer();
  peers.push(p);
  const res = await p.view(`${srv.httpUrl}/api/whep/${roomId}`, credential);
  expect(res.status, res.body).toBe(201);
  return p;
}

/** A room whose WebSocket broadcaster went away (OBS-only, say), fed over WHIP. */
async function whipOnlyRoom(): Promise<{ room: OpenRoom; pub: TestPublisher; feedId: string }> {
  const room = await createRoom(await pool.connect());
  await room.broadcaster.terminate();
  const pub = await publish(room);
  const feedId = srv.server.rooms.get(room.roomId)!.broadcaster!.id;
  expect(feedId).toMatch(/^whip-/);
  return { room, pub, feedId };
}

const session = (location: string) => srv.server.sfu.session(location.split('/').at(-1)!);

describe('a room fed over WHIP, with no WebSocket broadcaster', () => {
  it('a joining viewer gets room_joined naming the feed as broadcaster, then use_sfu with a ticket that lets it watch as itself', async () => {
    const { room, feedId } = await whipOnlyRoom();
    const viewer = await pool.connect();
    const joined = await joinRoom(viewer, room.roomId);
    expect(joined.broadcaster_id).toBe(feedId);
    const use = await viewer.next('use_sfu');
    expect(use).toEqual({ type: 'use_sfu', room_id: room.roomId, ticket: expect.stringMatching(/^[\w-]{20,}$/) });
    const p = await play(room.roomId, use.ticket);
    // One viewer, not two: the WHEP session belongs to the signalling viewer.
    expect(srv.server.rooms.get(room.roomId)!.viewers.size).toBe(1);
    expect((await listedRooms(srv.httpUrl)).get(room.roomId)).toBe(1);
    expect(session(p.location)?.kind).toBe('whep');
    // The viewer leaves the room: its WHEP session ends with it.
    viewer.send({ type: 'leave_room' });
    await viewer.next('room_left');
    expect(session(p.location)).toBeUndefined();
  });

  it('a ticket is good once: in a password room, the second use is 401', async () => {
    const b = await pool.connect();
    b.send({ type: 'create_room', password: 'pw-123' });
    const created = await b.next('room_created');
    await b.terminate();
    await publish({ roomId: created.room_id, token: created.room_token });
    const viewer = await pool.connect();
    viewer.send({ type: 'join_room', room_id: created.room_id, password: 'pw-123' });
    await viewer.next('room_joined');
    const { ticket } = await viewer.next('use_sfu');
    await play(created.room_id, ticket);
    const again = new TestPlayer();
    peers.push(again);
    expect((await again.view(`${srv.httpUrl}/api/whep/${created.room_id}`, ticket)).status).toBe(401);
  });

  it('DELETE of the publisher: viewers are told broadcaster_left, the room waits its grace period, then closes', async () => {
    const { room, pub } = await whipOnlyRoom();
    const viewer = await pool.connect();
    await joinRoom(viewer, room.roomId);
    const p = await play(room.roomId, (await viewer.next('use_sfu')).ticket);
    expect((await fetch(pub.location, { method: 'DELETE' })).status).toBe(200);
    await viewer.next('broadcaster_left');
    expect(session(p.location)).toBeUndefined();
    const closed = await viewer.next('room_closed', GRACE_MS + 3_000);
    expect(closed.reason).toBe('broadcaster_timeout');
  });

  it('a publisher posting again within the grace period brings the broadcast back: viewers get broadcaster_returned and use_sfu', async () => {
    const { room, pub } = await whipOnlyRoom();
    const viewer = await pool.connect();
    await joinRoom(viewer, room.roomId);
    await viewer.next('use_sfu');
    await fetch(pub.location, { method: 'DELETE' });
    await viewer.next('broadcaster_left');
    await publish(room);
    const returned = await viewer.next('broadcaster_returned');
    expect(returned.broadcaster_id).toMatch(/^whip-/);
    await viewer.next('use_sfu');
  });
});

describe('standard WHEP players', () => {
  it('count in viewer_count, /api/rooms and stats_summary (path sfu); the broadcaster is told they need no offer; DELETE lets them go', async () => {
    const room = await createRoom(await pool.connect());
    await publish(room);
    await room.broadcaster.next('sfu_feed', { where: (m) => m.live });
    const watcher = await pool.connect();
    await joinRoom(watcher, room.roomId, room.broadcaster);
    const p = await play(room.roomId);
    const joined = await room.broadcaster.next('viewer_joined', { where: (m) => m.viewer_id !== watcher.id });
    expect(joined.sfu).toBe(true);
    const summary = await watcher.next('stats_summary', { where: (m) => m.viewer_count === 2 });
    expect(summary.viewer_count).toBe(2);
    expect((await listedRooms(srv.httpUrl)).get(room.roomId)).toBe(2);
    // The server reports the player's own path and rate, once a second.
    await eventually(async () => {
      const s = await watcher.next('stats_summary', 3_000);
      expect(s.paths.sfu).toBe(1);
    });
    expect((await fetch(p.location, { method: 'DELETE' })).status).toBe(200);
    await room.broadcaster.next('viewer_left', { where: (m) => m.viewer_id === joined.viewer_id });
    expect((await listedRooms(srv.httpUrl)).get(room.roomId)).toBe(1);
  });

  it("the room's token plays as its owner's preview (the OBS-mode page): no viewer, no password", async () => {
    const owner = await pool.connect();
    owner.send({ type: 'create_room', password: 'sesame' });
    const created = await owner.next('room_created');
    const room = { roomId: created.room_id, token: created.room_token };
    await publish(room);
    const preview = await play(room.roomId, room.token);
    expect(preview.answer).toContain('m=video');
    // The feed and its preview, and no one counted.
    await eventually(async () => expect(srv.server.rooms.get(room.roomId)!.viewers.size).toBe(0));
    expect((await listedRooms(srv.httpUrl)).get(room.roomId)).toBe(0);
    const stranger = new TestPlayer();
    peers.push(stranger);
    expect((await stranger.view(`${srv.httpUrl}/api/whep/${room.roomId}`, 'not-the-token')).status).toBe(401);
  });

  it('remove_viewer of a player ends its session', async () => {
    const room = await createRoom(await pool.connect());
    await publish(room);
    const p = await play(room.roomId);
    const { viewer_id } = await room.broadcaster.next('viewer_joined', { where: (m) => m.sfu === true });
    room.broadcaster.send({ type: 'remove_viewer', viewer_id });
    await room.broadcaster.next('viewer_left', { where: (m) => m.viewer_id === viewer_id });
    expect(session(p.location)).toBeUndefined();
  });
});

describe('a WebSocket broadcaster with an SFU feed (the page in "stream from OBS" mode)', () => {
  it('is told when the feed goes live and ends; assign_sfu sends a viewer to it; without a feed assign_sfu is not_allowed', async () => {
    const room = await createRoom(await pool.connect());
    const viewer = await pool.connect();
    await joinRoom(viewer, room.roomId, room.broadcaster);
    room.broadcaster.send({ type: 'assign_sfu', viewer_id: viewer.id });
    expect((await room.broadcaster.nextError('not_allowed')).request_type).toBe('assign_sfu');
    const pub = await publish(room);
    expect(await room.broadcaster.next('sfu_feed')).toEqual({ type: 'sfu_feed', room_id: room.roomId, live: true });
    // The page stays the broadcaster: the feed does not answer viewers itself.
    expect(srv.server.rooms.get(room.roomId)!.broadcaster).not.toBeNull();
    room.broadcaster.send({ type: 'assign_sfu', viewer_id: viewer.id });
    const use = await viewer.next('use_sfu');
    await play(room.roomId, use.ticket);
    await fetch(pub.location, { method: 'DELETE' });
    expect(await room.broadcaster.next('sfu_feed')).toEqual({ type: 'sfu_feed', room_id: room.roomId, live: false });
  });

  it('leaving does not close a room whose feed lives: no broadcaster_left, no expiry; the feed stands in and sends viewers to the SFU', async () => {
    const room = await createRoom(await pool.connect());
    const viewer = await pool.connect();
    await joinRoom(viewer, room.roomId, room.broadcaster);
    await publish(room);
    await room.broadcaster.terminate();
    const returned = await viewer.next('broadcaster_returned');
    expect(returned.broadcaster_id).toMatch(/^whip-/);
    await viewer.next('use_sfu');
    await viewer.expectNothing(GRACE_MS + 500, { ignore: ['stats_summary'] });
    expect(srv.server.rooms.get(room.roomId)).toBeDefined();
    // The page reclaims its room: it is the broadcaster again, and hears that the feed is live.
    const page = await pool.connect();
    page.send({ type: 'create_room', room_id: room.roomId, room_token: room.token });
    await page.next('room_created');
    expect(await page.next('sfu_feed')).toMatchObject({ live: true });
    await page.next('viewer_joined', { where: (m) => m.viewer_id === viewer.id });
    expect(srv.server.sfu.isLive(room.roomId)).toBe(true);
  });

  it('end_room ends the feed and every WHEP session of the room', async () => {
    const room = await createRoom(await pool.connect());
    const pub = await publish(room);
    const p = await play(room.roomId);
    room.broadcaster.send({ type: 'end_room' });
    await room.broadcaster.next('room_closed');
    expect(srv.server.sfu.isLive(room.roomId)).toBe(false);
    expect(session(pub.location)).toBeUndefined();
    expect(session(p.location)).toBeUndefined();
  });
});
