// AV1 over RTP (AOMedia "RTP Payload Format for AV1" v1.0). Each packet opens
// with an aggregation header, Z Y W N: Z, its first OBU element continues one
// from the packet before; Y, its last one continues in the next; W, how many
// elements it holds (0: each carries a leb128 length; 1–3: all but the last
// do); N, it starts a new coded video sequence. OBUs come without size fields;
// WebCodecs decodes a temporal unit in the low-overhead bitstream format, so
// each OBU goes out with obu_has_size_field set and its size. Temporal
// delimiters and tile lists are dropped, as the payload format says a receiver
// must; the temporal unit opens with a fresh delimiter, as the bitstream format
// wants. A keyframe is a temporal unit with N set, or with a sequence header and
// a key frame; one that came without a sequence header gets the last one seen.
import { BitReader } from './bits.js';
import { BROKEN, Depacketizer, type CodecFrame, type DecoderConfig } from './depacketizer.js';

const OBU = { sequenceHeader: 1, temporalDelimiter: 2, frameHeader: 3, frame: 6, tileList: 8 } as const;
const TEMPORAL_DELIMITER = Uint8Array.of((OBU.temporalDelimiter << 3) | 0x02, 0);
/** When a sequence header cannot be read: main profile, level 4.0, 8-bit. */
const FALLBACK_CODEC = 'av01.0.08M.08';

export class Av1Depacketizer extends Depacketizer {
  private sequenceHeader: Uint8Array | null = null;
  private reducedStillPictureHeader = false;
  private config: DecoderConfig | null = null;

  constructor(clockRate: number) {
    super(clockRate, 'video');
  }

  /** A temporal unit starts with a packet whose first element is no continuation: N, or an OBU that opens one. */
  protected startsFrame(payload: Uint8Array): boolean {
    if (payload[0]! & 0x80) return false;
    if (payload[0]! & 0x08) return true;
    const first = elements(payload)?.[0];
    const type = first ? (first[0]! >> 3) & 0x0f : -1;
    return type === OBU.sequenceHeader || type === OBU.temporalDelimiter;
  }

  protected depacketize(payloads: Uint8Array[]): CodecFrame | null | typeof BROKEN {
    const obus = reassemble(payloads);
    if (!obus) return BROKEN;
    const out: Uint8Array[] = [TEMPORAL_DELIMITER];
    let sequenceHeader: Uint8Array | null = null;
    let keyFrame = false;
    let pictures = 0;
    for (const element of obus) {
      const obu = parseObu(element);
      if (!obu) return BROKEN;
      if (obu.type === OBU.temporalDelimiter || obu.type === OBU.tileList) continue;
      if (obu.type === OBU.sequenceHeader) sequenceHeader = this.keep(obu.payload, obu.sized);
      if ((obu.type === OBU.frame || obu.type === OBU.frameHeader) && pictures++ === 0) keyFrame = this.isKeyFrame(obu.payload);
      out.push(obu.sized);
    }
    if (pictures === 0) return null;
    const keyframe = (payloads[0]![0]! & 0x08) !== 0 || (sequenceHeader !== null && keyFrame);
    if (!keyframe) return { data: Buffer.concat(out), keyframe: false };
    if (!this.sequenceHeader || !this.config) return BROKEN; // no sequence header ever: nothing can decode it
    if (!sequenceHeader) out.splice(1, 0, this.sequenceHeader);
    return { data: Buffer.concat(out), keyframe: true, config: this.config };
  }

  /** Keeps a sequence header (its OBU with the size field) and, when it changed, the config it makes. */
  private keep(payload: Uint8Array, sized: Uint8Array): Uint8Array {
    if (this.sequenceHeader && Buffer.compare(this.sequenceHeader, sized) === 0) return this.sequenceHeader;
    this.sequenceHeader = sized;
    const info = readSequenceHeader(payload);
    this.reducedStillPictureHeader = info?.reducedStillPictureHeader ?? false;
    this.config = info ? { codec: info.codec, codedWidth: info.width, codedHeight: info.height } : { codec: FALLBACK_CODEC };
    return sized;
  }

  /** frame_type of a frame header (AV1 5.9.2): KEY_FRAME is 0. */
  private isKeyFrame(header: Uint8Array): boolean {
    if (this.reducedStillPictureHeader) return true;
    const r = new BitReader(header);
    try {
      return r.bit() === 0 && r.bits(2) === 0; // not show_existing_frame, and frame_type KEY_FRAME
    } catch {
      return false;
    }
  }
}

/** The OBU elements of one packet, by the W field, or null when a length runs past the end. */
function elements(p: Uint8Array): Uint8Array[] | null {
  const count = (p[0]! >> 4) & 3;
  const out: Uint8Array[] = [];
  let at = 1;
  while (at < p.length) {
    if (count !== 0 && out.length === count - 1) {
      out.push(p.subarray(at));
      break;
    }
    const length = leb128(p, at);
    if (!length || at + length.bytes + length.value > p.length) return null;
    at += length.bytes;
    out.push(p.subarray(at, at + length.value));
    at += length.value;
  }
  return out;
}

/** Whole OBUs from a temporal unit's packets, fragments joined (Z and Y), or null when they do not fit together. */
function reassemble(payloads: Uint8Array[]): Uint8Array[] | null {
  const obus: Uint8Array[] = [];
  let fragment: Uint8Array[] | null = null;
  for (const p of payloads) {
    const list = elements(p);
    const continues = (p[0]! & 0x80) !== 0;
    if (!list || continues !== (fragment !== null)) return null;
    for (let i = 0; i < list.length; i++) {
      if (i === 0 && fragment) fragment.push(list[i]!);
      else fragment = [list[i]!];
      // Complete unless it is the last element and Y says it goes on.
      if (i < list.length - 1 || !(p[0]! & 0x40)) {
        obus.push(Buffer.concat(fragment));
        fragment = null;
      }
    }
  }
  return fragment ? null : obus;
}

