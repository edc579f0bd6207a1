// H.264 over RTP (RFC 6184), non-interleaved mode (packetization-mode 1, what
// browsers and OBS send): single NAL unit packets, STAP-A aggregates and FU-A
// fragments, out as one Annex B access unit per frame (what WebCodecs decodes
// when the config carries no avcC description). The decoder needs SPS and PPS
// before an IDR: we keep the latest ones (from the stream, or from the SDP's
// sprop-parameter-sets) and put them in front of a keyframe that came without,
// so a viewer can always start on any IDR.
import { BitReader } from './bits.js';
import { BROKEN, Depacketizer, type CodecFrame, type DecoderConfig } from './depacketizer.js';

const NAL = { slice: 1, idr: 5, sei: 6, sps: 7, pps: 8, aud: 9, stapA: 24, fuA: 28 } as const;
const START_CODE = Uint8Array.of(0, 0, 0, 1);

export class H264Depacketizer extends Depacketizer {
  private sps: Uint8Array | null = null;
  /** PPS by pic_parameter_set_id: an encoder may use several. */
  private readonly pps = new Map<number, Uint8Array>();
  private config: DecoderConfig | null = null;

  constructor(clockRate: number, fmtp?: string) {
    super(clockRate, 'video');
    const sprop = /(?:^|;)\s*sprop-parameter-sets=([^;]+)/.exec(fmtp ?? '')?.[1];
    for (const b64 of sprop?.split(',') ?? []) this.keep(new Uint8Array(Buffer.from(b64, 'base64')));
  }

  protected startsFrame(payload: Uint8Array): boolean {
    const type = payload[0]! & 0x1f;
    if (type === NAL.stapA) return payload.length > 4 && startsAccessUnit(payload[3]! & 0x1f, payload[4]);
    if (type === NAL.fuA) return payload.length > 2 && (payload[1]! & 0x80) !== 0 && startsAccessUnit(payload[1]! & 0x1f, payload[2]);
    return startsAccessUnit(type, payload[1]);
  }

  protected depacketize(payloads: Uint8Array[]): CodecFrame | null | typeof BROKEN {
    const nals = unpack(payloads);
    if (!nals) return BROKEN;
    let idr = false;
    let vcl = false;
    const carried = new Set<number>();
    for (const nal of nals) {
      const type = nal[0]! & 0x1f;
      carried.add(type);
      if (type === NAL.sps || type === NAL.pps) this.keep(nal);
      idr ||= type === NAL.idr;
      vcl ||= type >= NAL.slice && type <= NAL.idr;
    }
    // SPS, PPS or SEI on their own: kept, nothing to decode.
    if (!vcl) return null;
    if (!idr) return { data: annexB(nals), keyframe: false };
    if (!this.sps || this.pps.size === 0 || !this.config) return BROKEN; // an IDR we cannot configure a decoder for
    if (!carried.has(NAL.sps) || !carried.has(NAL.pps)) {
      // After an access unit delimiter, if there is one: it must stay first.
      const at = (nals[0]![0]! & 0x1f) === NAL.aud ? 1 : 0;
      nals.splice(at, 0, this.sps, ...this.pps.values());
    }
    return { data: annexB(nals), keyframe: true, config: this.config };
  }

  private keep(nal: Uint8Array): void {
    const type = nal[0]! & 0x1f;
    if (type === NAL.pps) {
      try {
        this.pps.set(new BitReader(unescape(nal.subarray(1))).ue(), nal);
      } catch {
        // A PPS too short to hold its id: useless.
      }
      return;
    }
    if (type !== NAL.sps || nal.length < 4 || (this.sps && equal(this.sps, nal))) return;
    this.sps = nal;
    const hex = (b: number) => b.toString(16).padStart(2, '0');
    // avc1.PPCCLL: profile_idc, the constraint flags byte, level_idc.
    this.config = { codec: `avc1.${hex(nal[1]!)}${hex(nal[2]!)}${hex(nal[3]!)}`, ...spsSize(nal) };
  }
}

