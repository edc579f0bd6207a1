// Whether an RTP packet starts a keyframe, per codec: the only place the SFU
// looks inside a payload. A viewer that is new, or that lost the picture, gets
// video again only from such a packet, so its decoder never starts on a frame
// that refers to frames it does not have.
import type { SfuCodec } from './types.js';

/** True if this payload is the first packet of a keyframe (payload = packet[offset, offset + length)); never for audio. */
export function isKeyframeStart(codec: SfuCodec, packet: Buffer, offset: number, length: number): boolean {
  if (length < 1) return false;
  const p = packet.subarray(offset, offset + length);
  switch (codec) {
    case 'VP8':
      return vp8(p);
    case 'VP9':
      return vp9(p);
    case 'H264':
      return h264(p);
    case 'AV1':
      return av1(p);
    case 'opus':
      return false;
  }
}

// RFC 7741 §4.2: X R N S R PID; the VP8 payload header's P bit (RFC 6386 §9.1) is 0 on a keyframe.
function vp8(p: Buffer): boolean {
  const b0 = p[0]!;
  const start = (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
  if (!start) return false;
  let i = 1;
  if (b0 & 0x80) {
    const x = p[i++];
    if (x === undefined) return false;
    if (x & 0x80) i += (p[i] ?? 0) & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    if (x & 0x40) i++; // TL0PICIDX
    if (x & 0x30) i++; // TID / KEYIDX
  }
  const header = p[i];
  return header !== undefined && (header & 0x01) === 0;
}

// RFC 9628 §4.2: I P L F B E V Z. A keyframe is not inter-picture predicted (P = 0); B marks the
// frame's first packet; with layer indices, only spatial layer 0 starts a picture a decoder can use.
function vp9(p: Buffer): boolean {
  const b0 = p[0]!;
  if ((b0 & 0x40) !== 0 || (b0 & 0x08) === 0) return false;
  if ((b0 & 0x20) === 0) return true;
  let i = 1;
  if (b0 & 0x80) i += (p[i] ?? 0) & 0x80 ? 2 : 1;
  const layers = p[i];
  return layers !== undefined && ((layers >> 1) & 0x07) === 0;
}

const NAL_IDR = 5;
const NAL_SPS = 7;
const STAP_A = 24;
const FU_A = 28;

// RFC 6184: the access unit of a keyframe begins with its SPS (or, without one, the IDR slice),
// alone, aggregated in a STAP-A, or as the first fragment of an FU-A.
function h264(p: Buffer): boolean {
  const type = p[0]! & 0x1f;
  if (type === NAL_IDR || type === NAL_SPS) return true;
  if (type === STAP_A) {
    for (let i = 1; i + 2 < p.length; ) {
      const size = p.readUInt16BE(i);
      const nal = p[i + 2]! & 0x1f;
      if (nal === NAL_IDR || nal === NAL_SPS) return true;
      i += 2 + size;
    }
    return false;
  }
  if (type === FU_A && p.length >= 2) {
    const fu = p[1]!;
    return (fu & 0x80) !== 0 && ((fu & 0x1f) === NAL_IDR || (fu & 0x1f) === NAL_SPS);
  }
  return false;
}

// AV1 RTP payload format §4.4: Z Y W W N - - -. N marks the first packet of a coded video
// sequence (a keyframe with its sequence header); Z = 0 means it does not continue an OBU.
function av1(p: Buffer): boolean {
  const b0 = p[0]!;
  return (b0 & 0x08) !== 0 && (b0 & 0x80) === 0;
}
