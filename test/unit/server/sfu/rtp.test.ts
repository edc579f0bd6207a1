// RTP headers and RTCP feedback, on packets built by hand byte by byte.
import { describe, expect, it } from 'vitest';
import { isRtcp, parseRtcp, parseRtp, readRtpHeader, rewriteRtp, Unwrapper, writeSequenceNumber } from '../../../../src/server/sfu/rtp.js';
import { rtp as builtRtp } from '../../../helpers/rtp-build.js';

/** An RTP packet: V=2, optional CSRCs, header extension and padding. */
function rtp(o: { pt?: number; marker?: boolean; seq?: number; ts?: number; ssrc?: number; payload?: number[]; csrcs?: number[]; extensionWords?: number; padding?: number } = {}): Buffer {
  const csrcs = o.csrcs ?? [];
  const ext = o.extensionWords ?? -1;
  const head = Buffer.alloc(12 + csrcs.length * 4 + (ext >= 0 ? 4 + ext * 4 : 0));
  head[0] = 0x80 | (o.padding ? 0x20 : 0) | (ext >= 0 ? 0x10 : 0) | csrcs.length;
  head[1] = (o.marker ? 0x80 : 0) | (o.pt ?? 96);
  head.writeUInt16BE(o.seq ?? 1, 2);
  head.writeUInt32BE(o.ts ?? 1000, 4);
  head.writeUInt32BE(o.ssrc ?? 0xdeadbeef, 8);
  csrcs.forEach((c, i) => head.writeUInt32BE(c, 12 + i * 4));
  if (ext >= 0) {
    const at = 12 + csrcs.length * 4;
    head.writeUInt16BE(0xbede, at);
    head.writeUInt16BE(ext, at + 2);
  }
  const pad = o.padding ? [...Array<number>(o.padding - 1).fill(0), o.padding] : [];
  return Buffer.concat([head, Buffer.from(o.payload ?? [1, 2, 3]), Buffer.from(pad)]);
}

describe('readRtpHeader', () => {
  it('reads the fields of a plain packet', () => {
    const h = readRtpHeader(rtp({ pt: 111, marker: true, seq: 65535, ts: 0xfffffff0, ssrc: 0x01020304, payload: [9, 9] }));
    expect(h).toEqual({ payloadType: 111, marker: true, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0x01020304, payloadOffset: 12, payloadLength: 2 });
  });

  it('finds the payload after CSRCs and a header extension, and leaves padding out', () => {
    const h = readRtpHeader(rtp({ csrcs: [1, 2], extensionWords: 2, padding: 4, payload: [7, 7, 7] }));
    expect(h?.payloadOffset).toBe(12 + 8 + 4 + 8);
    expect(h?.payloadLength).toBe(3);
  });

  it('a padding-only packet has an empty payload', () => {
    expect(readRtpHeader(rtp({ payload: [], padding: 8 }))?.payloadLength).toBe(0);
  });

  it('is null for what is not RTP', () => {
    expect(readRtpHeader(Buffer.alloc(11))).toBeNull();
    const v1 = rtp();
    v1[0] = 0x40;
    expect(readRtpHeader(v1)).toBeNull();
    const longExtension = rtp({ extensionWords: 1 });
    longExtension.writeUInt16BE(200, 14); // claims 200 words, has 1
    expect(readRtpHeader(longExtension)).toBeNull();
    const badPadding = rtp({ padding: 4 });
    badPadding[badPadding.length - 1] = 200;
    expect(readRtpHeader(badPadding)).toBeNull();
  });
});

describe('isRtcp', () => {
  it('tells RTCP (packet types 192–223) from RTP by the second byte', () => {
    expect(isRtcp(Buffer.from([0x80, 200, 0, 6, 0, 0, 0, 0]))).toBe(true);
    expect(isRtcp(Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 0]))).toBe(true);
    expect(isRtcp(rtp({ pt: 96, marker: true }))).toBe(false);
    expect(isRtcp(rtp({ pt: 111 }))).toBe(false);
  });
});

describe('rewriteRtp', () => {
  it('writes payload type (keeping the marker), SSRC, sequence number and timestamp into a copy', () => {
    const original = rtp({ pt: 96, marker: true, seq: 10, ts: 20, ssrc: 30, payload: [5, 6, 7] });
    const before = Buffer.from(original);
    const out = rewriteRtp(original, { payloadType: 120, ssrc: 0xfeedface, sequenceNumber: 70000, timestamp: 2 ** 32 + 5 });
    expect(original.equals(before)).toBe(true);
    const h = readRtpHeader(out)!;
    expect(h).toMatchObject({ payloadType: 120, marker: true, ssrc: 0xfeedface, sequenceNumber: 70000 & 0xffff, timestamp: 5 });
    expect([...out.subarray(h.payloadOffset)]).toEqual([5, 6, 7]);
  });

  it('writeSequenceNumber changes only the sequence number', () => {
    const p = rtp({ seq: 1, ts: 2, ssrc: 3 });
    writeSequenceNumber(p, 0x1234);
    expect(readRtpHeader(p)).toMatchObject({ sequenceNumber: 0x1234, timestamp: 2, ssrc: 3 });
  });
});

