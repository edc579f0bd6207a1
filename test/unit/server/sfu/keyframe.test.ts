// Keyframe starts per codec, on payloads laid out as each RTP payload format says.
import { describe, expect, it } from 'vitest';
import { isKeyframeStart } from '../../../../src/server/sfu/keyframe.js';
import type { SfuCodec } from '../../../../src/server/sfu/types.js';

/** Whether `payload` (behind a 12-byte RTP header) starts a keyframe. */
function starts(codec: SfuCodec, payload: number[]): boolean {
  const packet = Buffer.concat([Buffer.alloc(12), Buffer.from(payload)]);
  return isKeyframeStart(codec, packet, 12, payload.length);
}

describe('VP8 (RFC 7741)', () => {
  it('the first packet of a keyframe: S=1, PID=0 and the payload header P bit 0', () => {
    expect(starts('VP8', [0x10, 0x9c])).toBe(true);
    expect(starts('VP8', [0x10, 0x9d])).toBe(false); // P=1: an inter frame
    expect(starts('VP8', [0x00, 0x9c])).toBe(false); // not the start of a partition
    expect(starts('VP8', [0x11, 0x9c])).toBe(false); // PID 1
  });

  it('skips the extended descriptor: 7- and 15-bit PictureID, TL0PICIDX, TID/KEYIDX', () => {
    expect(starts('VP8', [0x90, 0x80, 0x05, 0x9c])).toBe(true); // I, 7-bit id
    expect(starts('VP8', [0x90, 0x80, 0x81, 0x23, 0x9c])).toBe(true); // I, 15-bit id
    expect(starts('VP8', [0x90, 0xe0, 0x81, 0x23, 0x07, 0x40, 0x9c])).toBe(true); // I, L, T
    expect(starts('VP8', [0x90, 0xe0, 0x81, 0x23, 0x07, 0x40, 0x9d])).toBe(false);
    expect(starts('VP8', [0x90, 0x80])).toBe(false); // cut short
  });
});

describe('VP9 (RFC 9628)', () => {
  it('B=1 (start of frame) and P=0 (not predicted from an earlier picture)', () => {
    expect(starts('VP9', [0x88, 0x81, 0x23])).toBe(true); // I, B
    expect(starts('VP9', [0xc8, 0x81, 0x23])).toBe(false); // P=1
    expect(starts('VP9', [0x80, 0x81, 0x23])).toBe(false); // not the start of a frame
  });

  it('with layer indices, only spatial layer 0 starts a picture', () => {
    expect(starts('VP9', [0xa8, 0x05, 0x00])).toBe(true); // I (7-bit), L, B; SID 0
    expect(starts('VP9', [0xa8, 0x05, 0x02])).toBe(false); // SID 1
  });
});

describe('H.264 (RFC 6184)', () => {
  it('an SPS or IDR NAL unit alone', () => {
    expect(starts('H264', [0x67, 0x42])).toBe(true);
    expect(starts('H264', [0x65, 0x88])).toBe(true);
    expect(starts('H264', [0x41, 0x9a])).toBe(false); // non-IDR slice
  });

  it('a STAP-A that carries the SPS (as Chromium and OBS send it before an IDR)', () => {
    expect(starts('H264', [0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce])).toBe(true);
    expect(starts('H264', [0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x41, 0x9a])).toBe(false); // SEI + slice
  });

  it('the first fragment of an FU-A IDR, not a later one', () => {
    expect(starts('H264', [0x7c, 0x85, 0x88])).toBe(true);
    expect(starts('H264', [0x7c, 0x05, 0x88])).toBe(false);
    expect(starts('H264', [0x7c, 0x81, 0x9a])).toBe(false); // FU-A of a non-IDR slice
  });
});

describe('AV1 (RTP payload format §4.4)', () => {
  it('N=1 (a new coded video sequence) on a packet that does not continue an OBU', () => {
    expect(starts('AV1', [0x18, 0x0a])).toBe(true);
    expect(starts('AV1', [0x10, 0x32])).toBe(false);
    expect(starts('AV1', [0x98, 0x0a])).toBe(false); // Z=1
  });
});

it('audio never starts a keyframe, and an empty payload is nothing', () => {
  expect(starts('opus', [0x10, 0x9c])).toBe(false);
  expect(isKeyframeStart('VP8', Buffer.alloc(12), 12, 0)).toBe(false);
});
