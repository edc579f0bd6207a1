// One outbound stream across sources: a new publisher continues where the last
// one stopped, in sequence numbers and (by the wall-clock gap) in timestamps.
import { describe, expect, it } from 'vitest';
import { seqNewer, StreamContinuity } from '../../../../src/server/sfu/continuity.js';

function mapped(c: StreamContinuity, ssrc: number, seq: number, ts: number, now: number): [number, number] {
  c.map(ssrc, seq, ts, now);
  return [c.seq, c.timestamp];
}

describe('StreamContinuity', () => {
  it('passes the first source through unchanged', () => {
    const c = new StreamContinuity(90_000);
    expect(mapped(c, 1, 100, 5000, 0)).toEqual([100, 5000]);
    expect(mapped(c, 1, 101, 8000, 33)).toEqual([101, 8000]);
  });

  it('a new SSRC continues at the next sequence number, the timestamp advanced by the time between', () => {
    const c = new StreamContinuity(90_000);
    mapped(c, 1, 65534, 0xfffff000, 1_000);
    mapped(c, 1, 65535, 0xfffff000 + 3000, 1_033);
    // 500 ms later a new publisher starts with its own random numbers.
    const [seq, ts] = mapped(c, 2, 777, 123_456, 1_533);
    expect(seq).toBe(0);
    expect(ts).toBe((0xfffff000 + 3000 + 45_000) >>> 0);
    expect(mapped(c, 2, 778, 123_456 + 3000, 1_566)).toEqual([1, (ts + 3000) >>> 0]);
  });

  it('keeps a reordered packet in its place and anchors the next source on the newest one', () => {
    const c = new StreamContinuity(48_000);
    mapped(c, 1, 10, 960 * 10, 0);
    mapped(c, 1, 12, 960 * 12, 40);
    expect(mapped(c, 1, 11, 960 * 11, 45)).toEqual([11, 960 * 11]);
    const [seq] = mapped(c, 2, 5000, 0, 60);
    expect(seq).toBe(13);
  });

  it('restart(): a replacement that reuses the SSRC still continues from the last packet', () => {
    const c = new StreamContinuity(90_000);
    mapped(c, 7, 40_000, 10, 0);
    c.restart();
    expect(mapped(c, 7, 3, 99, 10)[0]).toBe(40_001);
  });

  it('the timestamp moves on by at least one tick, even with no time between', () => {
    const c = new StreamContinuity(90_000);
    mapped(c, 1, 1, 500, 0);
    expect(mapped(c, 2, 9, 0, 0)).toEqual([2, 501]);
  });
});

it('seqNewer compares modulo 2^16', () => {
  expect(seqNewer(1, 65535)).toBe(true);
  expect(seqNewer(65535, 1)).toBe(false);
  expect(seqNewer(5, 5)).toBe(false);
  expect(seqNewer(0x8001, 1)).toBe(false);
});
