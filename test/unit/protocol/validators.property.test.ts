// Property tests (fast-check) of everything that judges untrusted input: the
// message parser, the room-id rule, the token bucket, the Origin check and the
// client-IP rule. Each property runs on hundreds of generated cases.
import fc from 'fast-check';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientSchemas, ErrorCode, ROOM_ID_PATTERN } from '../../../src/protocol/messages.js';
import { MAX_DEPTH, parseClientMessage, parseServerMessage } from '../../../src/protocol/parse.js';
import { clientIp } from '../../../src/server/client-ip.js';
import { originAllowed } from '../../../src/server/origin.js';
import { TokenBucket } from '../../../src/server/ratelimit.js';

const CODES = new Set<string>(ErrorCode.options);
const TYPES = Object.keys(clientSchemas);
const RUNS = { numRuns: 500 };

/** Objects that look like client messages: a known or random type, plus random fields. */
const messageLike = fc.record(
  {
    type: fc.oneof(fc.constantFrom(...TYPES), fc.string({ maxLength: 80 }), fc.anything()),
    room_id: fc.oneof(fc.stringMatching(/^\d{6}$/), fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null)),
    room_token: fc.oneof(fc.string({ maxLength: 300 }), fc.integer()),
    target_id: fc.oneof(fc.string({ maxLength: 70 }), fc.constant(null)),
    viewer_id: fc.string({ maxLength: 70 }),
    password: fc.oneof(fc.string({ maxLength: 140 }), fc.boolean()),
    private: fc.oneof(fc.boolean(), fc.string()),
    sdp: fc.anything(),
    candidate: fc.anything(),
    bitrate: fc.oneof(fc.double(), fc.integer(), fc.string()),
  },
  { requiredKeys: [] },
);

function checkResult(text: string): void {
  const r = parseClientMessage(text);
  if (r.ok) {
    expect(TYPES).toContain(r.message.type);
    // What the parser lets through is stable: parsing it again gives the same message.
    const again = parseClientMessage(JSON.stringify(r.message));
    expect(again.ok && again.message).toEqual(r.message);
  } else {
    expect(CODES.has(r.code)).toBe(true);
    expect(r.message.length).toBeGreaterThan(0);
    if (r.request_type !== undefined) expect(r.request_type.length).toBeLessThanOrEqual(64);
  }
}

describe('parseClientMessage', () => {
  it('never throws, and answers ok with a known type or a contract error code, on any string', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), checkResult), RUNS);
  });

  it('the same on any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => checkResult(JSON.stringify(v))), RUNS);
  });

  it('the same on message-shaped objects with wrong, missing and extra fields', () => {
    fc.assert(
      fc.property(messageLike, (m) => {
        let text: string;
        try {
          text = JSON.stringify(m);
        } catch {
          return; // BigInt and friends have no JSON form: nothing a client could send
        }
        if (text !== undefined) checkResult(text);
      }),
      RUNS,
    );
  });

  it('truncated or corrupted JSON of a valid message is never accepted as something else', () => {
    const valid = JSON.stringify({ type: 'join_room', room_id: '123456' });
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.nat(valid.length - 1), fc.string({ maxLength: 3 }), (cut, at, insert) => {
        checkResult(valid.slice(0, cut));
        checkResult(valid.slice(0, at) + insert + valid.slice(at + 1));
      }),
      RUNS,
    );
  });

  it('a room id is accepted exactly when it is six ASCII digits', () => {
    fc.assert(
      fc.property(fc.oneof(fc.stringMatching(/^\d{6}$/), fc.string({ maxLength: 8 }), fc.stringMatching(/^[0-9٠-٩]{6}$/)), (id) => {
        const r = parseClientMessage(JSON.stringify({ type: 'join_room', room_id: id }));
        expect(r.ok).toBe(/^[0-9]{6}$/.test(id));
        if (!r.ok) expect(r.code).toBe('invalid_room_id');
        expect(ROOM_ID_PATTERN.test(id)).toBe(/^[0-9]{6}$/.test(id));
      }),
      RUNS,
    );
  });

  it('nesting deeper than MAX_DEPTH is refused at any depth, without overflowing the stack', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_DEPTH, max: 50_000 }), fc.boolean(), (depth, arrays) => {
        const inner = arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
        const r = parseClientMessage(`{"type":"answer","target_id":"x","sdp":{"type":"answer","sdp":""},"extra":${inner}}`);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('parseServerMessage is as robust', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
        const r = parseServerMessage(JSON.stringify(v));
        if (!r.ok) expect(CODES.has(r.code)).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('TokenBucket', () => {
  it('never grants more than the burst plus what the rate refilled', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.integer({ min: -50, max: 500 }), { maxLength: 200 }),
        (burst, rate, steps) => {
          let now = 0;
          let elapsed = 0;
          const bucket = new TokenBucket(burst, rate, () => now);
          let granted = 0;
          for (const step of steps) {
            now += step; // the clock may step back
            elapsed += Math.max(0, step);
            if (bucket.take()) granted++;
          }
          expect(granted).toBeLessThanOrEqual(burst + Math.floor((elapsed / 1000) * rate) + 1);
        },
      ),
      RUNS,
    );
  });
});

describe('originAllowed', () => {
  it('no Origin is allowed; any Origin whose host differs from Host is refused by default', () => {
    fc.assert(
      fc.property(fc.webUrl(), fc.domain(), (url, host) => {
        expect(originAllowed(undefined, host, [])).toBe(true);
        const origin = new URL(url).origin;
        expect(originAllowed(origin, host, [])).toBe(new URL(origin).host === host.toLowerCase());
        expect(originAllowed(origin, host, ['https://only.example'])).toBe(origin === 'https://only.example');
      }),
      RUNS,
    );
  });

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), (origin, host) => {
        expect(typeof originAllowed(origin, host, [])).toBe('boolean');
      }),
      RUNS,
    );
  });
});

describe('clientIp', () => {
  const req = (remote: string, xff?: string | string[]) =>
    ({ socket: { remoteAddress: remote }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

  it('without TRUST_PROXY the header never changes the answer', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.string(), (ip, header) => {
        expect(clientIp(req(ip, header), false)).toBe(ip);
        expect(clientIp(req(`::ffff:${ip}`, header), false)).toBe(ip);
      }),
      RUNS,
    );
  });

  it('with TRUST_PROXY the last entry wins, whatever the client put before it', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.array(fc.ipV4(), { maxLength: 5 }), fc.ipV4(), (proxy, spoofed, real) => {
        expect(clientIp(req(proxy, [...spoofed, real].join(', ')), true)).toBe(real);
        expect(clientIp(req(proxy), true)).toBe(proxy);
      }),
      RUNS,
    );
  });
});
