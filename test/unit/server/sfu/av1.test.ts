import { describe, expect, it } from 'vitest';
import { Av1Depacketizer } from '../../../../src/server/sfu/depacketize/av1.js';
import { BitWriter } from '../../../helpers/rtp-build.js';
import { Stream } from './stream.js';

const TYPE = { sequenceHeader: 1, temporalDelimiter: 2, frame: 6, tileList: 8, padding: 15 };

/** Main profile, level 4.0 (idx 8), 8-bit, 1280×720. */
const SEQUENCE_720P = new BitWriter()
  .bits(3, 0).bits(1, 0).bits(1, 0) // profile, still_picture, reduced_still_picture_header
  .bits(1, 0).bits(1, 0).bits(5, 0) // no timing info, no initial display delay, one operating point
  .bits(12, 0).bits(5, 8) // its idc and level (≤ 7 would have no tier)
  .bits(1, 0) // tier
  .bits(4, 10).bits(4, 10).bits(11, 1279).bits(11, 719) // frame size bits and max frame size
  .bits(1, 0).bits(3, 0).bits(4, 0) // no frame ids; superblock, filter intra, intra edge; compound, masked, warped, dual filter
  .bits(1, 1).bits(2, 0) // order hint, jnt_comp, ref_frame_mvs
  .bits(1, 1).bits(1, 1) // seq_choose_screen_content_tools, seq_choose_integer_mv
  .bits(3, 6) // order_hint_bits_minus_1
  .bits(3, 3) // superres, cdef, restoration
  .bits(1, 0) // high_bitdepth
  .bytes();

/** An OBU without size field (as RTP carries them); `extension` adds the extension byte. */
const obu = (type: number, payload: number[] | Uint8Array, extension?: number) =>
  Uint8Array.from([(type << 3) | (extension !== undefined ? 4 : 0), ...(extension !== undefined ? [extension] : []), ...payload]);
/** The same OBU as the output holds it: obu_has_size_field and a leb128 size (all sizes here < 128). */
const sized = (type: number, payload: number[] | Uint8Array, extension?: number) =>
  Uint8Array.from([(type << 3) | 2 | (extension !== undefined ? 4 : 0), ...(extension !== undefined ? [extension] : []), payload.length, ...payload]);

const KEY = [0x10, ...Array(40).fill(0xaa)]; // not show_existing_frame, frame_type KEY_FRAME
const INTER = [0x20, 0xbb, 0xbb, 0xbb]; // frame_type INTER_FRAME
const TD = Uint8Array.of(0x12, 0);

/** A packet: aggregation header Z Y W N, then elements (with a length each but the last, when w > 0). */
function packet(o: { z?: boolean; y?: boolean; n?: boolean; w: number }, ...elements: Uint8Array[]): Uint8Array {
  const head = (o.z ? 0x80 : 0) | (o.y ? 0x40 : 0) | (o.w << 4) | (o.n ? 0x08 : 0);
  const body = elements.flatMap((e, i) => (o.w !== 0 && i === elements.length - 1 ? [...e] : [e.length, ...e]));
  return Uint8Array.from([head, ...body]);
}

const stream = () => new Stream(new Av1Depacketizer(90_000));
const bytes = (...parts: Uint8Array[]) => Buffer.concat(parts);

