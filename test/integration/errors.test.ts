// Every error code of the contract on a real connection, and after every error:
// the same connection still works, its room and the other clients are untouched.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/protocol/messages.js';
import { defaultConfig } from '../../src/server/config.js';
import { ClientPool, createRoom, eventually, freeRoomId, joinRoom, listedRooms, type TestClient } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const SILENCE_MS = 100;
const offerSdp = { type: 'offer', sdp: 'v=0\r\n' };
const answerSdp = { type: 'answer', sdp: 'v=0\r\n' };
const candidate = { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 };

describe('errors on a default server', () => {
  let srv: RunningServer;
  let pool: ClientPool;
  let room: { broadcaster: TestClient; viewer: TestClient; other: TestClient; outsider: TestClient; roomId: string; token: string };
  let second: { broadcaster: TestClient; roomId: string };

  beforeAll(async () => {
    srv = await startServer({ statsIntervalMs: 600_000 });
    pool = new ClientPool(() => srv.wsUrl);
  });
  afterAll(async () => {
    await srv.close();
  });

  beforeEach(async () => {
    const [broadcaster, viewer, other, outsider, b2] = (await pool.connectMany(5)) as [TestClient, TestClient, TestClient, TestClient, TestClient];
    const [{ roomId, token }, { roomId: secondId }] = await Promise.all([createRoom(broadcaster), createRoom(b2)]);
    await joinRoom(viewer, roomId, broadcaster);
    await joinRoom(other, roomId, broadcaster);
    await Promise.all([broadcaster, viewer, other].map((c) => c.next('stats_summary', { where: (s) => s.viewer_count === 2 })));
    room = { broadcaster, viewer, other, outsider, roomId, token };
    second = { broadcaster: b2, roomId: secondId };
  });
  afterEach(async () => {
    expect(await pool.closeAll()).toEqual([]);
  });

  /**
   * The room is exactly as before: both viewers listed, signalling flows both ways, and nobody got
   * anything stray. No sleeping: every client gets one more message that the server sends after it
   * handled the bad frame, so anything stray would already be queued in front of it.
   */
  async function roomIsUnaffected(sender: TestClient): Promise<void> {
    const { broadcaster: b, viewer: v, other: o, outsider } = room;
    await sender.roundTrip();
    for (const target of [v, o]) {
      b.send({ type: 'offer', target_id: target.id, sdp: offerSdp });
      expect((await target.next('offer')).from_id).toBe(b.id);
      target.send({ type: 'answer', target_id: b.id, sdp: answerSdp });
      expect((await b.next('answer')).from_id).toBe(target.id);
    }
    await outsider.roundTrip();
    await second.broadcaster.roundTrip();
    for (const c of [b, v, o, outsider, second.broadcaster]) await c.expectNothing(0);
    const counts = await listedRooms(srv.httpUrl);
    expect(counts.get(room.roomId)).toBe(2);
    expect(counts.get(second.roomId)).toBe(0);
  }

  type Who = 'broadcaster' | 'viewer' | 'outsider';
  interface Case {
    name: string;
    who: Who;
    frame: () => string | Record<string, unknown>;
    code: ErrorCode;
    requestType?: string;
  }
  const cases: Case[] = [
    { name: 'invalid JSON', who: 'viewer', frame: () => '{"type":"ping"', code: 'bad_json' },
    { name: 'not JSON at all', who: 'broadcaster', frame: () => 'hello', code: 'bad_json' },
    { name: 'an empty frame', who: 'viewer', frame: () => '', code: 'bad_json' },
    { name: 'a JSON array', who: 'viewer', frame: () => '[{"type":"ping"}]', code: 'bad_message' },
    { name: 'a JSON string', who: 'broadcaster', frame: () => '"ping"', code: 'bad_message' },
    { name: 'JSON null', who: 'viewer', frame: () => 'null', code: 'bad_message' },
    { name: 'a JSON number', who: 'outsider', frame: () => '42', code: 'bad_message' },
    { name: 'no type', who: 'viewer', frame: () => ({ room_id: room.roomId }), code: 'bad_message' },
    { name: 'a numeric type', who: 'viewer', frame: () => ({ type: 7 }), code: 'bad_message' },
    { name: 'an unknown type', who: 'viewer', frame: () => ({ type: 'become_broadcaster' }), code: 'bad_message', requestType: 'become_broadcaster' },
    { name: 'a server-only type', who: 'broadcaster', frame: () => ({ type: 'room_closed', room_id: room.roomId, reason: 'x' }), code: 'bad_message', requestType: 'room_closed' },
    { name: 'an offer without target_id', who: 'broadcaster', frame: () => ({ type: 'offer', sdp: offerSdp }), code: 'bad_message', requestType: 'offer' },
    { name: 'an offer without sdp', who: 'broadcaster', frame: () => ({ type: 'offer', target_id: room.viewer.id }), code: 'bad_message', requestType: 'offer' },
    { name: 'an answer with a wrong sdp type', who: 'viewer', frame: () => ({ type: 'answer', target_id: room.broadcaster.id, sdp: offerSdp }), code: 'bad_message', requestType: 'answer' },
    { name: 'an ice_candidate with a string candidate', who: 'viewer', frame: () => ({ type: 'ice_candidate', target_id: room.broadcaster.id, candidate: 'x' }), code: 'bad_message', requestType: 'ice_candidate' },
    { name: 'join_room without room_id', who: 'outsider', frame: () => ({ type: 'join_room' }), code: 'bad_message', requestType: 'join_room' },
    { name: 'join_room with a numeric room_id', who: 'outsider', frame: () => ({ type: 'join_room', room_id: Number(room.roomId) }), code: 'bad_message', requestType: 'join_room' },
    { name: 'create_room with only room_id', who: 'outsider', frame: () => ({ type: 'create_room', room_id: room.roomId }), code: 'bad_message', requestType: 'create_room' },
    { name: 'create_room with only room_token', who: 'outsider', frame: () => ({ type: 'create_room', room_token: room.token }), code: 'bad_message', requestType: 'create_room' },
    { name: 'stats_report with a wrong field type', who: 'viewer', frame: () => ({ type: 'stats_report', bitrate: 'fast' }), code: 'bad_message', requestType: 'stats_report' },
    { name: 'join_room with a five-digit id', who: 'outsider', frame: () => ({ type: 'join_room', room_id: '12345' }), code: 'invalid_room_id', requestType: 'join_room' },
    { name: 'join_room with letters', who: 'outsider', frame: () => ({ type: 'join_room', room_id: 'abcdef' }), code: 'invalid_room_id', requestType: 'join_room' },
    { name: 'join_room with seven digits', who: 'viewer', frame: () => ({ type: 'join_room', room_id: room.roomId + '0' }), code: 'invalid_room_id', requestType: 'join_room' },
    { name: 'request_relay with a bad id', who: 'viewer', frame: () => ({ type: 'request_relay', room_id: 'room-1' }), code: 'invalid_room_id', requestType: 'request_relay' },
    { name: 'reclaim with a bad id', who: 'outsider', frame: () => ({ type: 'create_room', room_id: '1', room_token: room.token }), code: 'invalid_room_id', requestType: 'create_room' },
    { name: 'join_room of an unknown room', who: 'outsider', frame: () => ({ type: 'join_room', room_id: freeRoomId(srv.server.rooms) }), code: 'room_not_found', requestType: 'join_room' },
    { name: 'request_relay of an unknown room', who: 'outsider', frame: () => ({ type: 'request_relay', room_id: freeRoomId(srv.server.rooms) }), code: 'room_not_found', requestType: 'request_relay' },
    { name: 'leave_room outside a room', who: 'outsider', frame: () => ({ type: 'leave_room' }), code: 'not_in_room', requestType: 'leave_room' },
    { name: 'end_room outside a room', who: 'outsider', frame: () => ({ type: 'end_room' }), code: 'not_in_room', requestType: 'end_room' },
    { name: 'an offer outside a room', who: 'outsider', frame: () => ({ type: 'offer', target_id: room.broadcaster.id, sdp: offerSdp }), code: 'not_in_room', requestType: 'offer' },
    { name: 'an answer outside a room', who: 'outsider', frame: () => ({ type: 'answer', target_id: room.broadcaster.id, sdp: answerSdp }), code: 'not_in_room', requestType: 'answer' },
    { name: 'an ice_candidate outside a room', who: 'outsider', frame: () => ({ type: 'ice_candidate', target_id: room.viewer.id, candidate }), code: 'not_in_room', requestType: 'ice_candidate' },
    { name: 'stats_report outside a room', who: 'outsider', frame: () => ({ type: 'stats_report', rtt: 5 }), code: 'not_in_room', requestType: 'stats_report' },
    { name: 'request_relay of a room not joined', who: 'outsider', frame: () => ({ type: 'request_relay', room_id: room.roomId }), code: 'not_in_room', requestType: 'request_relay' },
    { name: 'request_relay of another room', who: 'viewer', frame: () => ({ type: 'request_relay', room_id: second.roomId }), code: 'not_in_room', requestType: 'request_relay' },
    { name: 'a second create_room', who: 'broadcaster', frame: () => ({ type: 'create_room' }), code: 'not_allowed', requestType: 'create_room' },
    { name: 'create_room by a viewer', who: 'viewer', frame: () => ({ type: 'create_room' }), code: 'not_allowed', requestType: 'create_room' },
    { name: 'join_room of its own room', who: 'viewer', frame: () => ({ type: 'join_room', room_id: room.roomId }), code: 'not_allowed', requestType: 'join_room' },
    { name: 'join_room of another room', who: 'viewer', frame: () => ({ type: 'join_room', room_id: second.roomId }), code: 'not_allowed', requestType: 'join_room' },
    { name: 'the broadcaster joining its room', who: 'broadcaster', frame: () => ({ type: 'join_room', room_id: room.roomId }), code: 'not_allowed', requestType: 'join_room' },
    { name: 'end_room by a viewer', who: 'viewer', frame: () => ({ type: 'end_room' }), code: 'not_allowed', requestType: 'end_room' },
    { name: 'viewer-to-viewer offer', who: 'viewer', frame: () => ({ type: 'offer', target_id: room.other.id, sdp: offerSdp }), code: 'not_allowed', requestType: 'offer' },
    { name: 'viewer-to-viewer ice_candidate', who: 'viewer', frame: () => ({ type: 'ice_candidate', target_id: room.other.id, candidate }), code: 'not_allowed', requestType: 'ice_candidate' },
    { name: 'an offer to another room', who: 'broadcaster', frame: () => ({ type: 'offer', target_id: second.broadcaster.id, sdp: offerSdp }), code: 'not_allowed', requestType: 'offer' },
    { name: 'an answer to an outsider', who: 'viewer', frame: () => ({ type: 'answer', target_id: room.outsider.id, sdp: answerSdp }), code: 'not_allowed', requestType: 'answer' },
    { name: 'request_relay by the broadcaster', who: 'broadcaster', frame: () => ({ type: 'request_relay', room_id: room.roomId }), code: 'not_allowed', requestType: 'request_relay' },
    { name: 'a reclaim with a wrong token', who: 'outsider', frame: () => ({ type: 'create_room', room_id: room.roomId, room_token: 'forged' }), code: 'not_allowed', requestType: 'create_room' },
    { name: "a reclaim with another room's token", who: 'outsider', frame: () => ({ type: 'create_room', room_id: second.roomId, room_token: room.token }), code: 'not_allowed', requestType: 'create_room' },
    { name: 'a frame over 64 KiB', who: 'viewer', frame: () => ({ type: 'ping', pad: 'x'.repeat(64 * 1024) }), code: 'too_large' },
    { name: 'a large offer over 64 KiB', who: 'broadcaster', frame: () => ({ type: 'offer', target_id: room.viewer.id, sdp: { type: 'offer', sdp: 'a'.repeat(70_000) } }), code: 'too_large' },
  ];

  for (const c of cases) {
    it(`${c.name} -> ${c.code}; the connection, the room and everyone else carry on`, async () => {
      const sender = room[c.who];
      const frame = c.frame();
      sender.sendRaw(typeof frame === 'string' ? frame : JSON.stringify(frame));
      const err = await sender.next('error');
      expect(err.code).toBe(c.code);
      expect(typeof err.message).toBe('string');
      expect(err.message.length).toBeGreaterThan(0);
      if (c.requestType) expect(err.request_type).toBe(c.requestType);
      expect(sender.isOpen).toBe(true);
      await roomIsUnaffected(sender);
    });
  }

  it('every error code of the contract except the limit ones is covered above', () => {
    const covered = new Set(cases.map((c) => c.code));
    for (const code of ['bad_json', 'bad_message', 'room_not_found', 'not_in_room', 'not_allowed', 'invalid_room_id', 'too_large']) {
      expect(covered.has(code as ErrorCode), code).toBe(true);
    }
  });

  it('a binary frame is answered with an error, not a close', async () => {
    room.viewer.sendRaw(Buffer.from(JSON.stringify({ type: 'ping' })), true);
    const err = await room.viewer.next('error');
    expect(['bad_json', 'bad_message']).toContain(err.code);
    await roomIsUnaffected(room.viewer);
  });

  it('a frame of exactly 64 KiB is accepted; one byte more is too_large', async () => {
    const sizeOf = (pad: number) => Buffer.byteLength(JSON.stringify({ type: 'ping', pad: 'x'.repeat(pad) }));
    const pad = 64 * 1024 - sizeOf(0);
    const exact = JSON.stringify({ type: 'ping', pad: 'x'.repeat(pad) });
    expect(Buffer.byteLength(exact)).toBe(64 * 1024);
    room.viewer.sendRaw(exact);
    await room.viewer.next('pong');
    room.viewer.sendRaw(JSON.stringify({ type: 'ping', pad: 'x'.repeat(pad + 1) }));
    const err = await room.viewer.nextError('too_large');
    expect(err.message).toMatch(/65536|64/);
    await room.viewer.expectNothing(SILENCE_MS);
    await roomIsUnaffected(room.viewer);
  });

  it('a too_large offer is not forwarded', async () => {
    room.broadcaster.send({ type: 'offer', target_id: room.viewer.id, sdp: { type: 'offer', sdp: 'a'.repeat(70_000) } });
    await room.broadcaster.nextError('too_large');
    await room.viewer.expectNothing(SILENCE_MS);
  });

  it('a forwarded answer nested thousands deep is refused, not forwarded, and does not crash the server', async () => {
    // 60 KiB of "[[[[…": JSON.stringify of it would overflow the stack when forwarded.
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    room.viewer.sendRaw(`{"type":"answer","target_id":"${room.broadcaster.id}","sdp":{"type":"answer","sdp":"v=0"},"x":${deep}}`);
    expect((await room.viewer.nextError('bad_message')).message).toMatch(/nest/);
    await room.broadcaster.expectNothing(SILENCE_MS, { ignore: ['stats_summary'] });
    await roomIsUnaffected(room.viewer);
  });

  it('invalid UTF-8 is bad_json and the connection stays', async () => {
    room.other.sendRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), false);
    await room.other.nextError('bad_json');
    await roomIsUnaffected(room.other);
  });

  it('a frame over the 1 MiB hard ceiling cuts only that connection', async () => {
    // Past the hard ceiling ws itself closes with 1009 (RFC 6455) before the frame is read.
    room.viewer.sendRaw(JSON.stringify({ type: 'ping', pad: 'x'.repeat(1 << 20) }));
    expect((await room.viewer.closed()).code).toBe(1009);
    await room.broadcaster.next('viewer_left');
    expect((await listedRooms(srv.httpUrl)).get(room.roomId)).toBe(1);
    await room.broadcaster.roundTrip();
    await room.other.roundTrip();
    await room.outsider.roundTrip();
  });

  it('many errors in a row do not wear the connection down', async () => {
    for (let i = 0; i < 20; i++) room.viewer.sendRaw('{');
    for (let i = 0; i < 20; i++) await room.viewer.nextError('bad_json');
    await roomIsUnaffected(room.viewer);
  });

  it('a wrong-token reclaim does not take the room from its broadcaster', async () => {
    room.outsider.send({ type: 'create_room', room_id: room.roomId, room_token: 'x'.repeat(43) });
    await room.outsider.nextError('not_allowed');
    room.outsider.send({ type: 'offer', target_id: room.viewer.id, sdp: offerSdp });
    await room.outsider.nextError('not_in_room');
    await roomIsUnaffected(room.outsider);
  });
});

