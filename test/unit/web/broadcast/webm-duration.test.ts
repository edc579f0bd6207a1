// Writing a recording's length into its WebM header, on files shaped like the
// ones MediaRecorder writes: an EBML header, a Segment of unknown size, an Info
// without Duration, then clusters.
import { describe, expect, it } from 'vitest';
import { webmDurationMs, withWebmDuration } from '../../../../src/web/broadcast/webm-duration.js';

const bytes = (...parts: number[][]) => new Uint8Array(parts.flat());
const EBML_HEADER = [0x1a, 0x45, 0xdf, 0xa3, 0x84, 0x42, 0x82, 0x81, 0x77]; // a 4-byte body (DocType is enough for the parser)
const INFO = (body: number[]) => [0x15, 0x49, 0xa9, 0x66, 0x80 | body.length, ...body];
const TIMECODE_SCALE_1MS = [0x2a, 0xd7, 0xb1, 0x83, 0x0f, 0x42, 0x40];
const MUXING_APP = [0x4d, 0x80, 0x84, 0x43, 0x68, 0x72, 0x6f]; // "Chro"
const CLUSTER = [0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe7, 0x81, 0x00];

function recording(segmentSize: number[] = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]): Uint8Array {
  const info = INFO([...TIMECODE_SCALE_1MS, ...MUXING_APP]);
  return bytes(EBML_HEADER, [0x18, 0x53, 0x80, 0x67], segmentSize, info, CLUSTER);
}

describe('WebM duration', () => {
  it('a live recording has none; once written it reads back, and what follows Info is untouched', () => {
    const file = recording();
    expect(webmDurationMs(file)).toBeNull();
    const fixed = withWebmDuration(file, 3_141.5);
    expect(webmDurationMs(fixed)).toBeCloseTo(3_141.5, 6);
    expect(fixed.length).toBe(file.length + 11);
    expect([...fixed.subarray(fixed.length - CLUSTER.length)]).toEqual(CLUSTER);
  });

  it('writing it again replaces it in place', () => {
    const once = withWebmDuration(recording(), 1_000);
    const twice = withWebmDuration(once, 2_500);
    expect(twice.length).toBe(once.length);
    expect(webmDurationMs(twice)).toBe(2_500);
  });

  it('a Segment of known size grows with its Info', () => {
    const inner = INFO([...TIMECODE_SCALE_1MS, ...MUXING_APP]).length + CLUSTER.length;
    const fixed = withWebmDuration(recording([0x80 | inner]), 500);
    expect(fixed[EBML_HEADER.length + 4]).toBe(0x80 | (inner + 11));
    expect(webmDurationMs(fixed)).toBe(500);
  });

  it('refuses what is not WebM', () => {
    expect(() => withWebmDuration(new Uint8Array([1, 2, 3, 4]), 1)).toThrow(/EBML|WebM/);
  });
});
