import { describe, expect, it } from 'vitest';
import { FrameAssembler, type AssemblerOptions } from '../../../../src/server/sfu/depacketize/assembler.js';
import { parseRtp } from '../../../../src/server/sfu/rtp.js';
import { rtp } from '../../../helpers/rtp-build.js';

// Payload byte 0x80 marks a frame's first packet for these tests' "codec".
const video: AssemblerOptions = { clockRate: 90_000, reorderMs: 50, packetIsFrame: false, startsFrame: (p) => p[0] === 0x80 };

/** Packet [sequence, timestamp, marker, first byte]. */
type Spec = [number, number, boolean, number?];

function run(specs: Spec[], options = video) {
  const a = new FrameAssembler(options);
  const frames: { timestamp: number; payloads: number[] }[] = [];
  let lost = 0;
  for (const [sequence, timestamp, marker, first] of specs) {
    const out = a.push(parseRtp(rtp(first === undefined ? [] : [first, sequence & 0xff], { sequence, timestamp, marker }))!);
    if (out.lost) lost++;
    frames.push(...out.frames.map((f) => ({ timestamp: f.timestamp, payloads: f.payloads.map((p) => p[1]!) })));
  }
  return { frames, lost };
}

describe('FrameAssembler', () => {
  it('groups in-order packets into frames at the marker bit, with no delay', () => {
    const a = new FrameAssembler(video);
    const push = (s: Spec) => a.push(parseRtp(rtp([s[3] ?? 0, s[0]], { sequence: s[0], timestamp: s[1], marker: s[2] }))!).frames.length;
    expect([push([10, 0, false, 0x80]), push([11, 0, false, 1]), push([12, 0, true, 1]), push([13, 3000, true, 0x80])]).toEqual([0, 0, 1, 1]);
  });

  it('puts reordered packets back in sequence order', () => {
    const { frames, lost } = run([[9, 0, true, 0x80], [12, 3000, true, 1], [10, 3000, false, 0x80], [11, 3000, false, 1], [14, 6000, true, 1], [13, 6000, false, 0x80]]);
    expect(frames).toEqual([{ timestamp: 0, payloads: [9] }, { timestamp: 3000, payloads: [10, 11, 12] }, { timestamp: 6000, payloads: [13, 14] }]);
    expect(lost).toBe(0);
  });

  it('gives a missing packet up once the packets held behind it span over 50 ms, drops its frame, and resumes at the next frame', () => {
    const { frames, lost } = run([
      [10, 0, false, 0x80],
      // 11 never comes
      [12, 0, true, 1],
      [13, 3000, true, 0x80],
      [14, 6000, true, 0x80],
      [11, 0, false, 1], // too late
      [15, 9000, true, 0x80],
    ]);
    expect(frames.map((f) => f.timestamp)).toEqual([3000, 6000, 9000]);
    expect(lost).toBe(1);
  });

  it('after a gap, resumes at a packet the codec says opens a frame, even when the frame before ended in the gap', () => {
    const { frames } = run([
      [10, 0, true, 0x80],
      [11, 3000, false, 0x80],
      // 12 (the end of frame 3000) never comes
      [13, 6000, false, 0x80],
      [14, 6000, true, 1],
      [15, 9000, true, 0x80],
      [16, 12_000, true, 0x80],
    ]);
    expect(frames.map((f) => f.timestamp)).toEqual([0, 6000, 9000, 12_000]);
  });

  it('after a gap, drops packets that do not open a frame up to the next frame boundary', () => {
    const { frames } = run([
      [10, 0, true, 0x80],
      // 11 (the start of frame 3000) never comes
      [12, 3000, false, 1],
      [13, 3000, true, 1],
      [14, 6000, true, 1],
      [15, 9000, true, 1],
    ]);
    expect(frames.map((f) => f.timestamp)).toEqual([0, 6000, 9000]);
  });

  it('starts at the first packet that opens a frame', () => {
    const { frames } = run([[10, 0, false, 1], [11, 0, true, 1], [12, 3000, true, 0x80]]);
    expect(frames.map((f) => f.timestamp)).toEqual([3000]);
  });

  it('counts padding-only packets in the sequence but makes no frame of them', () => {
    const { frames, lost } = run([[10, 0, true, 0x80], [11, 0, false], [12, 0, false], [13, 3000, true, 0x80]]);
    expect(frames).toEqual([{ timestamp: 0, payloads: [10] }, { timestamp: 3000, payloads: [13] }]);
    expect(lost).toBe(0);
  });

  it('ignores duplicates', () => {
    const { frames } = run([[10, 0, false, 0x80], [10, 0, false, 0x80], [11, 0, true, 1], [11, 0, true, 1]]);
    expect(frames).toEqual([{ timestamp: 0, payloads: [10, 11] }]);
  });

  it('carries on across the 16-bit sequence wrap and the 32-bit timestamp wrap', () => {
    const top = 2 ** 32 - 3000;
    const { frames, lost } = run([[65_534, top, false, 0x80], [0, 0, true, 0x80], [65_535, top, true, 1], [1, 3000, true, 0x80]]);
    expect(frames).toEqual([
      { timestamp: top, payloads: [254, 255] },
      { timestamp: 2 ** 32, payloads: [0] },
      { timestamp: 2 ** 32 + 3000, payloads: [1] },
    ]);
    expect(lost).toBe(0);
  });

  it('waits for a late packet as long as those held behind it span no more than the window, even across a long frame interval', () => {
    const { frames, lost } = run([[10, 0, true, 0x80], [12, 30_000, true, 0x80], [11, 15_000, true, 0x80]]);
    expect(frames.map((f) => f.timestamp)).toEqual([0, 15_000, 30_000]);
    expect(lost).toBe(0);
  });

  it('audio: every packet is a frame at once; a reordered one is waited for, a lost one given up once 40 ms are held behind it', () => {
    const audio: AssemblerOptions = { clockRate: 48_000, reorderMs: 40, packetIsFrame: true, startsFrame: () => true };
    const specs: Spec[] = [1, 2, 4, 5, 3, 6, 8, 9, 10, 11, 7].map((n) => [n, (n - 1) * 960, false, 1]);
    const { frames, lost } = run(specs, audio);
    expect(frames.map((f) => f.timestamp / 960 + 1)).toEqual([1, 2, 3, 4, 5, 6, 8, 9, 10, 11]);
    expect(lost).toBe(1);
  });
});