// RTCP builders (RFC 3550, RFC 4585, draft-alvestrand-rmcat-remb).
function rtcp(fmtOrCount: number, type: number, body: number[]): Buffer {
  const b = Buffer.alloc(4 + body.length);
  b[0] = 0x80 | fmtOrCount;
  b[1] = type;
  b.writeUInt16BE((b.length >> 2) - 1, 2);
  Buffer.from(body).copy(b, 4);
  return b;
}
const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u16 = (n: number) => [(n >>> 8) & 255, n & 255];
const reportBlock = (ssrc: number, fraction: number, lost: number, jitter: number) => [...u32(ssrc), fraction, (lost >> 16) & 255, (lost >> 8) & 255, lost & 255, ...u32(1000), ...u32(jitter), ...u32(0), ...u32(0)];

describe('parseRtcp', () => {
  it('finds PLI, FIR, NACK and REMB in one compound packet, with the report blocks of an RR', () => {
    const rr = rtcp(1, 201, [...u32(1), ...reportBlock(0xaaaa, 64, 3, 90)]);
    const pli = rtcp(1, 206, [...u32(1), ...u32(0xaaaa)]);
    const fir = rtcp(4, 206, [...u32(1), ...u32(0), ...u32(0xaaaa), 7, 0, 0, 0]);
    const nack = rtcp(1, 205, [...u32(1), ...u32(0xaaaa), ...u16(100), ...u16(0b101)]);
    // REMB of 2,500,000 bit/s: mantissa 156,250 (0x2625a, 18 bits) × 2^4.
    const remb = rtcp(15, 206, [...u32(1), ...u32(0), ...Buffer.from('REMB'), 1, (4 << 2) | 0x02, 0x62, 0x5a, ...u32(0xaaaa)]);
    const found = parseRtcp(Buffer.concat([rr, pli, fir, nack, remb]));
    expect(found).toEqual([
      { type: 'report', senderSsrc: 1, blocks: [{ ssrc: 0xaaaa, fractionLost: 0.25, packetsLost: 3, jitter: 90 }] },
      { type: 'pli', mediaSsrc: 0xaaaa },
      { type: 'fir', ssrcs: [0xaaaa] },
      { type: 'nack', mediaSsrc: 0xaaaa, sequenceNumbers: [100, 101, 103] },
      { type: 'remb', bitrate: 2_500_000, ssrcs: [0xaaaa] },
    ]);
  });

  it('reads the report blocks of a sender report after its sender info; skips SDES and BYE', () => {
    const sr = rtcp(1, 200, [...u32(7), ...Array<number>(20).fill(0), ...reportBlock(5, 0, -2 & 0xffffff, 1)]);
    const sdes = rtcp(1, 202, [...u32(7), 1, 2, 65, 66, 0, 0, 0, 0]);
    const bye = rtcp(1, 203, [...u32(7)]);
    expect(parseRtcp(Buffer.concat([sr, sdes, bye]))).toEqual([{ type: 'report', senderSsrc: 7, blocks: [{ ssrc: 5, fractionLost: 0, packetsLost: -2, jitter: 1 }] }]);
  });

  it('a NACK sequence number list wraps at 65535', () => {
    const nack = rtcp(1, 205, [...u32(1), ...u32(2), ...u16(65535), ...u16(0b1)]);
    expect(parseRtcp(nack)).toEqual([{ type: 'nack', mediaSsrc: 2, sequenceNumbers: [65535, 0] }]);
  });

  it('stops at a length that runs past the buffer, keeping what came before', () => {
    const pli = rtcp(1, 206, [...u32(1), ...u32(9)]);
    const broken = rtcp(1, 206, [...u32(1), ...u32(9)]);
    broken.writeUInt16BE(40, 2);
    expect(parseRtcp(Buffer.concat([pli, broken]))).toEqual([{ type: 'pli', mediaSsrc: 9 }]);
    expect(parseRtcp(Buffer.from([1, 2, 3]))).toEqual([]);
  });
});

describe('parseRtp', () => {
  it('reads the header fields and finds the payload past CSRCs, the header extension and padding', () => {
    const p = parseRtp(builtRtp([1, 2, 3], { sequence: 65_535, timestamp: 0xfffffff0, marker: true, payloadType: 108, ssrc: 0xdeadbeef, csrcs: 2, extension: true, padding: 4 }))!;
    expect(p).toMatchObject({ payloadType: 108, marker: true, sequence: 65_535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef });
    expect([...p.payload]).toEqual([1, 2, 3]);
  });

  it('a padding-only packet has an empty payload', () => {
    expect(parseRtp(builtRtp([], { sequence: 1, timestamp: 0, padding: 255 }))!.payload.length).toBe(0);
  });

  it('refuses what is not RTP version 2, or cut short', () => {
    const good = builtRtp([1], { sequence: 1, timestamp: 0, extension: true });
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
