// Binary framing of the server relay (/relay WebSocket), version 1.
// One encoded chunk per WebSocket binary frame, behind a fixed 24-byte header:
//
//   offset size  field
//   0      u8    version (1)
//   1      u8    kind: 1 video chunk, 2 audio chunk, 3 video decoder config (JSON), 4 audio decoder config (JSON)
//   2      u8    flags: bit 0 keyframe; bits 4–5 temporal layer id (0 = base)
//   3      u8    stream id (0: the camera)
//   4      i64   timestamp, µs (the encoder's chunk timestamp)
//   12     u32   duration, µs (0 if unknown)
//   16     f64   capture wall-clock time, ms since the Unix epoch (for latency estimates)
//   24     ...   payload: the encoded chunk, or the decoder config as UTF-8 JSON
//
// All numbers big-endian. The server reads only bytes 0–2 and forwards the
// frame untouched, so a chunk is never copied per viewer.
export const RELAY_FRAME_VERSION = 1;
export const RELAY_HEADER_BYTES = 24;

export const FrameKind = {
  video: 1,
  audio: 2,
  videoConfig: 3,
  audioConfig: 4,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface RelayFrameHeader {
  kind: FrameKind;
  keyframe: boolean;
  /** Temporal layer of the chunk (0 for the base layer and for audio). */
  layer: number;
  stream: number;
  timestampUs: number;
  durationUs: number;
  captureMs: number;
}

export function encodeRelayFrame(header: RelayFrameHeader, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(RELAY_HEADER_BYTES + payload.byteLength);
  const view = new DataView(frame.buffer);
  view.setUint8(0, RELAY_FRAME_VERSION);
  view.setUint8(1, header.kind);
  view.setUint8(2, (header.keyframe ? 1 : 0) | ((header.layer & 3) << 4));
  view.setUint8(3, header.stream);
  view.setBigInt64(4, BigInt(Math.round(header.timestampUs)));
  view.setUint32(12, Math.max(0, Math.min(0xffffffff, Math.round(header.durationUs))));
  view.setFloat64(16, header.captureMs);
  frame.set(payload, RELAY_HEADER_BYTES);
  return frame;
}

const KINDS = new Set<number>(Object.values(FrameKind));

/** The part of the header the server routes by (bytes 0–2): read without allocating a view. */
export interface RelayFrameRoute {
  kind: FrameKind;
  keyframe: boolean;
  layer: number;
}

/** Kind, keyframe flag and temporal layer, or null when the frame is not a version-1 relay frame. */
export function routeOfRelayFrame(frame: Uint8Array): RelayFrameRoute | null {
  if (frame.byteLength < RELAY_HEADER_BYTES || frame[0] !== RELAY_FRAME_VERSION || !KINDS.has(frame[1]!)) return null;
  const flags = frame[2]!;
  return { kind: frame[1] as FrameKind, keyframe: (flags & 1) === 1, layer: (flags >> 4) & 3 };
}

/** The header of a frame, or null when it is not a version-1 relay frame. */
export function decodeRelayHeader(frame: Uint8Array): RelayFrameHeader | null {
  const route = routeOfRelayFrame(frame);
  if (!route) return null;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return {
    ...route,
    stream: view.getUint8(3),
    timestampUs: Number(view.getBigInt64(4)),
    durationUs: view.getUint32(12),
    captureMs: view.getFloat64(16),
  };
}

export function relayPayload(frame: Uint8Array): Uint8Array {
  return frame.subarray(RELAY_HEADER_BYTES);
}

/** Control messages on the relay socket are JSON text frames. */
export type RelayControl =
  | { type: 'keyframe_request' } // server → publisher, and viewer → server: a keyframe is needed
  | { type: 'ack'; bytes: number } // viewer → server, every 100 ms: bytes of relay frames received so far
  | { type: 'viewers'; count: number; codecs: string[] }; // server → publisher: relay audience and what all of them decode
