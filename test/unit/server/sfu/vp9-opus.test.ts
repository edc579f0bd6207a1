import { describe, expect, it } from 'vitest';
import { OpusDepacketizer } from '../../../../src/server/sfu/depacketize/opus.js';
import { Vp9Depacketizer } from '../../../../src/server/sfu/depacketize/vp9.js';
import { BitWriter } from '../../../helpers/rtp-build.js';
import { Stream } from './stream.js';

/** A key frame's uncompressed header: profile 0, shown, sync code, BT.601, then the size; and some data. */
const keyFrame = (width: number, height: number) =>
  Uint8Array.from([...new BitWriter().bits(2, 2).bits(2, 0).bits(1, 0).bits(1, 0).bits(1, 1).bits(1, 0).bits(24, 0x498342).bits(3, 2).bits(1, 0).bits(16, width - 1).bits(16, height - 1).bytes(false), 1, 2, 3]);
const interFrame = (n: number) => Uint8Array.of(0x86, n, n, n); // frame marker, profile 0, frame_type 1

/** Flexible mode (F), 15-bit PictureID (I), with B, E, P and optionally L (spatial layer) and V (a scalability structure). */
function flexible(o: { begins: boolean; ends: boolean; predicted: boolean; layer?: number; ss?: boolean }, body: Uint8Array): Buffer {
  const head = 0x80 | (o.predicted ? 0x40 : 0) | (o.layer !== undefined ? 0x20 : 0) | 0x10 | (o.begins ? 0x08 : 0) | (o.ends ? 0x04 : 0) | (o.ss ? 0x02 : 0);
  const fields = [0x80 | 0x01, 0x23];
  if (o.layer !== undefined) fields.push(o.layer << 1);
  if (o.predicted) fields.push(0x03, 0x04); // two P_DIFFs: 1 (N), 2
  if (o.ss) fields.push(0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x04, 0x01); // one layer, Y: 640×360, G: one picture with one P_DIFF
  return Buffer.concat([Buffer.from([head, ...fields]), body]);
}

describe('Vp9Depacketizer', () => {
  it('a key frame with a scalability structure, then inter frames with P_DIFFs: descriptors stripped, profile, level and size from the key frame', () => {
    const key = keyFrame(640, 360);
    const s = new Stream(new Vp9Depacketizer(90_000))
      .send(0, [flexible({ begins: true, ends: false, predicted: false, ss: true }, key.subarray(0, 5)), flexible({ begins: false, ends: true, predicted: false }, key.subarray(5))])
      .send(3000, [flexible({ begins: true, ends: true, predicted: true }, interFrame(1))]);
    expect(s.frames.map((f) => f.keyframe)).toEqual([true, false]);
    expect(s.frames[0]!.config).toEqual({ codec: 'vp09.00.21.08', codedWidth: 640, codedHeight: 360 });
    expect(Buffer.from(s.frames[0]!.data)).toEqual(Buffer.from(key));
    expect(Buffer.from(s.frames[1]!.data)).toEqual(Buffer.from(interFrame(1)));
  });

  it('two spatial layers in one picture go out as a superframe with its index', () => {
    const base = keyFrame(320, 180);
    const top = interFrame(2);
    const s = new Stream(new Vp9Depacketizer(90_000)).send(0, [
      flexible({ begins: true, ends: true, predicted: false, layer: 0 }, base),
      flexible({ begins: true, ends: true, predicted: false, layer: 1 }, top),
    ]);
    expect(s.frames[0]!.keyframe).toBe(true);
    const index = [0xc1, base.length, top.length, 0xc1];
    expect(Buffer.from(s.frames[0]!.data)).toEqual(Buffer.concat([base, top, Buffer.from(index)]));
  });

  it('non-flexible mode: the layer indices are followed by TL0PICIDX', () => {
    const key = keyFrame(320, 240);
    // I (7-bit PictureID), L, B, E; then TID/U/SID/D and TL0PICIDX.
    const s = new Stream(new Vp9Depacketizer(90_000)).send(0, [Buffer.concat([Buffer.from([0x80 | 0x20 | 0x08 | 0x04, 0x11, 0x00, 0x37]), key])]);
    expect(s.frames[0]).toMatchObject({ keyframe: true, config: { codec: 'vp09.00.20.08', codedWidth: 320, codedHeight: 240 } });
    expect(Buffer.from(s.frames[0]!.data)).toEqual(Buffer.from(key));
  });

  it('a layer frame that never ended (E lost with its packet) breaks the picture: dropped until a key frame', () => {
    const s = new Stream(new Vp9Depacketizer(90_000)).send(0, [flexible({ begins: true, ends: true, predicted: false }, keyFrame(320, 240))]);
    s.send(3000, [flexible({ begins: true, ends: false, predicted: true }, interFrame(1)), flexible({ begins: true, ends: true, predicted: true }, interFrame(1))]);
    s.send(6000, [flexible({ begins: true, ends: true, predicted: true }, interFrame(2))]);
    expect(s.frames).toHaveLength(1);
    expect(s.needKeyframe).toBe(true);
  });
});

describe('OpusDepacketizer', () => {
  it('passes each packet through as a chunk, with its duration from the TOC byte, and the config of the SDP', () => {
    const toc = (config: number, code: number, ...rest: number[]) => Uint8Array.of((config << 3) | code, ...rest);
    const s = new Stream(new OpusDepacketizer(48_000, 2));
    const packets = [toc(31, 0, 9), toc(3, 0, 9), toc(13, 1, 9), toc(16, 3, 4, 9), toc(27, 2, 9, 9)];
    packets.forEach((p, i) => s.send(i * 960, [p]));
    expect(s.frames.map((f) => f.durationUs)).toEqual([20_000, 60_000, 40_000, 10_000, 40_000]);
    expect(s.frames.every((f) => f.keyframe)).toBe(true);
    expect(s.frames[0]!.config).toEqual({ codec: 'opus', sampleRate: 48_000, numberOfChannels: 2 });
    expect(Buffer.from(s.frames[3]!.data)).toEqual(Buffer.from(packets[3]!));
  });

  it('a code 3 packet that says zero frames is broken and dropped', () => {
    const s = new Stream(new OpusDepacketizer(48_000, 2)).send(0, [Uint8Array.of((31 << 3) | 3, 0)]).send(960, [Uint8Array.of(31 << 3, 1)]);
    expect(s.frames.map((f) => f.timestamp)).toEqual([960]);
  });
});