interface Obu {
  type: number;
  payload: Uint8Array;
  /** The OBU in the low-overhead format: header with obu_has_size_field, leb128 size, payload. */
  sized: Uint8Array;
}

function parseObu(element: Uint8Array): Obu | null {
  if (element.length === 0 || element[0]! & 0x80) return null; // forbidden bit
  const headerBytes = element[0]! & 0x04 ? 2 : 1;
  if (element.length < headerBytes) return null;
  let payload = element.subarray(headerBytes);
  if (element[0]! & 0x02) {
    // A sender may keep the size field (the format allows it): trust it over the element's length.
    const size = leb128(element, headerBytes);
    if (!size || headerBytes + size.bytes + size.value > element.length) return null;
    payload = element.subarray(headerBytes + size.bytes, headerBytes + size.bytes + size.value);
  }
  const header = element.slice(0, headerBytes);
  header[0]! |= 0x02;
  return { type: (element[0]! >> 3) & 0x0f, payload, sized: Buffer.concat([header, writeLeb128(payload.length), payload]) };
}

function leb128(bytes: Uint8Array, at: number): { value: number; bytes: number } | null {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const b = bytes[at + i];
    if (b === undefined) return null;
    value += (b & 0x7f) * 2 ** (7 * i);
    if (!(b & 0x80)) return { value, bytes: i + 1 };
  }
  return null;
}

function writeLeb128(value: number): Uint8Array {
  const out: number[] = [];
  do {
    const low = value % 128;
    value = Math.floor(value / 128);
    out.push(low | (value > 0 ? 0x80 : 0));
  } while (value > 0);
  return Uint8Array.from(out);
}

interface SequenceInfo {
  codec: string;
  width: number;
  height: number;
  reducedStillPictureHeader: boolean;
}

/** The fields of a sequence header (AV1 5.5) that make the codec string av01.P.LLT.DD and the picture size. */
function readSequenceHeader(payload: Uint8Array): SequenceInfo | null {
  const r = new BitReader(payload);
  try {
    const profile = r.bits(3);
    r.bit(); // still_picture
    const reduced = r.bit() === 1;
    let level = 0;
    let tier = 0;
    if (reduced) {
      level = r.bits(5);
    } else {
      let decoderModelInfo = false;
      let bufferDelayLength = 0;
      if (r.bit()) {
        // timing_info: num_units_in_display_tick, time_scale, equal_picture_interval (+ num_ticks_per_picture_minus_1)
        r.bits(32);
        r.bits(32);
        if (r.bit()) r.ue();
        decoderModelInfo = r.bit() === 1;
        if (decoderModelInfo) {
          bufferDelayLength = r.bits(5) + 1;
          r.bits(32); // num_units_in_decoding_tick
          r.bits(10); // buffer_removal_time_length_minus_1, frame_presentation_time_length_minus_1
        }
      }
      const initialDisplayDelay = r.bit() === 1;
      const operatingPoints = r.bits(5) + 1;
      for (let i = 0; i < operatingPoints; i++) {
        r.bits(12); // operating_point_idc
        const opLevel = r.bits(5);
        const opTier = opLevel > 7 ? r.bit() : 0;
        if (i === 0) [level, tier] = [opLevel, opTier];
        if (decoderModelInfo && r.bit()) r.bits(2 * bufferDelayLength + 1); // decoder/encoder buffer delay, low_delay_mode_flag
        if (initialDisplayDelay && r.bit()) r.bits(4);
      }
    }
    const widthBits = r.bits(4) + 1;
    const heightBits = r.bits(4) + 1;
    const width = r.bits(widthBits) + 1;
    const height = r.bits(heightBits) + 1;
    const bitDepth = colorBitDepth(r, profile, reduced);
    const two = (n: number) => String(n).padStart(2, '0');
    return { codec: `av01.${profile}.${two(level)}${tier ? 'H' : 'M'}.${two(bitDepth)}`, width, height, reducedStillPictureHeader: reduced };
  } catch {
    return null;
  }
}

/** Reads on from frame_id_numbers_present_flag to color_config's bit depth (AV1 5.5.1, 5.5.2). */
function colorBitDepth(r: BitReader, profile: number, reduced: boolean): number {
  if (!reduced && r.bit()) r.bits(7); // frame ids: delta_frame_id_length_minus_2, additional_frame_id_length_minus_1
  r.bits(3); // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  if (!reduced) {
    r.bits(4); // enable_interintra_compound, enable_masked_compound, enable_warped_motion, enable_dual_filter
    const orderHint = r.bit() === 1;
    if (orderHint) r.bits(2); // enable_jnt_comp, enable_ref_frame_mvs
    const forceScreenContentTools = r.bit() ? 2 : r.bit(); // seq_choose_screen_content_tools: SELECT_SCREEN_CONTENT_TOOLS
    if (forceScreenContentTools > 0 && !r.bit()) r.bit(); // seq_choose_integer_mv, else seq_force_integer_mv
    if (orderHint) r.bits(3); // order_hint_bits_minus_1
  }
  r.bits(3); // enable_superres, enable_cdef, enable_restoration
  const highBitDepth = r.bit() === 1;
  if (profile === 2 && highBitDepth) return r.bit() ? 12 : 10;
  return highBitDepth ? 10 : 8;
}
