// VP9 over RTP (RFC 9628): each packet's payload descriptor is stripped; the
// B and E bits bound a layer frame, the marker bit ends the picture. A picture
// of one spatial layer is its frame; with several spatial layers, the frames
// go out as one superframe (VP9 Annex B), which the decoder takes in one
// chunk. A keyframe is a picture whose base layer frame is not inter-predicted
// (P clear); its uncompressed header gives the profile, bit depth and size.
import { BitReader } from './bits.js';
import { BROKEN, Depacketizer, type CodecFrame, type DecoderConfig } from './depacketizer.js';

interface Descriptor {
  /** B: the packet starts a layer frame. */
  begins: boolean;
  /** E: the packet ends a layer frame. */
  ends: boolean;
  /** P: the frame is inter-picture predicted. */
  predicted: boolean;
  spatialLayer: number;
  /** Where the VP9 payload begins. */
  offset: number;
}

/** The payload descriptor (RFC 9628 section 4.2), or null when the packet is too short to hold it. */
function descriptor(p: Uint8Array): Descriptor | null {
  const b = p[0];
  if (b === undefined) return null;
  const flexible = (b & 0x10) !== 0;
  let offset = 1;
  if (b & 0x80) offset += (p[offset] ?? 0) & 0x80 ? 2 : 1; // I: PictureID, 7 or (M) 15 bits
  let spatialLayer = 0;
  if (b & 0x20) {
    // L: TID U SID D, and TL0PICIDX in non-flexible mode.
    spatialLayer = ((p[offset] ?? 0) >> 1) & 0x07;
    offset += flexible ? 1 : 2;
  }
  if (flexible && b & 0x40) {
    // P_DIFF: up to three, each with N set when another follows.
    for (let n = 0; n < 3 && (p[offset++] ?? 0) & 0x01; n++);
  }
  if (b & 0x02) {
    // V: scalability structure: N_S Y G, then sizes (Y) and the picture group (G).
    const ss = p[offset++] ?? 0;
    if (ss & 0x10) offset += 4 * ((ss >> 5) + 1);
    if (ss & 0x08) {
      const pictures = p[offset++] ?? 0;
      for (let i = 0; i < pictures; i++) offset += 1 + (((p[offset] ?? 0) >> 2) & 0x03);
    }
  }
  if (offset >= p.length) return null;
  return { begins: (b & 0x08) !== 0, ends: (b & 0x04) !== 0, predicted: (b & 0x40) !== 0, spatialLayer, offset };
}

export class Vp9Depacketizer extends Depacketizer {
  private config: DecoderConfig | null = null;

  constructor(clockRate: number) {
    super(clockRate, 'video');
  }

  protected startsFrame(payload: Uint8Array): boolean {
    const d = descriptor(payload);
    return d !== null && d.begins && d.spatialLayer === 0;
  }

  protected depacketize(payloads: Uint8Array[]): CodecFrame | null | typeof BROKEN {
    const frames: Uint8Array[] = [];
    let parts: Uint8Array[] | null = null;
    let first: Descriptor | null = null;
    for (const p of payloads) {
      const d = descriptor(p);
      if (!d || d.begins === (parts !== null)) return BROKEN; // a layer frame begun twice, or never
      first ??= d;
      parts = [...(parts ?? []), p.subarray(d.offset)];
      if (d.ends) {
        frames.push(Buffer.concat(parts));
        parts = null;
      }
    }
    if (parts || !first) return BROKEN;
    const data = frames.length === 1 ? frames[0]! : superframe(frames);
    if (first.predicted || first.spatialLayer !== 0) return { data, keyframe: false };
    const header = keyFrameHeader(frames[0]!);
    if (!header) return BROKEN;
    const { profile, bitDepth, codedWidth, codedHeight } = header;
    const codec = `vp09.0${profile}.${level(codedWidth * codedHeight)}.${String(bitDepth).padStart(2, '0')}`;
    if (this.config?.codec !== codec || this.config.codedWidth !== codedWidth || this.config.codedHeight !== codedHeight) this.config = { codec, codedWidth, codedHeight };
    return { data, keyframe: true, config: this.config };
  }
}

/** Frames of one picture joined into a superframe: the frames, then an index of their sizes (VP9 Annex B). */
function superframe(frames: Uint8Array[]): Uint8Array {
  const largest = Math.max(...frames.map((f) => f.length));
  const bytes = largest < 1 << 8 ? 1 : largest < 1 << 16 ? 2 : largest < 1 << 24 ? 3 : 4;
  const marker = 0xc0 | ((bytes - 1) << 3) | (frames.length - 1);
  const index = [marker];
  for (const f of frames) for (let i = 0; i < bytes; i++) index.push((f.length >> (8 * i)) & 0xff);
  index.push(marker);
  return Buffer.concat([...frames, Uint8Array.from(index)]);
}

/** Profile, bit depth and size from a key frame's uncompressed header (VP9 6.2), or null when it is not one. */
function keyFrameHeader(frame: Uint8Array): { profile: number; bitDepth: number; codedWidth: number; codedHeight: number } | null {
  const r = new BitReader(frame);
  try {
    if (r.bits(2) !== 2) return null; // frame_marker
    const low = r.bit();
    const profile = (r.bit() << 1) | low;
    if (profile === 3) r.bit(); // reserved_zero
    if (r.bit() || r.bit()) return null; // show_existing_frame; frame_type 1 is a non-key frame
    r.bits(2); // show_frame, error_resilient_mode
    if (r.bits(24) !== 0x498342) return null; // frame_sync_code
    const bitDepth = profile >= 2 ? (r.bit() ? 12 : 10) : 8;
    const colorSpace = r.bits(3);
    if (colorSpace !== 7) r.bit(); // color_range (sRGB has none)
    if (profile === 1 || profile === 3) r.bits(colorSpace !== 7 ? 3 : 1); // subsampling_x, subsampling_y, reserved_zero
    return { profile, bitDepth, codedWidth: r.bits(16) + 1, codedHeight: r.bits(16) + 1 };
  } catch {
    return null;
  }
}

/** The lowest VP9 level (Annex A) whose picture size limit holds this many luma samples. */
function level(samples: number): string {
  const limits: [string, number][] = [['10', 36_864], ['11', 73_728], ['20', 122_880], ['21', 245_760], ['30', 552_960], ['31', 983_040], ['40', 2_228_224], ['50', 8_912_896]];
  return limits.find(([, max]) => samples <= max)?.[0] ?? '60';
}
