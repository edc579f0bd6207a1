// Which video codec each viewer gets. The product prefers AV1 > VP9 > VP8 >
// H.264; a viewer gets the best one that both its browser decodes and ours
// encodes, not above the room's ceiling (set by the broadcaster, or lowered
// when the encoder runs out of CPU). Pure functions plus the two capability
// reads, so the rules are unit-tested without a browser.
import { VideoCodec } from '../protocol/messages.js';

/** Best first. */
export const VIDEO_CODEC_ORDER: readonly VideoCodec[] = VideoCodec.options;

/** A codec by the app's name, from an RTP mime type such as "video/H264"; null for rtx, red, fec… */
export function codecOfMime(mimeType: string): VideoCodec | null {
  const name = mimeType.replace(/^video\//i, '').toUpperCase();
  return (VIDEO_CODEC_ORDER as readonly string[]).includes(name) ? (name as VideoCodec) : null;
}

/** Codecs from a capability list, deduplicated, best first. */
export function codecsIn(capabilities: readonly { mimeType: string }[]): VideoCodec[] {
  const present = new Set(capabilities.map((c) => codecOfMime(c.mimeType)));
  return VIDEO_CODEC_ORDER.filter((c) => present.has(c));
}

/**
 * Parse a codec list from a URL option such as "vp8,h264" (case-insensitive,
 * "h.264" allowed); unknown names are ignored. Null when nothing is left.
 */
export function parseCodecList(text: string | null | undefined): VideoCodec[] | null {
  if (!text) return null;
  const wanted = new Set(text.split(',').map((t) => t.trim().toUpperCase().replace('.', '')));
  const list = VIDEO_CODEC_ORDER.filter((c) => wanted.has(c));
  return list.length ? list : null;
}

/** What this browser decodes over RTP, best first, optionally restricted (tests, `?codecs=`). */
export function receivableCodecs(only?: readonly VideoCodec[] | null): VideoCodec[] {
  const caps = typeof RTCRtpReceiver !== 'undefined' ? RTCRtpReceiver.getCapabilities?.('video') : null;
  const all = caps ? codecsIn(caps.codecs) : [];
  return only ? all.filter((c) => only.includes(c)) : all;
}

/** What this browser encodes over RTP, best first. */
export function sendableCodecs(): VideoCodec[] {
  const caps = typeof RTCRtpSender !== 'undefined' ? RTCRtpSender.getCapabilities?.('video') : null;
  return caps ? codecsIn(caps.codecs) : [];
}

/**
 * The codec a viewer gets: the best one both sides have that is not above the
 * ceiling. A viewer that did not say what it decodes (an older client) is
 * assumed to decode what we send. If nothing shared is under the ceiling (a
 * cap at H.264 and a Firefox viewer without it), the shared codec nearest the
 * ceiling wins — a picture beats a preference, and the cheapest of them keeps
 * closest to why the cap was set.
 */
export function chooseCodec(
  sendable: readonly VideoCodec[],
  receivable: readonly VideoCodec[] | undefined,
  ceiling: VideoCodec | null,
): VideoCodec | null {
  const shared = VIDEO_CODEC_ORDER.filter((c) => sendable.includes(c) && (!receivable || receivable.includes(c)));
  const floor = ceiling ? VIDEO_CODEC_ORDER.indexOf(ceiling) : 0;
  return shared.find((c) => VIDEO_CODEC_ORDER.indexOf(c) >= floor) ?? shared.at(-1) ?? null;
}

/** The next codec down the order that is cheaper to encode, or null at the bottom. */
export function codecBelow(codec: VideoCodec, available: readonly VideoCodec[]): VideoCodec | null {
  const i = VIDEO_CODEC_ORDER.indexOf(codec);
  return VIDEO_CODEC_ORDER.slice(i + 1).find((c) => available.includes(c)) ?? null;
}

/**
 * Order capabilities for setCodecPreferences: `first` (all its profiles, in
 * the browser's order), then the other allowed codecs best first, then what is
 * not a media codec (rtx, red, ulpfec — needed for retransmission and FEC).
 * Codecs outside `allowed` are left out, so the remote side cannot pick them.
 */
export function preferenceOrder<C extends { mimeType: string }>(
  capabilities: readonly C[],
  first: VideoCodec | null,
  allowed?: readonly VideoCodec[] | null,
): C[] {
  const rank = (c: C): number => {
    const codec = codecOfMime(c.mimeType);
    if (!codec) return VIDEO_CODEC_ORDER.length + 1;
    if (codec === first) return -1;
    return VIDEO_CODEC_ORDER.indexOf(codec);
  };
  return capabilities
    .filter((c) => {
      const codec = codecOfMime(c.mimeType);
      return !codec || !allowed || allowed.includes(codec);
    })
    .map((codec, index) => ({ codec, index }))
    .sort((a, b) => rank(a.codec) - rank(b.codec) || a.index - b.index)
    .map(({ codec }) => codec);
}

/** The video codecs of an SDP's first video section, in the order offered. */
export function offeredCodecs(sdp: string): VideoCodec[] {
  const section = /^m=video [^\r\n]*(?:\r?\n(?!m=)[^\r\n]*)*/m.exec(sdp)?.[0];
  if (!section) return [];
  const payloads = section.split(/\r?\n/)[0]!.split(' ').slice(3);
  const names = new Map<string, VideoCodec | null>();
  for (const m of section.matchAll(/^a=rtpmap:(\d+) ([^/\s]+)/gm)) names.set(m[1]!, codecOfMime(m[2]!));
  const order: VideoCodec[] = [];
  for (const pt of payloads) {
    const codec = names.get(pt);
    if (codec && !order.includes(codec)) order.push(codec);
  }
  return order;
}

/**
 * When to step the codec down: after `limitedSamples` one-second samples in a
 * row of a CPU-bound encoder, and not sooner than `cooldownSamples` after the
 * previous step, so the cheaper encoder gets a chance to show it is enough.
 */
export class CpuStepDown {
  private limited = 0;
  private sinceStep: number;

  constructor(
    private readonly limitedSamples = 5,
    private readonly cooldownSamples = 10,
  ) {
    this.sinceStep = cooldownSamples;
  }

  /** Feed one sample; true when the codec should step down now. */
  observe(cpuLimited: boolean): boolean {
    this.sinceStep++;
    this.limited = cpuLimited ? this.limited + 1 : 0;
    if (this.limited < this.limitedSamples || this.sinceStep < this.cooldownSamples) return false;
    this.limited = 0;
    this.sinceStep = 0;
    return true;
  }

  /** Consecutive CPU-bound samples so far (the hybrid topology reads it too). */
  get limitedFor(): number {
    return this.limited;
  }
}
