// MediaRecorder writes WebM as it goes, so its Segment Info has no Duration:
// players then show no length and cannot seek (a <video> reports Infinity).
// Once the recording is over its length is known; this writes it into Info
// (EBML element 0x4489, a float in TimecodeScale units). Chromium and Firefox
// write the Segment with an unknown size and no SeekHead, so growing Info by
// one element moves nothing that anything points at. Pure: bytes in, bytes out.

const EBML = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const INFO = 0x1549a966;
const TIMECODE_SCALE = 0x2ad7b1;
const DURATION = 0x4489;

interface Element {
  id: number;
  /** Offset of the element's first byte, of its size field, and of its data. */
  start: number;
  sizeAt: number;
  dataAt: number;
  /** null: "unknown size" (all value bits set), as live WebM writes the Segment. */
  size: number | null;
  sizeLength: number;
}

function vintLength(first: number): number {
  for (let n = 1; n <= 8; n++) if (first & (0x80 >> (n - 1))) return n;
  throw new Error('not EBML: a variable-size integer starts with 0x00');
}

function read(bytes: Uint8Array, at: number): Element {
  const idLength = vintLength(bytes[at]!);
  let id = 0;
  for (let i = 0; i < idLength; i++) id = id * 256 + bytes[at + i]!;
  const sizeAt = at + idLength;
  const sizeLength = vintLength(bytes[sizeAt]!);
  let size = bytes[sizeAt]! & (0xff >> sizeLength);
  let unknown = size === 0xff >> sizeLength;
  for (let i = 1; i < sizeLength; i++) {
    size = size * 256 + bytes[sizeAt + i]!;
    unknown &&= bytes[sizeAt + i] === 0xff;
  }
  return { id, start: at, sizeAt, dataAt: sizeAt + sizeLength, size: unknown ? null : size, sizeLength };
}

/** `value` as an EBML size of exactly `length` bytes (null if it does not fit). */
function encodeSize(value: number, length: number): Uint8Array | null {
  if (value >= 2 ** (7 * length) - 1) return null;
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0] = out[0]! | (0x80 >> (length - 1));
  return out;
}

function children(bytes: Uint8Array, parent: Element): Element[] {
  const end = parent.size === null ? bytes.length : parent.dataAt + parent.size;
  const out: Element[] = [];
  for (let at = parent.dataAt; at < end; ) {
    const el = read(bytes, at);
    out.push(el);
    if (el.size === null) break;
    at = el.dataAt + el.size;
  }
  return out;
}

function uint(bytes: Uint8Array, el: Element): number {
  let v = 0;
  for (let i = 0; i < (el.size ?? 0); i++) v = v * 256 + bytes[el.dataAt + i]!;
  return v;
}

function locate(bytes: Uint8Array): { segment: Element; info: Element; fields: Element[] } {
  const header = read(bytes, 0);
  if (header.id !== EBML || header.size === null) throw new Error('not a WebM file: no EBML header');
  const segment = read(bytes, header.dataAt + header.size);
  if (segment.id !== SEGMENT) throw new Error('not a WebM file: no Segment after the header');
  const info = children(bytes, segment).find((e) => e.id === INFO);
  if (!info || info.size === null) throw new Error('no Segment Info in this WebM file');
  return { segment, info, fields: children(bytes, info) };
}

/** The Duration in a WebM file, ms; null when it has none. */
export function webmDurationMs(bytes: Uint8Array): number | null {
  const { fields } = locate(bytes);
  const duration = fields.find((e) => e.id === DURATION);
  if (!duration) return null;
  const scale = fields.find((e) => e.id === TIMECODE_SCALE);
  const view = new DataView(bytes.buffer, bytes.byteOffset + duration.dataAt, duration.size ?? 0);
  const units = duration.size === 4 ? view.getFloat32(0) : view.getFloat64(0);
  return (units * (scale ? uint(bytes, scale) : 1_000_000)) / 1_000_000;
}

/** The same file with its Duration set to `ms` (replaced if it had one). */
export function withWebmDuration(bytes: Uint8Array, ms: number): Uint8Array<ArrayBuffer> {
  const { segment, info, fields } = locate(bytes);
  const scale = fields.find((e) => e.id === TIMECODE_SCALE);
  const units = (ms * 1_000_000) / (scale ? uint(bytes, scale) : 1_000_000);
  const existing = fields.find((e) => e.id === DURATION);
  if (existing && (existing.size === 8 || existing.size === 4)) {
    const out = bytes.slice();
    const view = new DataView(out.buffer, existing.dataAt, existing.size);
    if (existing.size === 8) view.setFloat64(0, units);
    else view.setFloat32(0, units);
    return out;
  }
  const element = new Uint8Array(11);
  element.set([0x44, 0x89, 0x88]);
  new DataView(element.buffer).setFloat64(3, units);
  const infoSize = encodeSize(info.size! + element.length, info.sizeLength) ?? encodeSize(info.size! + element.length, 8)!;
  const infoEnd = info.dataAt + info.size!;
  const grown = element.length + infoSize.length - info.sizeLength;
  let segmentSize: Uint8Array | null = null;
  if (segment.size !== null) segmentSize = encodeSize(segment.size + grown, segment.sizeLength) ?? encodeSize(segment.size + grown, 8)!;
  const parts = [
    bytes.subarray(0, segment.sizeAt),
    segmentSize ?? bytes.subarray(segment.sizeAt, segment.dataAt),
    bytes.subarray(segment.dataAt, info.sizeAt),
    infoSize,
    bytes.subarray(info.dataAt, infoEnd),
    element,
    bytes.subarray(infoEnd),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
