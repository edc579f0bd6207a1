// Room passwords, private rooms and removing a viewer, on a real server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool, createRoom, joinRoom, listedRooms } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let srv: RunningServer;
const pool = new ClientPool(() => srv.wsUrl);
beforeAll(async () => {
  srv = await startServer({ statsIntervalMs: 600_000 });
});
afterAll(async () => {
  await srv.close();
});
afterEach(async () => {
  expect(await pool.closeAll()).toEqual([]);
});

describe('room password', () => {
  it('no password -> password_required, wrong -> wrong_password, right -> room_joined', async () => {
    const [b, v] = await pool.connectMany(2);
    b!.send({ type: 'create_room', password: 'sesame 芝麻' });
    const { room_id } = await b!.next('room_created');
    // Only a slow hash is kept, never the password itself.
    const room = srv.server.rooms.get(room_id)!;
    expect(room.password?.hash.length).toBe(32);
    expect(JSON.stringify(room.password)).not.toContain('sesame');

    v!.send({ type: 'join_room', room_id });
    expect((await v!.nextError('password_required')).request_type).toBe('join_room');
    v!.send({ type: 'join_room', room_id, password: 'sesame' });
    await v!.nextError('wrong_password');
    v!.send({ type: 'join_room', room_id, password: 'sesame 芝麻' });
    expect((await v!.next('room_joined')).room_id).toBe(room_id);
    await b!.next('viewer_joined', { where: (m) => m.viewer_id === v!.id });
  });

  it('a second join while the first password is checked is refused, and only one lands', async () => {
    const [b, v] = await pool.connectMany(2);
    b!.send({ type: 'create_room', password: 'p' });
    const { room_id } = await b!.next('room_created');
    v!.send({ type: 'join_room', room_id, password: 'p' });
    v!.send({ type: 'join_room', room_id, password: 'p' });
    await v!.nextError('not_allowed');
    await v!.next('room_joined');
    expect(srv.server.rooms.get(room_id)!.viewers.size).toBe(1);
  });

  it('a room reclaimed after the server forgot it comes back with the password the broadcaster sends again', async () => {
    const [b] = await pool.connectMany(1);
    b!.send({ type: 'create_room', password: 'again', private: true });
    const { room_id, room_token } = await b!.next('room_created');
    // Forget the room as a restart would (the token stays valid: same secret).
    srv.server.rooms.close(srv.server.rooms.get(room_id)!, 'broadcaster_timeout');
    const b2 = await pool.connect();
    b2.send({ type: 'create_room', room_id, room_token, password: 'again', private: true });
    await b2.next('room_created');
    expect((await listedRooms(srv.httpUrl)).has(room_id)).toBe(false);
    const v = await pool.connect();
    v.send({ type: 'join_room', room_id });
    await v.nextError('password_required');
  });
});

describe('private rooms', () => {
  it('/api/rooms does not list a private room; its code still works', async () => {
    const [b, open, v] = await pool.connectMany(3);
    b!.send({ type: 'create_room', private: true });
    const { room_id } = await b!.next('room_created');
    const { roomId: openId } = await createRoom(open!);
    const listed = await listedRooms(srv.httpUrl);
    expect(listed.has(room_id)).toBe(false);
    expect(listed.has(openId)).toBe(true);
    await joinRoom(v!, room_id, b!);
  });
});

describe('remove_viewer', () => {
  it('the viewer is told `removed` and is out; the broadcaster gets viewer_left and an exact count', async () => {
    const [b, v1, v2] = await pool.connectMany(3);
    const { roomId } = await createRoom(b!);
    await joinRoom(v1!, roomId, b!);
    await joinRoom(v2!, roomId, b!);
    b!.send({ type: 'remove_viewer', viewer_id: v1!.id });
    expect(await v1!.next('removed')).toEqual({ type: 'removed', room_id: roomId, reason: 'removed_by_broadcaster' });
    await b!.next('viewer_left', { where: (m) => m.viewer_id === v1!.id });
    await b!.next('stats_summary', { where: (s) => s.viewer_count === 1 });
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(1);
    // The removed viewer can no longer signal to the broadcaster.
    v1!.send({ type: 'offer', target_id: b!.id, sdp: { type: 'offer', sdp: 'v=0\r\n' } });
    await v1!.nextError('not_in_room');
    await v2!.roundTrip();
  });

  it('only the broadcaster may remove, and only its own viewers', async () => {
    const [b, v, otherB, otherV, lone] = await pool.connectMany(5);
    const { roomId } = await createRoom(b!);
    const other = await createRoom(otherB!);
    await joinRoom(v!, roomId, b!);
    await joinRoom(otherV!, other.roomId, otherB!);
    v!.send({ type: 'remove_viewer', viewer_id: v!.id });
    await v!.nextError('not_allowed');
    b!.send({ type: 'remove_viewer', viewer_id: otherV!.id });
    await b!.nextError('not_allowed');
    lone!.send({ type: 'remove_viewer', viewer_id: v!.id });
    await lone!.nextError('not_in_room');
    expect(srv.server.rooms.get(other.roomId)!.viewers.size).toBe(1);
    expect(srv.server.rooms.get(roomId)!.viewers.size).toBe(1);
  });
});
