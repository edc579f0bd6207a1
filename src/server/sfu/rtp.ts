// RTP and RTCP on Buffers, nothing else: the SFU reads a few header fields of
// every packet it forwards and rewrites four of them, and reads the feedback
// viewers send back; the depacketizers read payloads and unwrap sequence
// numbers and timestamps. Pure, so they are tested with hand-built packets.

/** The fields of an RTP header the SFU uses (RFC 3550 §5.1). */
export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Where the payload starts: after the CSRC list and the header extension. */
  payloadOffset: number;
  /** Payload bytes, padding excluded (0 for a padding-only packet). */
  payloadLength: number;
}

/** The header of an RTP packet, or null if the buffer is not one. */
export function readRtpHeader(packet: Buffer): RtpHeader | null {
  if (packet.length < 12) return null;
  const b0 = packet[0]!;
  if (b0 >> 6 !== 2) return null;
  let offset = 12 + (b0 & 0x0f) * 4;
  if (b0 & 0x10) {
    if (packet.length < offset + 4) return null;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  let end = packet.length;
  if (b0 & 0x20) {
    const padding = packet[end - 1]!;
    if (padding === 0 || padding > end - offset) return null;
    end -= padding;
  }
  if (offset > end) return null;
  const b1 = packet[1]!;
  return {
    payloadType: b1 & 0x7f,
    marker: (b1 & 0x80) !== 0,
    sequenceNumber: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payloadOffset: offset,
    payloadLength: end - offset,
  };
}

/** RTP and RTCP share the port (RFC 5761): RTCP packet types 192–223 fill the second byte. */
export function isRtcp(packet: Buffer): boolean {
  return packet.length >= 8 && packet[0]! >> 6 === 2 && packet[1]! >= 192 && packet[1]! <= 223;
}

export interface RtpRewrite {
  payloadType: number;
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
}

/** A copy of `packet` with a new payload type (marker kept), SSRC, sequence number and timestamp. */
export function rewriteRtp(packet: Buffer, to: RtpRewrite): Buffer {
  const out = Buffer.allocUnsafe(packet.length);
  packet.copy(out);
  out[1] = (packet[1]! & 0x80) | (to.payloadType & 0x7f);
  out.writeUInt16BE(to.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(to.timestamp >>> 0, 4);
  out.writeUInt32BE(to.ssrc >>> 0, 8);
  return out;
}

/** Write only the sequence number (each viewer's own, on a copy shared by its group). */
export function writeSequenceNumber(packet: Buffer, sequenceNumber: number): void {
  packet.writeUInt16BE(sequenceNumber & 0xffff, 2);
}

/** One report block of a sender or receiver report (RFC 3550 §6.4.1). */
export interface ReportBlock {
  ssrc: number;
  /** Fraction of packets lost since the previous report, 0–1. */
  fractionLost: number;
  packetsLost: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
}

export type RtcpPacket =
  | { type: 'pli'; mediaSsrc: number }
  | { type: 'fir'; ssrcs: number[] }
  | { type: 'nack'; mediaSsrc: number; sequenceNumbers: number[] }
  | { type: 'remb'; bitrate: number; ssrcs: number[] }
  | { type: 'report'; senderSsrc: number; blocks: ReportBlock[] };

const SR = 200;
const RR = 201;
const RTPFB = 205;
const PSFB = 206;

/**
 * The packets of a compound RTCP packet that the SFU acts on: PLI (PSFB FMT 1),
 * FIR (PSFB FMT 4), generic NACK (RTPFB FMT 1), REMB (PSFB FMT 15) and the
 * report blocks of SR/RR. Others are skipped; a malformed length ends the walk.
 */
export function parseRtcp(buffer: Buffer): RtcpPacket[] {
  const found: RtcpPacket[] = [];
  let offset = 0;
  while (offset + 4 <= buffer.length) {
    const b0 = buffer[offset]!;
    if (b0 >> 6 !== 2) break;
    const count = b0 & 0x1f;
    const type = buffer[offset + 1]!;
    const length = (buffer.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > buffer.length) break;
    const p = buffer.subarray(offset, offset + length);
    offset += length;
    if ((type === SR || type === RR) && p.length >= 8) {
      found.push({ type: 'report', senderSsrc: p.readUInt32BE(4), blocks: reportBlocks(p, type === SR ? 28 : 8, count) });
    } else if (type === RTPFB && count === 1 && p.length >= 12) {
      const sequenceNumbers: number[] = [];
      for (let i = 12; i + 4 <= p.length; i += 4) {
        const pid = p.readUInt16BE(i);
        const blp = p.readUInt16BE(i + 2);
        sequenceNumbers.push(pid);
        for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) sequenceNumbers.push((pid + bit + 1) & 0xffff);
      }
      found.push({ type: 'nack', mediaSsrc: p.readUInt32BE(8), sequenceNumbers });
    } else if (type === PSFB && count === 1 && p.length >= 12) {
      found.push({ type: 'pli', mediaSsrc: p.readUInt32BE(8) });
    } else if (type === PSFB && count === 4 && p.length >= 12) {
      const ssrcs: number[] = [];
      for (let i = 12; i + 8 <= p.length; i += 8) ssrcs.push(p.readUInt32BE(i));
      found.push({ type: 'fir', ssrcs });
    } else if (type === PSFB && count === 15 && p.length >= 20 && p.toString('latin1', 12, 16) === 'REMB') {
      const n = p[16]!;
      const exponent = p[17]! >> 2;
      const mantissa = ((p[17]! & 0x03) << 16) | (p[18]! << 8) | p[19]!;
      const ssrcs: number[] = [];
      for (let i = 0; i < n && 20 + i * 4 + 4 <= p.length; i++) ssrcs.push(p.readUInt32BE(20 + i * 4));
      found.push({ type: 'remb', bitrate: mantissa * 2 ** exponent, ssrcs });
    }
  }
  return found;
}

function reportBlocks(p: Buffer, start: number, count: number): ReportBlock[] {
  const blocks: ReportBlock[] = [];
  for (let i = 0; i < count && start + (i + 1) * 24 <= p.length; i++) {
    const at = start + i * 24;
    blocks.push({
      ssrc: p.readUInt32BE(at),
      fractionLost: p[at + 4]! / 256,
      packetsLost: p.readIntBE(at + 5, 3),
      jitter: p.readUInt32BE(at + 12),
    });
  }
  return blocks;
}

/** An RTP packet as the depacketizers see it: the header fields with the payload (a view into the packet). */
export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Without header, CSRCs, extension or padding (empty for a padding-only probe). */
  payload: Uint8Array;
}

export function parseRtp(packet: Uint8Array): RtpPacket | null {
  const buffer = Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  const h = readRtpHeader(buffer);
  if (!h) return null;
  return {
    payloadType: h.payloadType,
    marker: h.marker,
    sequence: h.sequenceNumber,
    timestamp: h.timestamp,
    ssrc: h.ssrc,
    payload: buffer.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength),
  };
}

/**
 * Extends a wrapping counter (2^bits) into one that keeps counting: each value
 * is placed nearest to the last one seen, so a packet from just before a wrap
 * that arrives just after it still lands before it.
 */
export class Unwrapper {
  private last: number | null = null;
  private readonly range: number;

  constructor(bits: number) {
    this.range = 2 ** bits;
  }

  unwrap(value: number): number {
    if (this.last === null) return (this.last = value);
    const half = this.range / 2;
    let delta = (value - this.last) % this.range;
    if (delta < 0) delta += this.range;
    if (delta >= half) delta -= this.range;
    const extended = this.last + delta;
    // Only a later value moves the reference: a late packet must not drag it back.
    if (delta > 0) this.last = extended;
    return extended;
  }
}