describe('Av1Depacketizer', () => {
  it('a keyframe over three packets (W = 0 with lengths, then a fragment continued twice): size fields added, the temporal delimiter replaced by a fresh one', () => {
    const frame = obu(TYPE.frame, KEY);
    const s = stream().send(0, [
      packet({ n: true, y: true, w: 0 }, obu(TYPE.temporalDelimiter, []), obu(TYPE.sequenceHeader, SEQUENCE_720P), frame.subarray(0, 10)),
      packet({ z: true, y: true, w: 1 }, frame.subarray(10, 30)),
      packet({ z: true, w: 1 }, frame.subarray(30)),
    ]);
    expect(s.frames).toHaveLength(1);
    expect(s.frames[0]).toMatchObject({ keyframe: true, config: { codec: 'av01.0.08M.08', codedWidth: 1280, codedHeight: 720 } });
    expect(Buffer.from(s.frames[0]!.data)).toEqual(bytes(TD, sized(TYPE.sequenceHeader, SEQUENCE_720P), sized(TYPE.frame, KEY)));
  });

  it('W = 2: the first element has a length, the last runs to the end; tile lists go, extension headers and size fields the sender kept stay right', () => {
    const withSize = Uint8Array.from([(TYPE.frame << 3) | 2, INTER.length, ...INTER]);
    const s = stream()
      .send(0, [packet({ n: true, w: 2 }, obu(TYPE.sequenceHeader, SEQUENCE_720P), obu(TYPE.frame, KEY))])
      .send(3000, [packet({ w: 2 }, obu(TYPE.tileList, [1, 2, 3]), obu(TYPE.frame, INTER, 0x28))])
      .send(6000, [packet({ w: 1 }, withSize)]);
    expect(s.frames.map((f) => f.keyframe)).toEqual([true, false, false]);
    expect(Buffer.from(s.frames[1]!.data)).toEqual(bytes(TD, sized(TYPE.frame, INTER, 0x28)));
    expect(Buffer.from(s.frames[2]!.data)).toEqual(bytes(TD, sized(TYPE.frame, INTER)));
  });

  it('a sequence header and a KEY_FRAME make a keyframe without N', () => {
    const s = stream().send(0, [packet({ w: 2 }, obu(TYPE.sequenceHeader, SEQUENCE_720P), obu(TYPE.frame, KEY))]);
    expect(s.frames.map((f) => f.keyframe)).toEqual([true]);
  });

  it('a keyframe (N) without a sequence header gets the last one seen', () => {
    const s = stream()
      .send(0, [packet({ n: true, w: 2 }, obu(TYPE.sequenceHeader, SEQUENCE_720P), obu(TYPE.frame, KEY))])
      .send(3000, [packet({ n: true, w: 1 }, obu(TYPE.frame, KEY))]);
    expect(Buffer.from(s.frames[1]!.data)).toEqual(bytes(TD, sized(TYPE.sequenceHeader, SEQUENCE_720P), sized(TYPE.frame, KEY)));
    expect(s.frames[1]!.keyframe).toBe(true);
  });

  it('a keyframe before any sequence header cannot be decoded: nothing goes out and a keyframe is needed', () => {
    const s = stream().send(0, [packet({ n: true, w: 1 }, obu(TYPE.frame, KEY))]).send(3000, [packet({ w: 1 }, obu(TYPE.frame, INTER))]);
    expect(s.frames).toEqual([]);
    expect(s.needKeyframe).toBe(true);
  });

  it('a fragment lost in the middle: the temporal unit and those after it are dropped until the next keyframe', () => {
    const big = obu(TYPE.frame, [...INTER, ...Array(30).fill(1)]);
    const s = stream().send(0, [packet({ n: true, w: 2 }, obu(TYPE.sequenceHeader, SEQUENCE_720P), obu(TYPE.frame, KEY))]);
    s.send(3000, [packet({ y: true, w: 1 }, big.subarray(0, 10)), packet({ z: true, y: true, w: 1 }, big.subarray(10, 20)), packet({ z: true, w: 1 }, big.subarray(20))], [1]);
    s.send(6000, [packet({ w: 1 }, obu(TYPE.frame, INTER))]).send(9000, [packet({ w: 1 }, obu(TYPE.frame, INTER))]);
    expect(s.frames.map((f) => f.timestamp)).toEqual([0]);
    expect(s.needKeyframe).toBe(true);
    s.send(12_000, [packet({ n: true, w: 2 }, obu(TYPE.sequenceHeader, SEQUENCE_720P), obu(TYPE.frame, KEY))]);
    expect(s.frames.map((f) => f.timestamp)).toEqual([0, 12_000]);
    expect(s.needKeyframe).toBe(false);
  });

  it('the codec string through timing info, a decoder model and two operating points: profile 2, level 12 high tier, 12-bit', () => {
    const header = new BitWriter()
      .bits(3, 2).bits(1, 0).bits(1, 0)
      .bits(1, 1).bits(32, 1001).bits(32, 30_000).bits(1, 1).ue(0) // timing info, equal picture interval
      .bits(1, 1).bits(5, 9).bits(32, 90_000).bits(5, 4).bits(5, 4) // decoder model: 10-bit buffer delays
      .bits(1, 1).bits(5, 1) // initial display delay; two operating points
      .bits(12, 0x103).bits(5, 12).bits(1, 1).bits(1, 1).bits(10, 5).bits(10, 5).bits(1, 0).bits(1, 1).bits(4, 3)
      .bits(12, 0x101).bits(5, 5).bits(1, 0).bits(1, 0)
      .bits(4, 11).bits(4, 11).bits(12, 3839).bits(12, 2159)
      .bits(1, 0).bits(3, 0).bits(4, 0).bits(1, 0).bits(1, 0).bits(1, 1) // no order hint; screen content tools forced on
      .bits(1, 0) // seq_choose_integer_mv 0, then seq_force_integer_mv
      .bits(1, 1)
      .bits(3, 0)
      .bits(1, 1).bits(1, 1) // high_bitdepth, twelve_bit
      .bytes();
    const s = stream().send(0, [packet({ n: true, w: 2 }, obu(TYPE.sequenceHeader, header), obu(TYPE.frame, KEY))]);
    expect(s.frames[0]!.config).toEqual({ codec: 'av01.2.12H.12', codedWidth: 3840, codedHeight: 2160 });
  });

  it('a sequence header it cannot read: av01.0.08M.08, no size', () => {
    const s = stream().send(0, [packet({ n: true, w: 2 }, obu(TYPE.sequenceHeader, [0, 0]), obu(TYPE.frame, KEY))]);
    expect(s.frames[0]!.config).toEqual({ codec: 'av01.0.08M.08' });
  });
});
