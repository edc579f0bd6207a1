// Every server-side peer connection ends: the SFU's sessions that never
// connect, that are abandoned, whose publisher is gone, or whose room closed
// are freed with their tracks and timers, and the /metrics gauge of live peer
// connections returns to zero after each test. Short timeouts, so the waits
// are short; what is asserted is that it happens, never how fast.
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { defaultConfig } from '../../src/server/config.js';
import { ClientPool, createRoom, eventually, joinRoom } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { metric, postOffer, TestPlayer, TestPublisher } from '../helpers/sfu-peers.js';

let srv: RunningServer;
const pool = new ClientPool(() => srv.wsUrl);
const peers: { close(): void }[] = [];
const gauge = () => metric(srv.httpUrl, 'liveroom_sfu_peer_connections');
const FREED_WITHIN_MS = 8_000;

beforeAll(async () => {
  const { sfu } = defaultConfig();
  srv = await startServer({ roomGraceMs: 500, sfu: { ...sfu, connectTimeoutMs: 1_500, idleMs: 1_500, publisherGraceMs: 800 } });
});
afterEach(async () => {
  peers.splice(0).forEach((p) => p.close());
  expect(await pool.closeAll()).toEqual([]);
  await eventually(async () => expect(await gauge()).toBe(0), FREED_WITHIN_MS);
});
afterAll(() => srv.close());

function track<T extends { close(): void }>(peer: T): T {
  peers.push(peer);
  return peer;
}

it('a session whose ICE never connects (the client took the answer and went) is freed', async () => {
  const room = await createRoom(await pool.connect());
  const pub = track(new TestPublisher());
  const res = await postOffer(`${srv.httpUrl}/api/whip/${room.roomId}`, await pub.offer(), room.token);
  expect(res.status).toBe(201);
  pub.close();
  expect(await gauge()).toBe(1);
  await eventually(async () => expect(await gauge()).toBe(0), FREED_WITHIN_MS);
  // The feed waits a moment for the publisher to come back, then ends.
  await eventually(async () => expect(srv.server.sfu.isLive(room.roomId)).toBe(false), FREED_WITHIN_MS);
});

it('a player that vanishes after connecting is freed when nothing more comes from it, and leaves the room', async () => {
  const room = await createRoom(await pool.connect());
  const pub = track(new TestPublisher());
  expect((await pub.publish(`${srv.httpUrl}/api/whip/${room.roomId}`, room.token)).status).toBe(201);
  pub.startAudio();
  const player = track(new TestPlayer());
  expect((await player.view(`${srv.httpUrl}/api/whep/${room.roomId}`)).status).toBe(201);
  const { viewer_id } = await room.broadcaster.next('viewer_joined', { where: (m) => m.sfu === true });
  expect(await gauge()).toBe(2);
  player.close();
  await room.broadcaster.next('viewer_left', { where: (m) => m.viewer_id === viewer_id, timeoutMs: FREED_WITHIN_MS });
  expect(await gauge()).toBe(1);
});

it('a publisher that vanishes is waited for, then its players are let go and the room is told', async () => {
  const room = await createRoom(await pool.connect());
  await room.broadcaster.terminate();
  const pub = track(new TestPublisher());
  expect((await pub.publish(`${srv.httpUrl}/api/whip/${room.roomId}`, room.token)).status).toBe(201);
  const viewer = await pool.connect();
  await joinRoom(viewer, room.roomId);
  const player = track(new TestPlayer());
  expect((await player.view(`${srv.httpUrl}/api/whep/${room.roomId}`, (await viewer.next('use_sfu')).ticket)).status).toBe(201);
  pub.close();
  await viewer.next('broadcaster_left', FREED_WITHIN_MS);
  expect(srv.server.sfu.isLive(room.roomId)).toBe(false);
});

it('a room that closes takes its sessions with it', async () => {
  const room = await createRoom(await pool.connect());
  const pub = track(new TestPublisher());
  expect((await pub.publish(`${srv.httpUrl}/api/whip/${room.roomId}`, room.token)).status).toBe(201);
  const players = [track(new TestPlayer()), track(new TestPlayer())];
  for (const p of players) expect((await p.view(`${srv.httpUrl}/api/whep/${room.roomId}`)).status).toBe(201);
  expect(await gauge()).toBe(3);
  room.broadcaster.send({ type: 'end_room' });
  await room.broadcaster.next('room_closed');
  expect(await gauge()).toBe(0);
});

it('sending to players whose connections are closing never throws out of the fan-out', async () => {
  const room = await createRoom(await pool.connect());
  const pub = track(new TestPublisher());
  expect((await pub.publish(`${srv.httpUrl}/api/whip/${room.roomId}`, room.token)).status).toBe(201);
  const players = Array.from({ length: 4 }, () => track(new TestPlayer()));
  for (const p of players) expect((await p.view(`${srv.httpUrl}/api/whep/${room.roomId}`)).status).toBe(201);
  pub.sendFrame(true);
  // Players go while video flows; the server deletes two and loses the others.
  for (const [i, p] of players.entries()) {
    if (i % 2) await fetch(p.location, { method: 'DELETE' });
    else p.close();
    pub.sendFrame(i === 1);
    pub.sendAudio();
  }
  pub.sendFrame(true);
  // The server still serves: a new player gets video.
  const late = track(new TestPlayer());
  expect((await late.view(`${srv.httpUrl}/api/whep/${room.roomId}`)).status).toBe(201);
  await eventually(async () => {
    pub.sendFrame(true, 300);
    await new Promise((r) => setTimeout(r, 30));
    expect(late.videoPackets.length).toBeGreaterThan(0);
  });
  await fetch(pub.location, { method: 'DELETE' });
});
