import { describe, expect, it } from 'vitest';
import { H264Depacketizer } from '../../../../src/server/sfu/depacketize/h264.js';
import { BitWriter } from '../../../helpers/rtp-build.js';
import { Stream } from './stream.js';

/** A NAL unit: header byte, then the RBSP with emulation prevention bytes put in. */
function nal(header: number, rbsp: Uint8Array | number[]): Uint8Array {
  const out = [header];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out.push(b);
  }
  return Uint8Array.from(out);
}

// Constrained baseline, level 3.0, 640×360: 40×23 macroblocks, 8 rows cropped off the bottom.
const SPS = nal(0x67, [66, 0xc0, 30, ...new BitWriter().ue(0).ue(0).ue(2).ue(1).bits(1, 0).ue(39).ue(22).bits(1, 1).bits(1, 1).bits(1, 1).ue(0).ue(0).ue(0).ue(4).bits(1, 0).bytes()]);
const PPS = nal(0x68, new BitWriter().ue(0).ue(0).bits(2, 0).bytes());
const IDR = nal(0x65, [0x88, 0x84, 0x00, 0x00, 0x00, 0x01, 0x21, 0x22, 0x23]); // first_mb_in_slice 0; escaped bytes inside
const P = (n: number) => Uint8Array.of(0x41, 0x9a, n, n);
const AUD = Uint8Array.of(0x09, 0xf0);
const annexB = (...nals: Uint8Array[]) => Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), n]));

const stapA = (...nals: Uint8Array[]) => Buffer.concat([Buffer.from([0x78]), ...nals.flatMap((n) => [Buffer.from([n.length >> 8, n.length & 0xff]), n])]);
/** FU-A fragments of a NAL unit, `size` bytes of it per packet. */
function fuA(unit: Uint8Array, size: number): Buffer[] {
  const body = unit.subarray(1);
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const fuHeader = (at === 0 ? 0x80 : 0) | (at + size >= body.length ? 0x40 : 0) | (unit[0]! & 0x1f);
    out.push(Buffer.concat([Buffer.from([(unit[0]! & 0xe0) | 28, fuHeader]), body.subarray(at, at + size)]));
  }
  return out;
}

const stream = (d = new H264Depacketizer(90_000)) => new Stream(d);

describe('H264Depacketizer', () => {
  it('a keyframe in STAP-A (SPS, PPS) and FU-A (IDR): one Annex B access unit, and the config from the SPS', () => {
    const s = stream().send(0, [stapA(SPS, PPS), ...fuA(IDR, 4)]);
    expect(s.frames).toHaveLength(1);
    expect(s.frames[0]).toMatchObject({ keyframe: true, timestamp: 0, config: { codec: 'avc1.42c01e', codedWidth: 640, codedHeight: 360 } });
    expect(Buffer.from(s.frames[0]!.data)).toEqual(annexB(SPS, PPS, IDR));
  });

  it('single NAL unit packets: a frame of two slices, each a packet', () => {
    const second = Uint8Array.of(0x41, 0x40, 9); // first_mb_in_slice ≠ 0
    const s = stream().send(0, [stapA(SPS, PPS, IDR)]).send(3000, [P(1), second]);
    expect(s.frames.map((f) => f.keyframe)).toEqual([true, false]);
    expect(Buffer.from(s.frames[1]!.data)).toEqual(annexB(P(1), second));
    expect(s.frames[1]!.config).toBeUndefined();
  });

  it('an FU-A fragment lost: that frame and the ones after it are dropped, needKeyframe, until the next IDR, which gets the SPS and PPS put in front', () => {
    const s = stream().send(0, [stapA(SPS, PPS), IDR]);
    s.send(3000, fuA(Uint8Array.of(0x41, 0x9a, ...Array(20).fill(7)), 8), [1]).send(6000, [P(2)]).send(9000, [P(3)]);
    expect(s.frames.map((f) => f.timestamp)).toEqual([0]);
    expect(s.needKeyframe).toBe(true);
    s.send(12_000, [IDR]).send(15_000, [P(4)]);
    expect(s.frames.map((f) => [f.timestamp, f.keyframe])).toEqual([[0, true], [12_000, true], [15_000, false]]);
    expect(Buffer.from(s.frames[1]!.data)).toEqual(annexB(SPS, PPS, IDR));
    expect(s.needKeyframe).toBe(false);
  });

  it('an IDR before any SPS cannot be decoded: nothing goes out and a keyframe is needed', () => {
    const s = stream().send(0, [IDR]).send(3000, [P(1)]);
    expect(s.frames).toEqual([]);
    expect(s.needKeyframe).toBe(true);
  });

  it('the SPS and PPS of the SDP (sprop-parameter-sets) make the first IDR decodable', () => {
    const fmtp = `packetization-mode=1;profile-level-id=42c01e;sprop-parameter-sets=${Buffer.from(SPS).toString('base64')},${Buffer.from(PPS).toString('base64')}`;
    const s = stream(new H264Depacketizer(90_000, fmtp)).send(0, [IDR]);
    expect(s.frames[0]).toMatchObject({ keyframe: true, config: { codec: 'avc1.42c01e' } });
    expect(Buffer.from(s.frames[0]!.data)).toEqual(annexB(SPS, PPS, IDR));
  });

  it('the SPS and PPS go in after an access unit delimiter, which stays first', () => {
    const s = stream().send(0, [stapA(SPS, PPS, IDR)]).send(3000, [AUD, IDR]);
    expect(Buffer.from(s.frames[1]!.data)).toEqual(annexB(AUD, SPS, PPS, IDR));
  });

  it('parameter sets alone make no frame, and the IDR after them is a keyframe', () => {
    const s = stream().send(0, [SPS, PPS]).send(0, [IDR]);
    expect(s.frames.map((f) => f.keyframe)).toEqual([true]);
  });

  it('a High profile SPS with scaling lists and cropping: avc1.640028, 1920×1080', () => {
    const high = nal(0x67, [
      100, 0, 40,
      ...new BitWriter()
        .ue(0).ue(1).ue(0).ue(0).bits(1, 0) // sps id, 4:2:0, 8-bit, no bypass
        .bits(1, 1).bits(1, 1).se(-8).bits(7, 0) // scaling matrix: list 0 sent (ends at once), lists 1–7 not
        .ue(0).ue(0).ue(2).ue(4).bits(1, 0) // frame_num, POC type 0, POC lsb, 4 refs, no gaps
        .ue(119).ue(67).bits(1, 1).bits(1, 1) // 120×68 macroblocks, frames only, direct 8x8
        .bits(1, 1).ue(0).ue(0).ue(0).ue(4) // crop 8 rows
        .bits(1, 0)
        .bytes(),
    ]);
    const s = stream().send(0, [stapA(high, PPS, IDR)]);
    expect(s.frames[0]!.config).toEqual({ codec: 'avc1.640028', codedWidth: 1920, codedHeight: 1080 });
  });

  it('interleaved-mode packets (STAP-B) are not ours: the frame is dropped', () => {
    const s = stream().send(0, [stapA(SPS, PPS, IDR)]).send(3000, [Uint8Array.of(0x19, 0, 0, 0, 2, 0x41, 0x9a)]).send(6000, [P(1)]);
    expect(s.frames.map((f) => f.timestamp)).toEqual([0]);
    expect(s.needKeyframe).toBe(true);
  });
});
