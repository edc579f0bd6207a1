// Hostile frames for the socket fuzzer, from a seeded generator (the same seed
// gives the same frames, so a failure can be replayed): mutated valid messages,
// random JSON, deep nesting, binary, broken UTF-8, truncated JSON and frames
// over the size limit.
export interface Frame {
  data: string | Buffer;
  binary: boolean;
  kind: string;
}

/** mulberry32: small, fast, seeded. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEMPLATES: Record<string, unknown>[] = [
  { type: 'create_room' },
  { type: 'create_room', room_id: '123456', room_token: 'abc.def', password: 'pw', private: true },
  { type: 'join_room', room_id: '123456', password: 'pw' },
  { type: 'leave_room' },
  { type: 'end_room' },
  { type: 'remove_viewer', viewer_id: 'someone' },
  { type: 'offer', target_id: 'abc', sdp: { type: 'offer', sdp: 'v=0\r\n' } },
  { type: 'answer', target_id: 'abc', sdp: { type: 'answer', sdp: 'v=0\r\n' } },
  { type: 'ice_candidate', target_id: 'abc', candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
  { type: 'request_relay', room_id: '123456' },
  { type: 'stats_report', bitrate: 1500, fps: 30, connection_type: 'p2p', codec: 'VP8' },
  { type: 'ping' },
];

const WEIRD_STRINGS = ['', ' ', '0', '-1', '12345', '1234567', '１２３４５６', '٠١٢٣٤٥', '12345\u0000', '\ud800', '💥'.repeat(40), '__proto__', 'constructor', 'toString', 'null'];

export class FrameGenerator {
  private readonly random: () => number;

  constructor(
    seed: number,
    /** The server's soft size limit: some frames go over it on purpose. */
    private readonly maxMessageBytes: number,
  ) {
    this.random = prng(seed);
  }

  next(): Frame {
    const r = this.random();
    if (r < 0.45) return this.text('mutated', JSON.stringify(this.mutate(structuredClone(this.pick(TEMPLATES)))));
    if (r < 0.6) return this.text('random_json', JSON.stringify(this.value(4)));
    if (r < 0.67) return this.deep();
    if (r < 0.75) return { kind: 'binary', binary: true, data: this.bytes(this.int(0, 2048)) };
    if (r < 0.83) return this.brokenUtf8();
    if (r < 0.92) return this.truncated();
    if (r < 0.995) return this.text('garbage', this.bytes(this.int(1, 300)).toString('latin1'));
    return this.tooLarge();
  }

  private text(kind: string, data: string): Frame {
    return { kind, binary: false, data };
  }

  private mutate(m: Record<string, unknown>): Record<string, unknown> {
    const ops = this.int(1, 4);
    for (let i = 0; i < ops; i++) {
      const keys = Object.keys(m);
      const key = keys.length ? this.pick(keys) : 'type';
      switch (this.int(0, 7)) {
        case 0:
          delete m[key];
          break;
        case 1:
          m[key] = this.value(2);
          break;
        case 2:
          m[this.pick(['room_id', 'target_id', 'viewer_id', 'password', 'sdp', 'candidate', 'extra', 'from_id', '__proto__'])] = this.value(3);
          break;
        case 3:
          m[key] = this.pick(WEIRD_STRINGS);
          break;
        case 4:
          // Mostly longer than any field allows; now and then close to the frame limit.
          m[key] = 'x'.repeat(this.random() < 0.05 ? this.int(2_000, this.maxMessageBytes - 200) : this.int(65, 2_000));
          break;
        case 5:
          m.type = this.pick([...TEMPLATES.map((t) => t.type as string), 'PING', 'ping ', 'welcome', 'error', 'x'.repeat(500)]);
          break;
        default:
          m[key] = this.pick([null, true, 0, -0.5, 1e308, [], {}, [1, 2], { a: { b: 1 } }]);
      }
    }
    return m;
  }

  private value(depth: number): unknown {
    const r = this.int(0, depth > 0 ? 8 : 5);
    switch (r) {
      case 0:
        return null;
      case 1:
        return this.random() < 0.5;
      case 2:
        return this.pick([0, -1, 1.5, 1e21, -1e-7, Number.MAX_SAFE_INTEGER, 123456]);
      case 3:
        return this.pick(WEIRD_STRINGS);
      case 4:
      case 5:
        return String(this.int(0, 999_999)).padStart(6, '0');
      case 6:
        return Array.from({ length: this.int(0, 4) }, () => this.value(depth - 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(0, 4); i > 0; i--) o[this.pick(['type', 'room_id', 'a', 'sdp', 'candidate', 'password'])] = this.value(depth - 1);
        return o;
      }
    }
  }

  private deep(): Frame {
    const depth = this.random() < 0.05 ? this.int(1_000, Math.floor((this.maxMessageBytes - 200) / 6)) : this.int(10, 200);
    const inner = this.random() < 0.5 ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const type = this.pick(['answer', 'offer', 'stats_report', 'ping']);
    return this.text('deep', `{"type":"${type}","target_id":"x","sdp":{"type":"${type}","sdp":""},"n":${inner}}`);
  }

  private brokenUtf8(): Frame {
    const valid = Buffer.from(JSON.stringify({ type: 'join_room', room_id: '123456', password: '密码🔑' }));
    const cut = this.int(1, valid.length - 1);
    const data = this.random() < 0.5 ? valid.subarray(0, cut) : Buffer.concat([valid.subarray(0, cut), Buffer.from([0xc3, 0x28, 0xff, 0xed, 0xa0, 0x80]), valid.subarray(cut)]);
    return { kind: 'broken_utf8', binary: false, data };
  }

  private truncated(): Frame {
    const text = JSON.stringify(this.mutate(structuredClone(this.pick(TEMPLATES))));
    return this.text('truncated', text.slice(0, this.int(0, Math.max(0, text.length - 1))));
  }

  private tooLarge(): Frame {
    // Over the soft limit (answered too_large), under ws's 1 MiB hard ceiling (which cuts the connection).
    const size = this.int(this.maxMessageBytes + 1, Math.min(this.maxMessageBytes * 3, (1 << 20) - 1024));
    return this.text('too_large', JSON.stringify({ type: 'ping', pad: 'y'.repeat(size) }));
  }

  private bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.random() * 256);
    return b;
  }

  private int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }
}