/** Whether a NAL unit of this type, with this first payload byte, can open an access unit. */
function startsAccessUnit(type: number, firstByte: number | undefined): boolean {
  if (type === NAL.sei || type === NAL.sps || type === NAL.pps || type === NAL.aud) return true;
  // A slice opens its picture when first_mb_in_slice is 0 (ue(v) "1").
  return (type === NAL.slice || type === NAL.idr) && firstByte !== undefined && (firstByte & 0x80) !== 0;
}

/** The NAL units of a frame's payloads, or null when the packetization is broken or not mode 1. */
function unpack(payloads: Uint8Array[]): Uint8Array[] | null {
  const nals: Uint8Array[] = [];
  let fragments: Uint8Array[] | null = null;
  for (const p of payloads) {
    const type = p[0]! & 0x1f;
    if (type === NAL.fuA) {
      if (p.length < 3) return null;
      const start = (p[1]! & 0x80) !== 0;
      if (start === (fragments !== null)) return null; // a start inside a NAL unit, or a middle without start
      // The NAL header, rebuilt: F and NRI from the FU indicator, the type from the FU header.
      fragments ??= [Uint8Array.of((p[0]! & 0xe0) | (p[1]! & 0x1f))];
      fragments.push(p.subarray(2));
      if (p[1]! & 0x40) {
        nals.push(Buffer.concat(fragments));
        fragments = null;
      }
      continue;
    }
    if (fragments) return null; // a fragmented NAL unit that never ended
    if (type >= 1 && type <= 23) {
      nals.push(p);
    } else if (type === NAL.stapA) {
      for (let at = 1; at < p.length; ) {
        const size = at + 2 <= p.length ? (p[at]! << 8) | p[at + 1]! : 0;
        if (size === 0 || at + 2 + size > p.length) return null;
        nals.push(p.subarray(at + 2, at + 2 + size));
        at += 2 + size;
      }
    } else {
      return null; // STAP-B, MTAP, FU-B: interleaved mode, never negotiated
    }
  }
  return fragments ? null : nals;
}

function annexB(nals: Uint8Array[]): Uint8Array {
  return Buffer.concat(nals.flatMap((nal) => [START_CODE, nal]));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The RBSP of a NAL unit: emulation prevention bytes (00 00 03) taken out. */
function unescape(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const b of bytes) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out.push(b);
  }
  return Uint8Array.from(out);
}

/** The picture size an SPS declares, after cropping (H.264 7.3.2.1.1), or nothing when it cannot be read. */
function spsSize(sps: Uint8Array): { codedWidth?: number; codedHeight?: number } {
  try {
    const r = new BitReader(unescape(sps.subarray(1)));
    const profile = r.bits(8);
    r.bits(16); // constraint flags, level_idc
    r.ue(); // seq_parameter_set_id
    let chroma = 1;
    if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
      chroma = r.ue();
      if (chroma === 3) r.bit(); // separate_colour_plane_flag
      r.ue(); // bit_depth_luma_minus8
      r.ue(); // bit_depth_chroma_minus8
      r.bit(); // qpprime_y_zero_transform_bypass_flag
      if (r.bit()) {
        for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) {
      r.ue(); // log2_max_pic_order_cnt_lsb_minus4
    } else if (pocType === 1) {
      r.bit(); // delta_pic_order_always_zero_flag
      r.se(); // offset_for_non_ref_pic
      r.se(); // offset_for_top_to_bottom_field
      for (let i = r.ue(); i > 0; i--) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.bit(); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bit();
    if (!frameMbsOnly) r.bit(); // mb_adaptive_frame_field_flag
    r.bit(); // direct_8x8_inference_flag
    const crop = r.bit() ? [r.ue(), r.ue(), r.ue(), r.ue()] : [0, 0, 0, 0];
    // Crop units: chroma samples, and field pairs when not frame-only.
    const cropX = chroma === 0 || chroma === 3 ? 1 : 2;
    const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    return {
      codedWidth: widthMbs * 16 - cropX * (crop[0]! + crop[1]!),
      codedHeight: (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (crop[2]! + crop[3]!),
    };
  } catch {
    return {};
  }
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size && next !== 0; j++) {
    next = (last + r.se() + 256) % 256;
    if (next !== 0) last = next;
  }
}
