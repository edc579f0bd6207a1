import { describe, expect, it } from 'vitest';
import { parseRtp, Unwrapper } from '../../../../src/server/sfu/rtp.js';
import { rtp } from '../../../helpers/rtp-build.js';

describe('parseRtp', () => {
  it('reads the header fields and finds the payload past CSRCs, the header extension and padding', () => {
    const p = parseRtp(rtp([1, 2, 3], { sequence: 65_535, timestamp: 0xfffffff0, marker: true, payloadType: 108, ssrc: 0xdeadbeef, csrcs: 2, extension: true, padding: 4 }))!;
    expect(p).toMatchObject({ payloadType: 108, marker: true, sequence: 65_535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef });
    expect([...p.payload]).toEqual([1, 2, 3]);
  });

  it('a padding-only packet has an empty payload', () => {
    expect(parseRtp(rtp([], { sequence: 1, timestamp: 0, padding: 255 }))!.payload.length).toBe(0);
  });

  it('refuses what is not RTP version 2, or cut short', () => {
    const good = rtp([1], { sequence: 1, timestamp: 0, extension: true });
    expect(parseRtp(good.subarray(0, 11))).toBeNull();
    expect(parseRtp(Buffer.concat([Buffer.from([0x40]), good.subarray(1)]))).toBeNull();
    expect(parseRtp(good.subarray(0, 14))).toBeNull(); // the extension runs past the end
  });
});

describe('Unwrapper', () => {
  it('keeps counting across the wrap, and places a late packet from before the wrap before it', () => {
    const u = new Unwrapper(16);
    expect([65_534, 65_535, 0, 1].map((s) => u.unwrap(s))).toEqual([65_534, 65_535, 65_536, 65_537]);
    expect(u.unwrap(65_533)).toBe(65_533);
    expect(u.unwrap(2)).toBe(65_538);
  });

  it('works for 32-bit timestamps', () => {
    const u = new Unwrapper(32);
    expect([0xffff_f000, 0x0000_0b00, 0xffff_f400].map((t) => u.unwrap(t))).toEqual([0xffff_f000, 2 ** 32 + 0xb00, 0xffff_f400]);
  });
});
