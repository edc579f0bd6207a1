// Reading codec headers bit by bit (H.264 SPS, AV1 sequence and frame headers,
// VP9 uncompressed header), most significant bit first. Reading past the end
// throws: a header cut short is a broken one.

export class BitReader {
  private position = 0;

  constructor(private readonly bytes: Uint8Array) {}

  bit(): number {
    const byte = this.bytes[this.position >> 3];
    if (byte === undefined) throw new RangeError('header cut short');
    const bit = (byte >> (7 - (this.position & 7))) & 1;
    this.position++;
    return bit;
  }

  /** An unsigned field of up to 32 bits. */
  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = value * 2 + this.bit();
    return value;
  }

  /** Exp-Golomb ue(v) (H.264); AV1's uvlc() is the same code. */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new RangeError('exp-Golomb code too long');
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  /** Exp-Golomb se(v). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}
