// A real server and real WebSocket clients: the room life cycle, forwarded
// signalling, relay requests and stats, message by message as in PROTOCOL.md.
// The periodic stats ticker is slowed down here so that every stats_summary a
// test sees was caused by the event under test; the periodic ones have their own file.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool, createRoom, freeRoomId, joinRoom, listedRooms, type TestClient } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let srv: RunningServer;
let pool: ClientPool;

beforeAll(async () => {
  srv = await startServer({ statsIntervalMs: 600_000 });
  pool = new ClientPool(() => srv.wsUrl);
});
afterEach(async () => {
  expect(await pool.closeAll()).toEqual([]);
});
afterAll(async () => {
  await srv.close();
});

const SILENCE_MS = 150;
const offerSdp = { type: 'offer', sdp: 'v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
const answerSdp = { type: 'answer', sdp: 'v=0\r\no=- 99 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
const candidate = { candidate: 'candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0', sdpMid: '0', sdpMLineIndex: 0 };

/** A room with a broadcaster and `n` viewers, all join notifications consumed. */
async function roomWith(n: number) {
  const broadcaster = await pool.connect();
  const { roomId, token } = await createRoom(broadcaster);
  const viewers: TestClient[] = [];
  for (let i = 0; i < n; i++) {
    const v = await pool.connect();
    await joinRoom(v, roomId, broadcaster);
    viewers.push(v);
  }
  // Each join sent a summary to everyone; wait until every client has the last one.
  if (n > 0) {
    await Promise.all([broadcaster, ...viewers].map((c) => c.next('stats_summary', { where: (s) => s.viewer_count === n })));
  }
  return { broadcaster, viewers, roomId, token };
}

describe('connection', () => {
  it('welcome is the first frame, with a client_id and the ice_servers', async () => {
    const c = await pool.connect(); // connect() fails unless the first frame is welcome
    expect(c.welcome.type).toBe('welcome');
    expect(typeof c.welcome.client_id).toBe('string');
    expect(c.welcome.client_id.length).toBeGreaterThan(0);
    expect(c.welcome.ice_servers).toEqual([]); // the test server has no STUN or TURN
    expect(Object.keys(c.welcome).sort()).toEqual(['client_id', 'ice_servers', 'ice_timeouts', 'type']);
    // The connection ladder's timeouts (ICE_DIRECT_TIMEOUT, ICE_TURN_TIMEOUT), in ms.
    expect(c.welcome.ice_timeouts).toEqual({ direct_ms: 5000, turn_ms: 8000 });
  });

  it('client ids are unique per connection', async () => {
    const clients = await pool.connectMany(20);
    expect(new Set(clients.map((c) => c.id)).size).toBe(20);
  });

  it('ping -> pong, repeatedly', async () => {
    const c = await pool.connect();
    for (let i = 0; i < 3; i++) {
      c.send({ type: 'ping' });
      expect(await c.next('pong')).toEqual({ type: 'pong' });
    }
    await c.expectNothing(SILENCE_MS);
  });
});

describe('create and join', () => {
  it('create_room -> room_created with a six-digit room_id and a room_token', async () => {
    const b = await pool.connect();
    b.send({ type: 'create_room' });
    const created = await b.next('room_created');
    expect(created.room_id).toMatch(/^\d{6}$/);
    expect(typeof created.room_token).toBe('string');
    expect(created.room_token.length).toBeGreaterThan(0);
    expect((await listedRooms(srv.httpUrl)).get(created.room_id)).toBe(0);
    await b.expectNothing(SILENCE_MS);
  });

  it('join_room -> room_joined; the broadcaster gets viewer_joined; everyone gets stats_summary at once', async () => {
    const b = await pool.connect();
    const { roomId } = await createRoom(b);
    const v1 = await pool.connect();
    v1.send({ type: 'join_room', room_id: roomId });
    expect(await v1.next('room_joined')).toEqual({ type: 'room_joined', room_id: roomId, broadcaster_id: b.id });
    expect(await b.next('viewer_joined')).toEqual({ type: 'viewer_joined', viewer_id: v1.id });
    for (const c of [b, v1]) {
      const s = await c.next('stats_summary');
      expect(s).toMatchObject({ room_id: roomId, viewer_count: 1, broadcaster_present: true });
    }

    const v2 = await pool.connect();
    v2.send({ type: 'join_room', room_id: roomId });
    expect(await v2.next('room_joined')).toMatchObject({ broadcaster_id: b.id });
    expect(await b.next('viewer_joined')).toEqual({ type: 'viewer_joined', viewer_id: v2.id });
    for (const c of [b, v1, v2]) expect((await c.next('stats_summary')).viewer_count).toBe(2);
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(2);

    // The other viewer is not told about joins (only the broadcaster is).
    await v1.expectNothing(SILENCE_MS);
  });

  it('join_room of an unknown room -> room_not_found', async () => {
    const c = await pool.connect();
    c.send({ type: 'join_room', room_id: freeRoomId(srv.server.rooms) });
    const err = await c.nextError('room_not_found');
    expect(err.request_type).toBe('join_room');
    await c.roundTrip();
  });

  it('a retried create_room with its own room_id and room_token is answered again', async () => {
    const { broadcaster: b, roomId, token, viewers } = await roomWith(1);
    b.send({ type: 'create_room', room_id: roomId, room_token: token });
    expect(await b.next('room_created')).toEqual({ type: 'room_created', room_id: roomId, room_token: token });
    await viewers[0]!.expectNothing(SILENCE_MS);
  });
});

describe('codecs a viewer decodes', () => {
  it('join_room codecs reach the broadcaster in viewer_joined, now and after a reclaim', async () => {
    const b = await pool.connect();
    const { roomId, token } = await createRoom(b);
    const v = await pool.connect();
    v.send({ type: 'join_room', room_id: roomId, codecs: ['VP8', 'H264'] });
    await v.next('room_joined');
    expect(await b.next('viewer_joined')).toEqual({ type: 'viewer_joined', viewer_id: v.id, codecs: ['VP8', 'H264'] });

    await b.terminate();
    await v.next('broadcaster_left');
    const b2 = await pool.connect();
    b2.send({ type: 'create_room', room_id: roomId, room_token: token });
    await b2.next('room_created');
    expect(await b2.next('viewer_joined')).toEqual({ type: 'viewer_joined', viewer_id: v.id, codecs: ['VP8', 'H264'] });
  });

  it('an unknown codec name or too long a list -> bad_message, and the client is not in the room', async () => {
    const b = await pool.connect();
    const { roomId } = await createRoom(b);
    const v = await pool.connect();
    v.send({ type: 'join_room', room_id: roomId, codecs: ['THEORA'] });
    await v.nextError('bad_message');
    v.send({ type: 'join_room', room_id: roomId, codecs: Array(9).fill('VP8') });
    await v.nextError('bad_message');
    await b.expectNothing(SILENCE_MS);
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(0);
  });
});

describe('leaving', () => {
  it('leave_room by a viewer: viewer_left to the broadcaster and the count drops everywhere', async () => {
    const { broadcaster: b, viewers, roomId } = await roomWith(2);
    const [v1, v2] = viewers as [TestClient, TestClient];
    v1.send({ type: 'leave_room' });
    expect(await b.next('viewer_left')).toEqual({ type: 'viewer_left', viewer_id: v1.id });
    expect((await b.next('stats_summary')).viewer_count).toBe(1);
    expect((await v2.next('stats_summary')).viewer_count).toBe(1);
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(1);
    // The viewer that left is out of the room: leaving again is not_in_room.
    v1.send({ type: 'leave_room' });
    await v1.nextError('not_in_room');
    // And it no longer gets the room's messages.
    b.send({ type: 'offer', target_id: v2.id, sdp: offerSdp });
    await v2.next('offer');
    await v1.expectNothing(SILENCE_MS, { ignore: ['room_left'] });
  });

  it('a viewer whose connection dies: viewer_left and the count drops', async () => {
    const { broadcaster: b, viewers, roomId } = await roomWith(2);
    await viewers[0]!.terminate();
    expect(await b.next('viewer_left')).toEqual({ type: 'viewer_left', viewer_id: viewers[0]!.id });
    expect((await viewers[1]!.next('stats_summary')).viewer_count).toBe(1);
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(1);
  });

  it('a viewer may join another room after leaving', async () => {
    const r1 = await roomWith(1);
    const r2 = await roomWith(0);
    const v = r1.viewers[0]!;
    v.send({ type: 'leave_room' });
    await r1.broadcaster.next('viewer_left');
    const joined = await joinRoom(v, r2.roomId, r2.broadcaster);
    expect(joined.broadcaster_id).toBe(r2.broadcaster.id);
    const counts = await listedRooms(srv.httpUrl);
    expect(counts.get(r1.roomId)).toBe(0);
    expect(counts.get(r2.roomId)).toBe(1);
  });

  it('leave_room by the broadcaster: viewers get broadcaster_left and the room waits', async () => {
    const { broadcaster: b, viewers, roomId } = await roomWith(2);
    b.send({ type: 'leave_room' });
    for (const v of viewers) expect(await v.next('broadcaster_left')).toEqual({ type: 'broadcaster_left', room_id: roomId });
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(2);
  });
});

describe('ending', () => {
  it('end_room: room_closed to every viewer, and the room is gone', async () => {
    const { broadcaster: b, viewers, roomId } = await roomWith(2);
    b.send({ type: 'end_room' });
    for (const v of viewers) {
      const closed = await v.next('room_closed');
      expect(closed.room_id).toBe(roomId);
      expect(typeof closed.reason).toBe('string');
    }
    expect((await listedRooms(srv.httpUrl)).has(roomId)).toBe(false);
    // Nobody is in a room any more, and the id is free.
    for (const c of [b, ...viewers]) {
      c.send({ type: 'leave_room' });
      await c.nextError('not_in_room');
    }
    const late = await pool.connect();
    late.send({ type: 'join_room', room_id: roomId });
    await late.nextError('room_not_found');
  });

  it('end_room by a viewer -> not_allowed, and the room carries on', async () => {
    const { broadcaster: b, viewers, roomId } = await roomWith(2);
    viewers[0]!.send({ type: 'end_room' });
    const err = await viewers[0]!.nextError('not_allowed');
    expect(err.request_type).toBe('end_room');
    await viewers[0]!.roundTrip();
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(2);
    await viewers[1]!.expectNothing(SILENCE_MS);
    await b.expectNothing(0);
  });

  it('the broadcaster can create a new room after ending one', async () => {
    const { broadcaster: b, roomId } = await roomWith(0);
    b.send({ type: 'end_room' });
    await b.roundTrip();
    const again = await createRoom(b);
    expect(again.roomId).toMatch(/^\d{6}$/);
    const counts = await listedRooms(srv.httpUrl);
    expect(counts.has(again.roomId)).toBe(true);
    expect(counts.has(roomId)).toBe(again.roomId === roomId);
  });
});

describe('forwarded signalling', () => {
  it('offer, answer and ice_candidate: from_id added, target_id removed, every other field kept', async () => {
    const { broadcaster: b, viewers } = await roomWith(1);
    const v = viewers[0]!;

    const offer = { type: 'offer', target_id: v.id, sdp: { ...offerSdp, x_sdp_extra: 1 }, restart: false, session: { id: 7, tags: ['a'] }, note: null };
    b.send(offer);
    const { target_id: _t1, ...offerRest } = offer;
    expect(await v.next('offer')).toEqual({ ...offerRest, from_id: b.id });

    const answer = { type: 'answer', target_id: b.id, sdp: answerSdp, negotiation: 3, room_id: 'lobby' };
    v.send(answer);
    const { target_id: _t2, ...answerRest } = answer;
    expect(await b.next('answer')).toEqual({ ...answerRest, from_id: v.id });

    const fromBroadcaster = { type: 'ice_candidate', target_id: v.id, candidate: { ...candidate, usernameFragment: 'abcd', extra: true }, gen: 0 };
    b.send(fromBroadcaster);
    const { target_id: _t3, ...candRest } = fromBroadcaster;
    expect(await v.next('ice_candidate')).toEqual({ ...candRest, from_id: b.id });

    const fromViewer = { type: 'ice_candidate', target_id: b.id, candidate: { candidate: '', sdpMid: null, sdpMLineIndex: null } };
    v.send(fromViewer);
    expect(await b.next('ice_candidate')).toEqual({ type: 'ice_candidate', candidate: fromViewer.candidate, from_id: v.id });

    // Senders get no echo or acknowledgement.
    await b.expectNothing(SILENCE_MS);
    await v.expectNothing(0);
  });

  it('a from_id sent by the client is replaced by its real id', async () => {
    const { broadcaster: b, viewers } = await roomWith(1);
    viewers[0]!.send({ type: 'answer', target_id: b.id, from_id: 'someone-else', sdp: answerSdp });
    expect((await b.next('answer')).from_id).toBe(viewers[0]!.id);
  });

  it('signalling only reaches its target', async () => {
    const { broadcaster: b, viewers } = await roomWith(3);
    b.send({ type: 'offer', target_id: viewers[1]!.id, sdp: offerSdp });
    expect((await viewers[1]!.next('offer')).from_id).toBe(b.id);
    await viewers[0]!.expectNothing(SILENCE_MS);
    await viewers[2]!.expectNothing(0);
  });

  it('viewer to viewer -> not_allowed, reaching nobody', async () => {
    const { broadcaster: b, viewers } = await roomWith(2);
    const [v1, v2] = viewers as [TestClient, TestClient];
    for (const m of [
      { type: 'offer', target_id: v2.id, sdp: offerSdp },
      { type: 'answer', target_id: v2.id, sdp: answerSdp },
      { type: 'ice_candidate', target_id: v2.id, candidate },
    ]) {
      v1.send(m);
      const err = await v1.nextError('not_allowed');
      expect(err.request_type).toBe(m.type);
    }
    await v1.roundTrip();
    await v2.expectNothing(SILENCE_MS);
    await b.expectNothing(0);
  });

  it('to a client of another room -> not_allowed, reaching nobody (both directions)', async () => {
    const r1 = await roomWith(1);
    const r2 = await roomWith(1);
    const cases: [TestClient, string][] = [
      [r1.broadcaster, r2.viewers[0]!.id], // broadcaster -> viewer of another room
      [r1.broadcaster, r2.broadcaster.id], // broadcaster -> another broadcaster
      [r1.viewers[0]!, r2.broadcaster.id], // viewer -> broadcaster of another room
      [r1.viewers[0]!, r2.viewers[0]!.id], // viewer -> viewer of another room
    ];
    for (const [sender, target] of cases) {
      sender.send({ type: 'offer', target_id: target, sdp: offerSdp });
      await sender.nextError('not_allowed');
      sender.send({ type: 'ice_candidate', target_id: target, candidate });
      await sender.nextError('not_allowed');
    }
    for (const c of [r2.broadcaster, r2.viewers[0]!, r1.broadcaster, r1.viewers[0]!]) await c.expectNothing(c === r2.broadcaster ? SILENCE_MS : 0);
  });

  it('to oneself or an unknown id -> not_allowed', async () => {
    const { broadcaster: b, viewers } = await roomWith(1);
    b.send({ type: 'offer', target_id: b.id, sdp: offerSdp });
    await b.nextError('not_allowed');
    b.send({ type: 'offer', target_id: 'no-such-client', sdp: offerSdp });
    await b.nextError('not_allowed');
    viewers[0]!.send({ type: 'answer', target_id: viewers[0]!.id, sdp: answerSdp });
    await viewers[0]!.nextError('not_allowed');
    await b.expectNothing(SILENCE_MS);
  });

  it('outside any room -> not_in_room, reaching nobody', async () => {
    const { broadcaster: b } = await roomWith(0);
    const outsider = await pool.connect();
    for (const m of [
      { type: 'offer', target_id: b.id, sdp: offerSdp },
      { type: 'answer', target_id: b.id, sdp: answerSdp },
      { type: 'ice_candidate', target_id: b.id, candidate },
    ]) {
      outsider.send(m);
      expect((await outsider.nextError('not_in_room')).request_type).toBe(m.type);
    }
    await outsider.roundTrip();
    await b.expectNothing(SILENCE_MS);
  });
});

describe('one room per client', () => {
  it('a second create_room while broadcasting -> not_allowed', async () => {
    const { broadcaster: b, roomId, viewers } = await roomWith(1);
    b.send({ type: 'create_room' });
    expect((await b.nextError('not_allowed')).request_type).toBe('create_room');
    await b.roundTrip();
    const counts = await listedRooms(srv.httpUrl);
    expect(counts.get(roomId)).toBe(1);
    // Still the broadcaster of the same room.
    b.send({ type: 'offer', target_id: viewers[0]!.id, sdp: offerSdp });
    await viewers[0]!.next('offer');
  });

  it('join_room while in a room -> not_allowed (viewer and broadcaster)', async () => {
    const r1 = await roomWith(1);
    const r2 = await roomWith(0);
    const v = r1.viewers[0]!;
    v.send({ type: 'join_room', room_id: r2.roomId });
    expect((await v.nextError('not_allowed')).request_type).toBe('join_room');
    v.send({ type: 'join_room', room_id: r1.roomId });
    await v.nextError('not_allowed');
    r1.broadcaster.send({ type: 'join_room', room_id: r1.roomId });
    await r1.broadcaster.nextError('not_allowed');
    r1.broadcaster.send({ type: 'join_room', room_id: r2.roomId });
    await r1.broadcaster.nextError('not_allowed');
    await r2.broadcaster.expectNothing(SILENCE_MS);
    const counts = await listedRooms(srv.httpUrl);
    expect(counts.get(r1.roomId)).toBe(1);
    expect(counts.get(r2.roomId)).toBe(0);
  });

  it('create_room while a viewer -> not_allowed', async () => {
    const { viewers, roomId } = await roomWith(1);
    const before = srv.server.rooms.size;
    viewers[0]!.send({ type: 'create_room' });
    await viewers[0]!.nextError('not_allowed');
    expect(srv.server.rooms.size).toBe(before);
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(1);
  });
});

describe('relay', () => {
  it('request_relay -> relay_requested to the broadcaster, relay_ready to the viewer', async () => {
    const { broadcaster: b, viewers, roomId } = await roomWith(2);
    viewers[0]!.send({ type: 'request_relay', room_id: roomId });
    expect(await b.next('relay_requested')).toEqual({ type: 'relay_requested', viewer_id: viewers[0]!.id });
    expect(await viewers[0]!.next('relay_ready')).toEqual({ type: 'relay_ready', room_id: roomId, ticket: expect.stringMatching(/^[\w-]{20,}$/) });
    await viewers[1]!.expectNothing(SILENCE_MS);
  });

  it('assign_relay: the broadcaster moves a viewer, which is told use_relay; nobody else may', async () => {
    const { broadcaster: b, viewers, roomId } = await roomWith(2);
    b.send({ type: 'assign_relay', viewer_id: viewers[0]!.id });
    expect(await viewers[0]!.next('use_relay')).toEqual({ type: 'use_relay', room_id: roomId });
    await viewers[1]!.expectNothing(SILENCE_MS, { ignore: ['stats_summary'] });
    viewers[1]!.send({ type: 'assign_relay', viewer_id: viewers[0]!.id });
    await viewers[1]!.nextError('not_allowed');
    b.send({ type: 'assign_relay', viewer_id: 'not-a-viewer' });
    await b.nextError('not_allowed');
    const outsider = await pool.connect();
    outsider.send({ type: 'assign_relay', viewer_id: viewers[0]!.id });
    await outsider.nextError('not_in_room');
    await viewers[0]!.expectNothing(SILENCE_MS, { ignore: ['stats_summary'] });
  });

  it('relay_unavailable: the broadcaster that cannot publish to the relay tells the viewer; nobody else may', async () => {
    const { broadcaster: b, viewers, roomId } = await roomWith(2);
    b.send({ type: 'relay_unavailable', viewer_id: viewers[0]!.id });
    expect(await viewers[0]!.next('relay_unavailable')).toEqual({ type: 'relay_unavailable', room_id: roomId });
    await viewers[1]!.expectNothing(SILENCE_MS, { ignore: ['stats_summary'] });
    viewers[1]!.send({ type: 'relay_unavailable', viewer_id: viewers[0]!.id });
    await viewers[1]!.nextError('not_allowed');
    b.send({ type: 'relay_unavailable', viewer_id: 'not-a-viewer' });
    await b.nextError('not_allowed');
    const outsider = await pool.connect();
    outsider.send({ type: 'relay_unavailable', viewer_id: viewers[0]!.id });
    await outsider.nextError('not_in_room');
  });

  it('ice_restart (the connection ladder) goes from a viewer to its broadcaster like offer, with from_id', async () => {
    const { broadcaster: b, viewers } = await roomWith(2);
    viewers[0]!.send({ type: 'ice_restart', target_id: b.id, ice_transport_policy: 'relay' });
    expect(await b.next('ice_restart')).toEqual({ type: 'ice_restart', from_id: viewers[0]!.id, ice_transport_policy: 'relay' });
    await viewers[1]!.expectNothing(SILENCE_MS);
    viewers[0]!.send({ type: 'ice_restart', target_id: viewers[1]!.id, ice_transport_policy: 'relay' });
    expect((await viewers[0]!.next('error')).code).toBe('not_allowed');
    viewers[0]!.send({ type: 'ice_restart', target_id: b.id, ice_transport_policy: 'tcp-only' });
    expect((await viewers[0]!.next('error')).code).toBe('bad_message');
  });

  it('quality_level goes from the broadcaster to one viewer with from_id; viewers may not send it', async () => {
    const { broadcaster: b, viewers } = await roomWith(2);
    b.send({ type: 'quality_level', target_id: viewers[0]!.id, level: 3, levels: 6, height: 360, max_bitrate: 600, reason: 'loss', extra: 1 });
    expect(await viewers[0]!.next('quality_level')).toEqual({
      type: 'quality_level',
      from_id: b.id,
      level: 3,
      levels: 6,
      height: 360,
      max_bitrate: 600,
      reason: 'loss',
    });
    await viewers[1]!.expectNothing(SILENCE_MS, { ignore: ['stats_summary'] });
    viewers[0]!.send({ type: 'quality_level', target_id: b.id, level: 0, levels: 6, height: 720, max_bitrate: 2500 });
    expect((await viewers[0]!.next('error')).code).toBe('not_allowed');
    viewers[0]!.send({ type: 'quality_level', target_id: viewers[1]!.id, level: 0, levels: 6, height: 720, max_bitrate: 2500 });
    expect((await viewers[0]!.next('error')).code).toBe('not_allowed');
    b.send({ type: 'quality_level', target_id: 'not-a-viewer', level: 0, levels: 6, height: 720, max_bitrate: 2500 });
    expect((await b.next('error')).code).toBe('not_allowed');
    b.send({ type: 'quality_level', target_id: viewers[0]!.id, level: 99, levels: 6, height: 720, max_bitrate: 2500 });
    expect((await b.next('error')).code).toBe('bad_message');
    const outsider = await pool.connect();
    outsider.send({ type: 'quality_level', target_id: viewers[0]!.id, level: 0, levels: 6, height: 720, max_bitrate: 2500 });
    await outsider.nextError('not_in_room');
    await viewers[1]!.expectNothing(SILENCE_MS, { ignore: ['stats_summary'] });
  });

  it('request_relay errors', async () => {
    const r1 = await roomWith(1);
    const r2 = await roomWith(0);
    const outsider = await pool.connect();
    const cases: [TestClient, string, string][] = [
      [r1.broadcaster, r1.roomId, 'not_allowed'], // the broadcaster asking for its own stream
      [outsider, r1.roomId, 'not_in_room'], // a live room it has not joined
      [outsider, freeRoomId(srv.server.rooms), 'room_not_found'],
      [r1.viewers[0]!, r2.roomId, 'not_in_room'], // a room other than its own
      [outsider, '12345', 'invalid_room_id'],
      [outsider, 'abcdef', 'invalid_room_id'],
    ];
    for (const [sender, roomId, code] of cases) {
      sender.send({ type: 'request_relay', room_id: roomId });
      const err = await sender.next('error');
      expect(err.code, `${roomId}`).toBe(code);
      expect(err.request_type).toBe('request_relay');
      await sender.roundTrip();
    }
    await r1.broadcaster.expectNothing(SILENCE_MS);
    await r2.broadcaster.expectNothing(0);
  });
});

describe('stats', () => {
  it('stats_report is folded into stats_summary (current_bitrate, paths, rtt, loss)', async () => {
    const { broadcaster: b, viewers, roomId } = await roomWith(2);
    const [v1, v2] = viewers as [TestClient, TestClient];
    b.send({ type: 'stats_report', bitrate: 1500, upload_bitrate: 3000, fps: 30, width: 1280, height: 720 });
    v1.send({ type: 'stats_report', bitrate: 1400, connection_type: 'p2p', rtt: 40, loss: 1, codec: 'AV1', latency: 45 });
    v2.send({ type: 'stats_report', bitrate: 1300, connection_type: 'relay', rtt: 80, loss: 3, relay_protocol: 'tcp', codec: 'VP8', latency: 90 });
    // Reports alone send nothing back.
    await b.roundTrip();
    await v1.roundTrip();
    await v2.roundTrip();
    await b.expectNothing(SILENCE_MS);
    // A count change sends a summary at once; it carries the reports.
    const v3 = await pool.connect();
    await joinRoom(v3, roomId, b);
    for (const c of [b, v1, v2, v3]) {
      const s = await c.next('stats_summary');
      expect(s).toEqual({
        type: 'stats_summary',
        room_id: roomId,
        viewer_count: 3,
        current_bitrate: 1500,
        upload_bitrate: 3000,
        broadcaster_present: true,
        paths: { p2p: 1, turn: 0, relay: 1, sfu: 0, unknown: 1 },
        rtt_median: 60,
        rtt_worst: 80,
        loss_median: 2,
        loss_worst: 3,
        latency_median: 68,
        codecs: { AV1: 1, VP8: 1 },
      });
    }
  });

  it("without a broadcaster report, current_bitrate is the viewers' median", async () => {
    const { broadcaster: b, viewers } = await roomWith(3);
    viewers[0]!.send({ type: 'stats_report', bitrate: 900, connection_type: 'turn' });
    viewers[1]!.send({ type: 'stats_report', bitrate: 1100, connection_type: 'turn' });
    await viewers[0]!.roundTrip();
    await viewers[1]!.roundTrip();
    viewers[2]!.send({ type: 'leave_room' });
    const s = await b.next('stats_summary');
    expect(s.viewer_count).toBe(2);
    expect(s.current_bitrate).toBe(1000);
    expect(s.paths).toEqual({ p2p: 0, turn: 2, relay: 0, sfu: 0, unknown: 0 });
  });

  it('stats_report outside a room -> not_in_room', async () => {
    const c = await pool.connect();
    c.send({ type: 'stats_report', bitrate: 5 });
    expect((await c.nextError('not_in_room')).request_type).toBe('stats_report');
    await c.roundTrip();
  });
});

describe('the broadcaster leaving and coming back', () => {
  it('disconnect -> broadcaster_left; reclaim -> broadcaster_returned and viewer_joined for each viewer', async () => {
    const { broadcaster: b, viewers, roomId, token } = await roomWith(2);
    await b.terminate();
    for (const v of viewers) expect(await v.next('broadcaster_left')).toEqual({ type: 'broadcaster_left', room_id: roomId });
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(2);

    // A viewer joining meanwhile is told the broadcaster is away.
    const late = await pool.connect();
    late.send({ type: 'join_room', room_id: roomId });
    expect((await late.next('room_joined')).broadcaster_id).toBe(b.id);
    await late.next('broadcaster_left');
    const present = [...viewers, late];

    const b2 = await pool.connect();
    b2.send({ type: 'create_room', room_id: roomId, room_token: token });
    expect(await b2.next('room_created')).toEqual({ type: 'room_created', room_id: roomId, room_token: token });
    for (const v of present) {
      expect(await v.next('broadcaster_returned')).toEqual({ type: 'broadcaster_returned', room_id: roomId, broadcaster_id: b2.id });
    }
    const cues = await Promise.all(present.map(() => b2.next('viewer_joined')));
    expect(cues.map((c) => c.viewer_id).sort()).toEqual(present.map((v) => v.id).sort());

    // Signalling now runs with the new broadcaster; the old id is gone.
    b2.send({ type: 'offer', target_id: viewers[0]!.id, sdp: offerSdp });
    expect((await viewers[0]!.next('offer')).from_id).toBe(b2.id);
    viewers[0]!.send({ type: 'answer', target_id: b2.id, sdp: answerSdp });
    expect((await b2.next('answer')).from_id).toBe(viewers[0]!.id);
    viewers[0]!.send({ type: 'answer', target_id: b.id, sdp: answerSdp });
    await viewers[0]!.nextError('not_allowed');
    expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(3);
  });

  it('reclaim after leave_room on the same connection', async () => {
    const { broadcaster: b, viewers, roomId, token } = await roomWith(1);
    b.send({ type: 'leave_room' });
    await viewers[0]!.next('broadcaster_left');
    b.send({ type: 'create_room', room_id: roomId, room_token: token });
    expect((await b.next('room_created')).room_id).toBe(roomId);
    expect((await viewers[0]!.next('broadcaster_returned')).broadcaster_id).toBe(b.id);
    expect((await b.next('viewer_joined')).viewer_id).toBe(viewers[0]!.id);
  });

  it('a wrong token -> not_allowed, and the room and its viewers are untouched', async () => {
    const r1 = await roomWith(1);
    const r2 = await roomWith(0);
    await r1.broadcaster.terminate();
    await r1.viewers[0]!.next('broadcaster_left');
    const thief = await pool.connect();
    for (const room_token of ['not-the-token', r2.token, r1.token.slice(0, -1)]) {
      thief.send({ type: 'create_room', room_id: r1.roomId, room_token });
      expect((await thief.nextError('not_allowed')).request_type).toBe('create_room');
      await thief.roundTrip();
    }
    // The thief is in no room and can still create its own.
    thief.send({ type: 'leave_room' });
    await thief.nextError('not_in_room');
    await r1.viewers[0]!.expectNothing(SILENCE_MS);
    const own = await createRoom(thief);
    expect(own.roomId).not.toBe(r1.roomId);
  });

  it('a reclaim overtaking the old connection moves the room to the new one', async () => {
    const { broadcaster: b, viewers, roomId, token } = await roomWith(1);
    const b2 = await pool.connect();
    b2.send({ type: 'create_room', room_id: roomId, room_token: token });
    await b2.next('room_created');
    expect((await viewers[0]!.next('broadcaster_returned')).broadcaster_id).toBe(b2.id);
    expect((await b2.next('viewer_joined')).viewer_id).toBe(viewers[0]!.id);
    // The old connection is no longer the broadcaster, and closing it changes nothing.
    b.send({ type: 'offer', target_id: viewers[0]!.id, sdp: offerSdp });
    await b.nextError('not_in_room');
    await b.close();
    await viewers[0]!.expectNothing(SILENCE_MS);
    b2.send({ type: 'offer', target_id: viewers[0]!.id, sdp: offerSdp });
    expect((await viewers[0]!.next('offer')).from_id).toBe(b2.id);
  });
});

describe('concurrent rooms', () => {
  it("rooms never see each other's messages", async () => {
    const rooms = await Promise.all([roomWith(2), roomWith(2), roomWith(2)]);
    // Full negotiation in every room at once.
    await Promise.all(
      rooms.map(async ({ broadcaster: b, viewers }) => {
        for (const v of viewers) {
          b.send({ type: 'offer', target_id: v.id, sdp: offerSdp, tag: b.id });
          v.send({ type: 'answer', target_id: b.id, sdp: answerSdp, tag: b.id });
          b.send({ type: 'ice_candidate', target_id: v.id, candidate, tag: b.id });
          v.send({ type: 'ice_candidate', target_id: b.id, candidate, tag: b.id });
          v.send({ type: 'request_relay', room_id: rooms.find((r) => r.broadcaster === b)!.roomId });
        }
      }),
    );
    for (const { broadcaster: b, viewers, roomId } of rooms) {
      for (const v of viewers) {
        expect(await v.next('offer')).toMatchObject({ from_id: b.id, tag: b.id });
        expect(await v.next('ice_candidate')).toMatchObject({ from_id: b.id, tag: b.id });
        expect(await v.next('relay_ready')).toEqual({ type: 'relay_ready', room_id: roomId, ticket: expect.any(String) });
      }
      const answers = await Promise.all(viewers.map(() => b.next('answer')));
      expect(answers.map((a) => a.from_id).sort()).toEqual(viewers.map((v) => v.id).sort());
      expect(answers.every((a) => a.tag === b.id)).toBe(true);
      const candidates = await Promise.all(viewers.map(() => b.next('ice_candidate')));
      expect(candidates.map((a) => a.from_id).sort()).toEqual(viewers.map((v) => v.id).sort());
      const relays = await Promise.all(viewers.map(() => b.next('relay_requested')));
      expect(relays.map((r) => r.viewer_id).sort()).toEqual(viewers.map((v) => v.id).sort());
    }
    // Membership changes stay in their room too.
    const [a, other1, other2] = rooms as [(typeof rooms)[0], (typeof rooms)[0], (typeof rooms)[0]];
    a.viewers[0]!.send({ type: 'leave_room' });
    await a.broadcaster.next('viewer_left');
    a.broadcaster.send({ type: 'end_room' });
    await a.viewers[1]!.next('room_closed');
    for (const r of [other1, other2]) {
      for (const c of [r.broadcaster, ...r.viewers]) await c.expectNothing(c === r.broadcaster ? SILENCE_MS : 0);
    }
    // Every message any client got named only its own room and its own peers.
    for (const { broadcaster: b, viewers, roomId } of rooms) {
      const members = new Set([b.id, ...viewers.map((v) => v.id)]);
      for (const c of [b, ...viewers]) {
        for (const m of c.log) {
          if ('room_id' in m) expect(m.room_id).toBe(roomId);
          for (const key of ['from_id', 'viewer_id', 'broadcaster_id'] as const) {
            if (key in m) expect(members.has(m[key] as string)).toBe(true);
          }
        }
      }
    }
    const counts = await listedRooms(srv.httpUrl);
    expect(counts.has(a.roomId)).toBe(false);
    expect(counts.get(other1.roomId)).toBe(2);
    expect(counts.get(other2.roomId)).toBe(2);
  });
});