describe('limits', () => {
  const pool = new ClientPool(() => {
    throw new Error('pass a url');
  });
  afterEach(async () => {
    expect(await pool.closeAll()).toEqual([]);
  });

  it('room_full when limits.maxViewersPerRoom is reached; a place frees up when a viewer leaves', async () => {
    const srv = await startServer({ statsIntervalMs: 600_000, limits: { ...defaultConfig().limits, maxViewersPerRoom: 2 } });
    try {
      const b = await pool.connect(srv.wsUrl);
      const { roomId } = await createRoom(b);
      const [v1, v2, v3] = [await pool.connect(srv.wsUrl), await pool.connect(srv.wsUrl), await pool.connect(srv.wsUrl)] as const;
      await joinRoom(v1, roomId, b);
      await joinRoom(v2, roomId, b);
      v3.send({ type: 'join_room', room_id: roomId });
      const err = await v3.nextError('room_full');
      expect(err.request_type).toBe('join_room');
      await v3.roundTrip();
      expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(2);
      await b.expectNothing(SILENCE_MS, { ignore: ['stats_summary'] });
      // The refused client is in no room.
      v3.send({ type: 'leave_room' });
      await v3.nextError('not_in_room');

      v1.send({ type: 'leave_room' });
      await b.next('viewer_left');
      await joinRoom(v3, roomId, b);
      expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(2);
    } finally {
      await pool.closeAll();
      await srv.close();
    }
  });

  it('rate_limited under a flood: one notice, the excess dropped, the others unaffected, and it recovers', async () => {
    const srv = await startServer({ statsIntervalMs: 600_000, limits: { ...defaultConfig().limits, messageBurst: 5, messagesPerSecond: 5 } });
    try {
      const b = await pool.connect(srv.wsUrl);
      const { roomId } = await createRoom(b);
      const v = await pool.connect(srv.wsUrl);
      const other = await pool.connect(srv.wsUrl);
      await joinRoom(v, roomId, b);
      await joinRoom(other, roomId, b);
      await Promise.all([b, v, other].map((c) => c.next('stats_summary', { where: (s) => s.viewer_count === 2 })));
      // The viewer has spent one message (join_room) of its burst of 5: it floods the broadcaster
      // with candidates and only about a burst gets through, in order.
      for (let i = 0; i < 50; i++) v.send({ type: 'ice_candidate', target_id: b.id, candidate, seq: i });
      const err = await v.nextError('rate_limited');
      expect(err.message.length).toBeGreaterThan(0);
      await v.expectNothing(SILENCE_MS);
      const got = b.drain('ice_candidate');
      // 4 or 5 tokens were left; a slow machine may refill one or two while the flood arrives.
      expect(got.length).toBeGreaterThanOrEqual(4);
      expect(got.length).toBeLessThanOrEqual(10);
      expect(got.map((m) => m.seq)).toEqual(got.map((_, i) => i));
      expect(got.every((m) => m.from_id === v.id)).toBe(true);
      // One notice for the whole flood, not one per dropped frame.
      expect(v.log.filter((m) => m.type === 'error')).toHaveLength(1);

      // Other connections have their own budget, and the room is intact.
      await other.roundTrip();
      b.send({ type: 'offer', target_id: other.id, sdp: offerSdp });
      expect((await other.next('offer')).from_id).toBe(b.id);
      other.send({ type: 'answer', target_id: b.id, sdp: answerSdp });
      expect((await b.next('answer')).from_id).toBe(other.id);
      await b.expectNothing(0);
      // The flooder is served again once its bucket refills, in the same connection and room.
      await eventually(() => v.roundTrip(300));
      expect(v.isOpen).toBe(true);
      const answer = await eventually(async () => {
        v.send({ type: 'answer', target_id: b.id, sdp: answerSdp });
        return b.next('answer', 300);
      });
      expect(answer.from_id).toBe(v.id);
      expect((await listedRooms(srv.httpUrl)).get(roomId)).toBe(2);
    } finally {
      await pool.closeAll();
      await srv.close();
    }
  });

  it('too_large follows limits.maxMessageBytes', async () => {
    const srv = await startServer({ statsIntervalMs: 600_000, limits: { ...defaultConfig().limits, maxMessageBytes: 2048 } });
    try {
      const c = await pool.connect(srv.wsUrl);
      c.send({ type: 'ping', pad: 'x'.repeat(1_900) });
      await c.next('pong');
      c.send({ type: 'ping', pad: 'x'.repeat(2_100) });
      const err = await c.nextError('too_large');
      expect(err.message).toContain('2048');
      await c.roundTrip();
    } finally {
      await pool.closeAll();
      await srv.close();
    }
  });
});
