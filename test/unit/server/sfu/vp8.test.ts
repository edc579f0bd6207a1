import { describe, expect, it } from 'vitest';
import { Vp8Depacketizer } from '../../../../src/server/sfu/depacketize/vp8.js';
import { Stream } from './stream.js';

/** A key frame: frame tag (P = 0, shown), start code, 14-bit width and height, then some data. */
const keyFrame = (width: number, height: number) => Uint8Array.of(0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, width & 0xff, width >> 8, height & 0xff, height >> 8, 1, 2, 3, 4, 5, 6);
const interFrame = Uint8Array.of(0x11, 0x01, 0x00, 7, 8, 9);
/** A descriptor without extensions: S and the partition index. */
const plain = (start: boolean, partition: number, body: Uint8Array) => Buffer.concat([Buffer.from([(start ? 0x10 : 0) | partition]), body]);
/** With X: 15-bit PictureID (I, M), TL0PICIDX (L), TID/Y/KEYIDX (T). */
const extended = (start: boolean, partition: number, body: Uint8Array) =>
  Buffer.concat([Buffer.from([0x80 | (start ? 0x10 : 0) | partition, 0xe0, 0x80 | 0x12, 0x34, 0x05, 0x40]), body]);

const stream = () => new Stream(new Vp8Depacketizer(90_000));

describe('Vp8Depacketizer', () => {
  it('a key frame in two partitions over four packets: descriptors stripped, the size from its header', () => {
    const key = keyFrame(640, 360);
    const s = stream().send(0, [plain(true, 0, key.subarray(0, 6)), plain(false, 0, key.subarray(6, 10)), plain(true, 1, key.subarray(10, 13)), plain(false, 1, key.subarray(13))]);
    expect(s.frames).toHaveLength(1);
    expect(s.frames[0]).toMatchObject({ keyframe: true, config: { codec: 'vp8', codedWidth: 640, codedHeight: 360 } });
    expect(Buffer.from(s.frames[0]!.data)).toEqual(Buffer.from(key));
  });

  it('extended descriptors (15-bit PictureID, TL0PICIDX, TID) are stripped too; P set is an inter frame', () => {
    const s = stream().send(0, [extended(true, 0, keyFrame(320, 240))]).send(3000, [extended(true, 0, interFrame.subarray(0, 4)), extended(false, 0, interFrame.subarray(4))]);
    expect(s.frames.map((f) => f.keyframe)).toEqual([true, false]);
    expect(Buffer.from(s.frames[1]!.data)).toEqual(Buffer.from(interFrame));
    expect(s.frames[1]!.config).toBeUndefined();
  });

  it('a lost first packet: the rest of that frame and the inter frames after it are dropped until a key frame', () => {
    const s = stream().send(0, [plain(true, 0, keyFrame(320, 240))]);
    s.send(3000, [plain(true, 0, interFrame), plain(false, 0, interFrame)], [0]).send(6000, [plain(true, 0, interFrame)]).send(9000, [plain(true, 0, interFrame)]);
    expect(s.frames).toHaveLength(1);
    expect(s.needKeyframe).toBe(true);
    s.send(12_000, [plain(true, 0, keyFrame(320, 240))]);
    expect(s.frames.map((f) => f.timestamp)).toEqual([0, 12_000]);
    expect(s.needKeyframe).toBe(false);
  });

  it('a new size on a key frame is a new config', () => {
    const s = stream().send(0, [plain(true, 0, keyFrame(320, 240))]).send(3000, [plain(true, 0, keyFrame(320, 240))]).send(6000, [plain(true, 0, keyFrame(640, 480))]);
    expect(s.frames.map((f) => f.config)).toEqual([
      { codec: 'vp8', codedWidth: 320, codedHeight: 240 },
      { codec: 'vp8', codedWidth: 320, codedHeight: 240 },
      { codec: 'vp8', codedWidth: 640, codedHeight: 480 },
    ]);
  });

  it('a key frame without the start code is broken: dropped, and a keyframe is needed', () => {
    const bad = keyFrame(320, 240);
    bad[3] = 0;
    const s = stream().send(0, [plain(true, 0, keyFrame(320, 240))]).send(3000, [plain(true, 0, bad)]).send(6000, [plain(true, 0, interFrame)]);
    expect(s.frames).toHaveLength(1);
    expect(s.needKeyframe).toBe(true);
  });
});
