// RTP packets (RFC 3550) as the depacketizers see them, and the unwrapping of
// their 16-bit sequence numbers and 32-bit timestamps into numbers that keep
// counting, so ordering and durations survive wrap-around.

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** The payload, without header, CSRCs, extension or padding: a view into the packet. */
  payload: Uint8Array;
}

/** The packet's fields, or null when it is not a well-formed RTP version 2 packet. */
export function parseRtp(packet: Uint8Array): RtpPacket | null {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return null;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  let start = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) {
    if (start + 4 > packet.length) return null;
    start += 4 + view.getUint16(start + 2) * 4;
  }
  // Padding (Chromium pads probing packets to the brim: they carry no payload at all).
  const padding = packet[0]! & 0x20 ? packet[packet.length - 1]! : 0;
  const end = packet.length - padding;
  if (start > end) return null;
  return {
    payloadType: packet[1]! & 0x7f,
    marker: (packet[1]! & 0x80) !== 0,
    sequence: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payload: packet.subarray(start, end),
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
