// Video codecs by the app's names: the product's order (AV1 > VP9 > VP8 >
// H.264), what this browser encodes and decodes, and how an SDP or a
// setCodecPreferences list orders them. Which codec a viewer gets is the
// broadcaster's policy (broadcast/codec-policy.ts). Pure functions plus the two
// capability reads, so the rules are unit-tested without a browser.
import { VideoCodec } from '../../protocol/messages.js';

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
 * Apply a preferenceOrder to a transceiver: `first` leads what it negotiates
 * and only `allowed` codecs (all, by default) are offered or accepted. An
 * answer keeps the offer's order among what its side decodes, so a sender's
 * first codec is the one it encodes. Where the browser has no
 * setCodecPreferences the order stays the browser's.
 */
export function orderCodecs(
  transceiver: RTCRtpTransceiver,
  capabilities: readonly RTCRtpCodec[] | undefined,
  first: VideoCodec | null,
  allowed?: readonly VideoCodec[] | null,
): void {
  if (!capabilities || !transceiver.setCodecPreferences) return;
  try {
    transceiver.setCodecPreferences(preferenceOrder(capabilities, first, allowed));
  } catch (err) {
    console.warn('codec preferences not applied', err);
  }
}
