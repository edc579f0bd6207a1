// VP8 over RTP (RFC 7741): each packet's payload descriptor is stripped and the
// rest concatenated into the frame. A frame starts at the packet with S set and
// partition index 0, where the VP8 payload header begins: its P bit says key
// frame, and a key frame's header gives the picture size.
import { BROKEN, Depacketizer, type CodecFrame, type DecoderConfig } from './depacketizer.js';

interface Descriptor {
  /** S: the packet starts a partition. */
  start: boolean;
  partition: number;
  /** Where the VP8 payload begins. */
  offset: number;
}

/** The payload descriptor (RFC 7741 section 4.2), or null when the packet is too short to hold it. */
function descriptor(p: Uint8Array): Descriptor | null {
  if (p.length < 1) return null;
  let offset = 1;
  if (p[0]! & 0x80) {
    // X: the extension byte, then PictureID (I: 7 or, with M, 15 bits), TL0PICIDX (L), TID/Y/KEYIDX (T or K).
    const x = p[offset++];
    if (x === undefined) return null;
    if (x & 0x80) offset += (p[offset] ?? 0) & 0x80 ? 2 : 1;
    if (x & 0x40) offset++;
    if (x & 0x30) offset++;
  }
  if (offset >= p.length) return null;
  return { start: (p[0]! & 0x10) !== 0, partition: p[0]! & 0x07, offset };
}

export class Vp8Depacketizer extends Depacketizer {
  private config: DecoderConfig | null = null;

  constructor(clockRate: number) {
    super(clockRate, 'video');
  }

  protected startsFrame(payload: Uint8Array): boolean {
    const d = descriptor(payload);
    return d !== null && d.start && d.partition === 0;
  }

  protected depacketize(payloads: Uint8Array[]): CodecFrame | null | typeof BROKEN {
    const parts: Uint8Array[] = [];
    for (const p of payloads) {
      const d = descriptor(p);
      if (!d || (parts.length === 0 && !(d.start && d.partition === 0))) return BROKEN;
      parts.push(p.subarray(d.offset));
    }
    const data = Buffer.concat(parts);
    // The payload header's P bit (RFC 7741 section 4.3): 0 for a key frame.
    if ((data[0]! & 1) === 1) return { data, keyframe: false };
    // A key frame: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height (and 2-bit scale), little-endian.
    if (data.length < 10 || data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a) return BROKEN;
    const codedWidth = (data[6]! | (data[7]! << 8)) & 0x3fff;
    const codedHeight = (data[8]! | (data[9]! << 8)) & 0x3fff;
    if (this.config?.codedWidth !== codedWidth || this.config.codedHeight !== codedHeight) this.config = { codec: 'vp8', codedWidth, codedHeight };
    return { data, keyframe: true, config: this.config };
  }
}
