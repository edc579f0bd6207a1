// Hand-built RTP packets and codec headers for the depacketizer tests.

export interface BuildOptions {
  sequence: number;
  timestamp: number;
  marker?: boolean;
  payloadType?: number;
  ssrc?: number;
  /** Adds a one-byte header extension block, as browsers send. */
  extension?: boolean;
  csrcs?: number;
  padding?: number;
}

export function rtp(payload: Uint8Array | number[], o: BuildOptions): Buffer {
  const extension = o.extension ? Buffer.from([0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]) : Buffer.alloc(0);
  const csrcs = Buffer.alloc(4 * (o.csrcs ?? 0), 0x11);
  const padding = o.padding ? Buffer.concat([Buffer.alloc(o.padding - 1), Buffer.from([o.padding])]) : Buffer.alloc(0);
  const header = Buffer.alloc(12);
  header[0] = 0x80 | (o.padding ? 0x20 : 0) | (o.extension ? 0x10 : 0) | (o.csrcs ?? 0);
  header[1] = (o.marker ? 0x80 : 0) | (o.payloadType ?? 96);
  header.writeUInt16BE(o.sequence & 0xffff, 2);
  header.writeUInt32BE(o.timestamp >>> 0, 4);
  header.writeUInt32BE(o.ssrc ?? 0x1234, 8);
  return Buffer.concat([header, csrcs, extension, Buffer.from(payload), padding]);
}

/** Writes bit fields, most significant bit first, with Exp-Golomb codes: codec headers for tests. */
export class BitWriter {
  private readonly bitsOut: number[] = [];

  bits(n: number, value: number): this {
    for (let i = n - 1; i >= 0; i--) this.bitsOut.push(Math.floor(value / 2 ** i) % 2);
    return this;
  }

  ue(value: number): this {
    const code = value + 1;
    const length = Math.floor(Math.log2(code));
    return this.bits(length, 0).bits(length + 1, code);
  }

  se(value: number): this {
    return this.ue(value <= 0 ? -2 * value : 2 * value - 1);
  }

  /** The bytes, the last one padded with a stop bit and zeros (rbsp_trailing_bits). */
  bytes(stopBit = true): Uint8Array {
    const all = stopBit ? [...this.bitsOut, 1] : [...this.bitsOut];
    while (all.length % 8) all.push(0);
    const out = new Uint8Array(all.length / 8);
    all.forEach((b, i) => (out[i >> 3]! |= b << (7 - (i & 7))));
    return out;
  }
}
