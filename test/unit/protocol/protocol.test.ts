// The message schemas and the frame parser: every client message, valid and
// invalid, and the error code the contract says each failure gets.
import { describe, expect, it } from 'vitest';
import { clientSchemas, ErrorCode, serverSchemas } from '../../../src/protocol/messages.js';
import { parseClientMessage, parseServerMessage, type ParseFailure } from '../../../src/protocol/parse.js';

const offerSdp = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
const answerSdp = { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n' };
const candidate = { candidate: 'candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 };

function ok(value: unknown) {
  const result = parseClientMessage(typeof value === 'string' ? value : JSON.stringify(value));
  if (!result.ok) throw new Error(`expected ${JSON.stringify(value)} to parse, got ${result.code}: ${result.message}`);
  return result.message as Record<string, unknown>;
}

function fail(value: unknown): ParseFailure {
  const result = parseClientMessage(typeof value === 'string' ? value : JSON.stringify(value));
  if (result.ok) throw new Error(`expected ${JSON.stringify(value)} to be rejected, got ${JSON.stringify(result.message)}`);
  expect(result.message.length).toBeGreaterThan(0);
  return result;
}

describe('valid client messages', () => {
  const valid: Record<string, Record<string, unknown>[]> = {
    create_room: [
      { type: 'create_room' },
      { type: 'create_room', room_id: '012345', room_token: 'secret-token' },
      { type: 'create_room', password: 'hunter2', private: true },
      { type: 'create_room', room_id: '012345', room_token: 'secret-token', password: 'p', private: false },
    ],
    join_room: [
      { type: 'join_room', room_id: '123456' },
      { type: 'join_room', room_id: '000000' },
      { type: 'join_room', room_id: '000000', password: '密码 with spaces' },
      { type: 'join_room', room_id: '000000', name: '小明 🎉' },
    ],
    chat_send: [{ type: 'chat_send', text: '<b>hello</b> 你好' }],
    chat_delete: [{ type: 'chat_delete', id: 'abc' }],
    remove_viewer: [{ type: 'remove_viewer', viewer_id: 'abc' }],
    leave_room: [{ type: 'leave_room' }],
    end_room: [{ type: 'end_room' }],
    offer: [{ type: 'offer', target_id: 'abc', sdp: offerSdp }],
    answer: [{ type: 'answer', target_id: 'abc', sdp: answerSdp }],
    ice_candidate: [
      { type: 'ice_candidate', target_id: 'abc', candidate },
      { type: 'ice_candidate', target_id: 'abc', candidate: { candidate: '', sdpMid: null, sdpMLineIndex: null } },
      { type: 'ice_candidate', target_id: 'abc', candidate: { candidate: 'candidate:x', usernameFragment: 'uf' } },
    ],
    request_relay: [
      { type: 'request_relay', room_id: '999999' },
      { type: 'request_relay', room_id: '999999', codecs: ['AV1', 'VP8'] },
    ],
    assign_relay: [{ type: 'assign_relay', viewer_id: 'abc123' }],
    assign_sfu: [{ type: 'assign_sfu', viewer_id: 'abc123' }],
    relay_unavailable: [{ type: 'relay_unavailable', viewer_id: 'abc123' }],
    ice_restart: [
      { type: 'ice_restart', target_id: 'abc', ice_transport_policy: 'relay' },
      { type: 'ice_restart', target_id: 'abc', ice_transport_policy: 'all' },
    ],
    quality_level: [
      { type: 'quality_level', target_id: 'abc', level: 0, levels: 6, height: 720, max_bitrate: 2500 },
      { type: 'quality_level', target_id: 'abc', level: 4, levels: 6, height: 240, max_bitrate: 300, reason: 'loss' },
    ],
    stats_report: [
      { type: 'stats_report' },
      {
        type: 'stats_report',
        bitrate: 1500,
        upload_bitrate: 4500,
        available_bitrate: 2500,
        fps: 29.97,
        width: 1280,
        height: 720,
        rtt: 42.5,
        loss: 0.3,
        jitter: 4,
        freezes: 1,
        codec: 'VP8',
        connection_type: 'turn',
        relay_protocol: 'udp',
      },
    ],
    ping: [{ type: 'ping' }],
  };

  it('covers every client message type of the schemas', () => {
    expect(Object.keys(valid).sort()).toEqual(Object.keys(clientSchemas).sort());
  });

  for (const [type, messages] of Object.entries(valid)) {
    it(`accepts ${type}`, () => {
      for (const m of messages) {
        const parsed = ok(m);
        expect(parsed.type).toBe(type);
        expect(parsed).toMatchObject(m);
      }
    });
  }

  it('accepts all three connection types in stats_report', () => {
    for (const t of ['p2p', 'turn', 'relay']) expect(ok({ type: 'stats_report', connection_type: t }).connection_type).toBe(t);
  });

  it('accepts whitespace around the JSON', () => {
    expect(ok('  \n{"type":"ping"}\n ').type).toBe('ping');
  });
});

describe('forwarded signalling keeps extra fields', () => {
  it('offer keeps unknown top-level and nested fields', () => {
    const m = {
      type: 'offer',
      target_id: 'viewer-1',
      sdp: { ...offerSdp, x_nested: { a: [1, 2] } },
      restart: true,
      session: 7,
      meta: { quality: '720p', tags: ['a', 'b'] },
    };
    expect(ok(m)).toEqual(m);
  });

  it('answer keeps unknown fields', () => {
    const m = { type: 'answer', target_id: 'b', sdp: answerSdp, negotiation_id: 'n-1', extra: null };
    expect(ok(m)).toEqual(m);
  });

  it('ice_candidate keeps unknown fields, nested too', () => {
    const m = { type: 'ice_candidate', target_id: 'b', candidate: { ...candidate, foo: 'bar' }, generation: 3 };
    expect(ok(m)).toEqual(m);
  });

  it('a non-room-id "room_id" carried as an extra signalling field is kept, not refused', () => {
    const m = { type: 'offer', target_id: 'b', sdp: offerSdp, room_id: 'lobby' };
    expect(ok(m)).toEqual(m);
  });
});

describe('invalid client messages', () => {
  it('bad JSON -> bad_json', () => {
    for (const text of ['{', 'not json', '{"type":"ping",}', '', "{'type':'ping'}", '{"type":"ping"} x']) {
      const f = fail(text);
      expect(f.code).toBe('bad_json');
      expect(f.request_type).toBeUndefined();
    }
  });

  it('JSON that is not an object -> bad_message', () => {
    for (const text of ['[]', '[{"type":"ping"}]', '"ping"', '42', 'null', 'true']) {
      expect(fail(text).code).toBe('bad_message');
    }
  });

  it('missing or non-string type -> bad_message', () => {
    for (const m of [{}, { kind: 'ping' }, { type: 5 }, { type: null }, { type: ['ping'] }, { type: { x: 1 } }]) {
      expect(fail(m).code).toBe('bad_message');
    }
  });

  it('unknown type -> bad_message naming the type', () => {
    const f = fail({ type: 'launch_rockets' });
    expect(f.code).toBe('bad_message');
    expect(f.request_type).toBe('launch_rockets');
    expect(f.message).toContain('launch_rockets');
    // Inherited object keys are not message types.
    for (const t of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'welcome', 'pong', 'error']) {
      expect(fail({ type: t }).code).toBe('bad_message');
    }
  });

  it('an overlong unknown type is cut in request_type', () => {
    const f = fail({ type: 'x'.repeat(10_000) });
    expect(f.code).toBe('bad_message');
    expect(f.request_type!.length).toBeLessThanOrEqual(64);
  });

  const badMessages: [string, Record<string, unknown>][] = [
    ['join_room without room_id', { type: 'join_room' }],
    ['join_room with a numeric room_id', { type: 'join_room', room_id: 123456 }],
    ['join_room with a null room_id', { type: 'join_room', room_id: null }],
    ['create_room with only room_id', { type: 'create_room', room_id: '123456' }],
    ['create_room with only room_token', { type: 'create_room', room_token: 'tok' }],
    ['create_room with an empty room_token', { type: 'create_room', room_id: '123456', room_token: '' }],
    ['create_room with a numeric token', { type: 'create_room', room_id: '123456', room_token: 5 }],
    ['offer without target_id', { type: 'offer', sdp: offerSdp }],
    ['offer without sdp', { type: 'offer', target_id: 'b' }],
    ['offer with a numeric target_id', { type: 'offer', target_id: 7, sdp: offerSdp }],
    ['offer with an empty target_id', { type: 'offer', target_id: '', sdp: offerSdp }],
    ['offer with an answer sdp', { type: 'offer', target_id: 'b', sdp: answerSdp }],
    ['offer with a string sdp', { type: 'offer', target_id: 'b', sdp: 'v=0' }],
    ['offer with sdp.sdp missing', { type: 'offer', target_id: 'b', sdp: { type: 'offer' } }],
    ['answer without sdp', { type: 'answer', target_id: 'b' }],
    ['answer with an offer sdp', { type: 'answer', target_id: 'b', sdp: offerSdp }],
    ['answer without target_id', { type: 'answer', sdp: answerSdp }],
    ['ice_candidate without candidate', { type: 'ice_candidate', target_id: 'b' }],
    ['ice_candidate with a string candidate', { type: 'ice_candidate', target_id: 'b', candidate: 'candidate:1' }],
    ['ice_candidate with candidate.candidate missing', { type: 'ice_candidate', target_id: 'b', candidate: { sdpMid: '0' } }],
    ['ice_candidate with a negative sdpMLineIndex', { type: 'ice_candidate', target_id: 'b', candidate: { ...candidate, sdpMLineIndex: -1 } }],
    ['ice_candidate without target_id', { type: 'ice_candidate', candidate }],
    ['request_relay without room_id', { type: 'request_relay' }],
    ['request_relay with a numeric room_id', { type: 'request_relay', room_id: 1 }],
    ['request_relay with an unknown codec', { type: 'request_relay', room_id: '123456', codecs: ['H265'] }],
    ['assign_relay without viewer_id', { type: 'assign_relay' }],
    ['assign_sfu without viewer_id', { type: 'assign_sfu' }],
    ['relay_unavailable without viewer_id', { type: 'relay_unavailable' }],
    ['stats_report with a string bitrate', { type: 'stats_report', bitrate: '1500' }],
    ['stats_report with a negative rtt', { type: 'stats_report', rtt: -1 }],
    ['stats_report with loss over 100', { type: 'stats_report', loss: 101 }],
    ['stats_report with an unknown connection_type', { type: 'stats_report', connection_type: 'carrier-pigeon' }],
    ['stats_report with a fractional width', { type: 'stats_report', width: 12.5 }],
  ];
  for (const [name, m] of badMessages) {
    it(`${name} -> bad_message`, () => {
      const f = fail(m);
      expect(f.code).toBe('bad_message');
      expect(f.request_type).toBe(m.type);
    });
  }

  it('an overlong sdp -> bad_message', () => {
    expect(fail({ type: 'offer', target_id: 'b', sdp: { type: 'offer', sdp: 'a'.repeat(60_001) } }).code).toBe('bad_message');
  });

  it('the error message says which field is wrong', () => {
    expect(fail({ type: 'join_room' }).message).toContain('room_id');
    expect(fail({ type: 'offer', sdp: offerSdp }).message).toContain('target_id');
    expect(fail({ type: 'create_room', room_id: '123456' }).message).toMatch(/room_id and room_token/);
  });

  const badRoomIds = ['12345', '1234567', 'abcdef', '12 456', '', ' 123456', '123456 ', '１２３４５６', '12345a', '-12345', '1e5000'];
  for (const type of ['join_room', 'request_relay'] as const) {
    it(`${type} with a room id that is not six digits -> invalid_room_id`, () => {
      for (const room_id of badRoomIds) {
        const f = fail({ type, room_id });
        expect(f.code, room_id).toBe('invalid_room_id');
        expect(f.request_type).toBe(type);
      }
    });
  }

  it('create_room reclaiming with a room id that is not six digits -> invalid_room_id', () => {
    for (const room_id of badRoomIds) expect(fail({ type: 'create_room', room_id, room_token: 't' }).code).toBe('invalid_room_id');
  });

  it('extra fields on non-forwarded messages are dropped, not refused', () => {
    expect(ok({ type: 'ping', nonce: 1 })).toEqual({ type: 'ping' });
    expect(ok({ type: 'join_room', room_id: '123456', token: 'x' })).toEqual({ type: 'join_room', room_id: '123456' });
    expect(ok({ type: 'stats_report', bitrate: 5, secret_field: 'y' })).toEqual({ type: 'stats_report', bitrate: 5 });
  });

  it('every failure code is one of the contract', () => {
    const codes = new Set(ErrorCode.options);
    for (const text of ['{', '[]', '{"type":"nope"}', '{"type":"join_room","room_id":"1"}', '{"type":"join_room"}']) {
      const r = parseClientMessage(text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(codes.has(r.code)).toBe(true);
    }
  });
});

describe('parseServerMessage', () => {
  it('accepts the messages the server sends', () => {
    const messages = [
      { type: 'welcome', client_id: 'abc', ice_servers: [{ urls: ['stun:stun.example.org:3478'] }, { urls: ['turn:t.example.org'], username: 'u', credential: 'c' }] },
      { type: 'room_created', room_id: '123456', room_token: 'tok' },
      { type: 'room_joined', room_id: '123456', broadcaster_id: 'b' },
      { type: 'viewer_joined', viewer_id: 'v' },
      { type: 'viewer_left', viewer_id: 'v' },
      { type: 'broadcaster_left', room_id: '123456' },
      { type: 'broadcaster_returned', room_id: '123456', broadcaster_id: 'b2' },
      { type: 'room_closed', room_id: '123456', reason: 'ended' },
      { type: 'relay_ready', room_id: '123456' },
      { type: 'relay_requested', viewer_id: 'v' },
      { type: 'ice_restart', from_id: 'v', ice_transport_policy: 'relay' },
      { type: 'quality_level', from_id: 'b', level: 2, levels: 6, height: 480, max_bitrate: 1000, reason: 'bandwidth' },
      { type: 'welcome', client_id: 'abc', ice_servers: [], ice_timeouts: { direct_ms: 5000, turn_ms: 8000 } },
      { type: 'pong' },
      { type: 'use_sfu', room_id: '123456', ticket: 't1' },
      { type: 'sfu_feed', room_id: '123456', live: true },
      { type: 'viewer_joined', viewer_id: 'p', sfu: true },
      { type: 'error', code: 'room_full', message: 'full', request_type: 'join_room' },
      { type: 'error', code: 'bad_json', message: 'bad' },
      {
        type: 'stats_summary',
        room_id: '123456',
        viewer_count: 2,
        current_bitrate: 1500,
        upload_bitrate: 3000,
        broadcaster_present: true,
        paths: { p2p: 1, turn: 1, relay: 0, sfu: 0, unknown: 0 },
        rtt_median: 30,
        rtt_worst: 50,
        loss_median: null,
        loss_worst: null,
        latency_median: null,
        codecs: {},
      },
    ];
    for (const m of messages) {
      const r = parseServerMessage(JSON.stringify(m));
      expect(r.ok, JSON.stringify(m)).toBe(true);
      if (r.ok) expect(r.message).toEqual(m);
    }
  });

  it('keeps the extra fields of forwarded signalling', () => {
    const m = { type: 'offer', from_id: 'b', sdp: offerSdp, restart: true };
    const r = parseServerMessage(JSON.stringify(m));
    expect(r).toEqual({ ok: true, message: m });
  });

  it('rejects malformed server messages', () => {
    expect(parseServerMessage('nope')).toMatchObject({ ok: false, code: 'bad_json' });
    expect(parseServerMessage('{"type":"create_room"}')).toMatchObject({ ok: false, code: 'bad_message' });
    expect(parseServerMessage('{"type":"welcome","client_id":"a"}')).toMatchObject({ ok: false, code: 'bad_message' });
    expect(parseServerMessage('{"type":"error","code":"oops","message":"x"}')).toMatchObject({ ok: false, code: 'bad_message' });
    expect(parseServerMessage('{"type":"room_created","room_id":"12","room_token":"t"}')).toMatchObject({ ok: false, code: 'invalid_room_id' });
    expect(parseServerMessage('{"type":"offer","sdp":{"type":"offer","sdp":"v=0"}}')).toMatchObject({ ok: false, code: 'bad_message' });
  });

  it('has a schema for every server message the contract names', () => {
    const contract = [
      'welcome', 'room_created', 'room_joined', 'stats_summary', 'viewer_joined', 'viewer_left', 'broadcaster_left',
      'broadcaster_returned', 'room_closed', 'offer', 'answer', 'ice_candidate', 'relay_ready', 'relay_requested', 'error', 'pong',
    ];
    for (const t of contract) expect(Object.keys(serverSchemas)).toContain(t);
  });

  it('the error code list holds every code of the contract', () => {
    expect([...ErrorCode.options].sort()).toEqual(
      [
        'bad_json',
        'bad_message',
        'room_not_found',
        'room_full',
        'not_in_room',
        'not_allowed',
        'invalid_room_id',
        'rate_limited',
        'too_large',
        // additions (issue 6): room passwords
        'password_required',
        'wrong_password',
      ].sort(),
    );
  });
});
