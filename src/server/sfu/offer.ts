// The SDP of a WHIP or WHEP offer, read just enough to answer it: its media
// sections (mid, kind, direction, codecs, SSRCs) and the codec the SFU takes
// from each. Pure text in, plain values out; the answer itself is built by
// libdatachannel from the tracks the SFU adds (publisher.ts, subscriber.ts).
import type { InboundTrackInfo, SfuCodec, SfuVideoCodec } from './types.js';

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpCodec {
  payloadType: number;
  /** As written in a=rtpmap, e.g. "VP8", "H264", "opus", "rtx". */
  name: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
}

export interface MediaSection {
  kind: string;
  mid: string;
  port: number;
  direction: Direction;
  codecs: SdpCodec[];
  ssrcs: number[];
  /** Simulcast by RID (a=simulcast / a=rid), which the SFU does not take. */
  simulcast: boolean;
  /** a=bundle-only: port 0 in the offer, yet active on the bundle's transport (RFC 8843 §6). */
  bundleOnly: boolean;
}

export interface ParsedOffer {
  sections: MediaSection[];
}

export type ParseResult = { ok: true; offer: ParsedOffer } | { ok: false; message: string };

const LINE = /^[a-z]=/;
const DIRECTIONS: readonly string[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

/** Read an offer; any error message says what is wrong with it (it goes back to the client). */
export function parseOffer(sdp: string): ParseResult {
  const lines = sdp.split(/\r?\n/).filter((l) => l !== '');
  if (lines[0] !== 'v=0') return { ok: false, message: 'not an SDP offer: the body must start with "v=0"' };
  const bad = lines.find((l) => !LINE.test(l));
  if (bad !== undefined) return { ok: false, message: `not an SDP line: "${bad.slice(0, 60)}"` };
  type Credentials = { ufrag: boolean; pwd: boolean; fingerprint: boolean };
  const sections: (MediaSection & Credentials)[] = [];
  const session: Credentials = { ufrag: false, pwd: false, fingerprint: false };
  let current: (MediaSection & Credentials) | null = null;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      const [kind = '', port = '', , ...formats] = line.slice(2).split(' ');
      if (!/^\d+$/.test(port) || !formats.every((f) => /^\d+$/.test(f) || kind === 'application')) {
        return { ok: false, message: `malformed media line "${line.slice(0, 60)}"` };
      }
      current = { kind, mid: '', port: Number(port), direction: 'sendrecv', codecs: [], ssrcs: [], simulcast: false, bundleOnly: false, ufrag: false, pwd: false, fingerprint: false };
      sections.push(current);
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const colon = line.indexOf(':');
    const key = colon < 0 ? line.slice(2) : line.slice(2, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1);
    const target = current ?? session;
    if (key === 'ice-ufrag') target.ufrag = value !== '';
    else if (key === 'ice-pwd') target.pwd = value !== '';
    else if (key === 'fingerprint') target.fingerprint = value !== '';
    if (!current) continue;
    if (key === 'mid') current.mid = value;
    else if (DIRECTIONS.includes(key)) current.direction = key as Direction;
    else if (key === 'rtpmap') {
      const m = /^(\d+) ([\w.-]+)\/(\d+)(?:\/(\d+))?$/.exec(value);
      if (!m) return { ok: false, message: `malformed a=rtpmap:${value.slice(0, 40)}` };
      const codec: SdpCodec = { payloadType: Number(m[1]), name: m[2]!, clockRate: Number(m[3]) };
      if (m[4]) codec.channels = Number(m[4]);
      current.codecs.push(codec);
    } else if (key === 'fmtp') {
      const space = value.indexOf(' ');
      const pt = Number(value.slice(0, space));
      const codec = current.codecs.find((c) => c.payloadType === pt);
      if (codec && space > 0) codec.fmtp = value.slice(space + 1).trim();
    } else if (key === 'ssrc') {
      const ssrc = Number(value.split(' ')[0]);
      if (Number.isInteger(ssrc) && !current.ssrcs.includes(ssrc)) current.ssrcs.push(ssrc);
    } else if (key === 'simulcast' || key === 'rid') current.simulcast = true;
    else if (key === 'bundle-only') current.bundleOnly = true;
  }
  const media = sections.filter((s) => s.kind === 'audio' || s.kind === 'video');
  if (!media.length) return { ok: false, message: 'the offer has no audio or video media section' };
  for (const s of sections) {
    if (!s.mid) return { ok: false, message: `a ${s.kind} section has no a=mid` };
    const creds = { ufrag: s.ufrag || session.ufrag, pwd: s.pwd || session.pwd, fingerprint: s.fingerprint || session.fingerprint };
    if (!creds.ufrag || !creds.pwd) return { ok: false, message: `the ${s.kind} section (mid ${s.mid}) has no ICE credentials (a=ice-ufrag, a=ice-pwd)` };
    if (!creds.fingerprint) return { ok: false, message: `the ${s.kind} section (mid ${s.mid}) has no DTLS a=fingerprint` };
  }
  return {
    ok: true,
    offer: { sections: sections.map(({ kind, mid, port, direction, codecs, ssrcs, simulcast, bundleOnly }) => ({ kind, mid, port, direction, codecs, ssrcs, simulcast, bundleOnly })) },
  };
}

/** "a=b;c=d" → Map {a → b, c → d} (keys lower-cased). */
function fmtpParams(fmtp: string | undefined): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of (fmtp ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return params;
}

/** The app's name for an SDP codec the SFU forwards, or null. VP9 profile 2 (10-bit) and H.264 other than modes 0/1 are not taken. */
export function sfuCodec(c: SdpCodec): SfuCodec | null {
  const name = c.name.toUpperCase();
  const params = fmtpParams(c.fmtp);
  if (name === 'OPUS' && c.clockRate === 48000) return 'opus';
  if (c.clockRate !== 90000) return null;
  if (name === 'AV1') return (params.get('profile') ?? '0') === '0' ? 'AV1' : null;
  if (name === 'VP9') return (params.get('profile-id') ?? '0') === '0' ? 'VP9' : null;
  if (name === 'VP8') return 'VP8';
  if (name === 'H264') return ['0', '1'].includes(params.get('packetization-mode') ?? '0') ? 'H264' : null;
  return null;
}

/** What the SFU accepts, for the 422 message. */
export const ACCEPTED_CODECS = 'video AV1 (profile 0), VP9 (profile 0), VP8 or H.264 (packetization-mode 0 or 1); audio Opus';

const VIDEO_ORDER: readonly SfuVideoCodec[] = ['AV1', 'VP9', 'VP8', 'H264'];

/** H.264 profiles by how widely they decode: constrained baseline, baseline, main, high. */
function h264Rank(c: SdpCodec): number {
  const params = fmtpParams(c.fmtp);
  const mode = params.get('packetization-mode') === '1' ? 0 : 10;
  const profile = (params.get('profile-level-id') ?? '42000a').toLowerCase();
  const order = ['42e0', '4200', '4d00', '6400'];
  const i = order.indexOf(profile.slice(0, 4));
  return mode + (i < 0 ? order.length : i);
}

export interface TrackChoice {
  mid: string;
  info: InboundTrackInfo;
}

function info(kind: 'audio' | 'video', codec: SfuCodec, c: SdpCodec): InboundTrackInfo {
  return { kind, codec, payloadType: c.payloadType, clockRate: c.clockRate, ...(c.fmtp ? { fmtp: c.fmtp } : {}), ...(c.channels ? { channels: c.channels } : {}) };
}

/** The first section of a kind that sends (publisher) or receives (viewer). */
export function sectionFor(offer: ParsedOffer, kind: 'audio' | 'video', role: 'publisher' | 'viewer'): MediaSection | undefined {
  const wanted: Direction[] = role === 'publisher' ? ['sendonly', 'sendrecv'] : ['recvonly', 'sendrecv'];
  return offer.sections.find((s) => s.kind === kind && (s.port !== 0 || s.bundleOnly) && wanted.includes(s.direction));
}

/**
 * A WHIP publisher's tracks: the best video codec it offers in AV1 > VP9 > VP8 > H.264
 * (for H.264, packetization-mode 1 and the most widely decoded profile first), and Opus.
 */
export function choosePublisherTracks(offer: ParsedOffer): { video?: TrackChoice; audio?: TrackChoice } {
  const out: { video?: TrackChoice; audio?: TrackChoice } = {};
  const video = sectionFor(offer, 'video', 'publisher');
  if (video) {
    const usable = video.codecs.map((c) => ({ c, codec: sfuCodec(c) })).filter((x): x is { c: SdpCodec; codec: SfuVideoCodec } => x.codec !== null && x.codec !== 'opus');
    usable.sort((a, b) => VIDEO_ORDER.indexOf(a.codec) - VIDEO_ORDER.indexOf(b.codec) || (a.codec === 'H264' ? h264Rank(a.c) - h264Rank(b.c) : 0));
    const best = usable[0];
    if (best) out.video = { mid: video.mid, info: info('video', best.codec, best.c) };
  }
  const audio = sectionFor(offer, 'audio', 'publisher');
  const opus = audio?.codecs.find((c) => sfuCodec(c) === 'opus');
  if (audio && opus) out.audio = { mid: audio.mid, info: info('audio', 'opus', opus) };
  return out;
}

/**
 * Whether a viewer's offered codec decodes the publisher's stream: same codec and
 * clock; VP9/AV1 the same profile; H.264 the same packetization mode and a profile
 * that contains the stream's (a constrained-baseline stream decodes as baseline,
 * main or high). Levels are not compared: browsers decode any level they offer.
 */
export function decodes(viewer: SdpCodec, track: InboundTrackInfo): boolean {
  if (sfuCodec(viewer) !== track.codec || viewer.clockRate !== track.clockRate) return false;
  if (track.codec !== 'H264') return true;
  const v = fmtpParams(viewer.fmtp);
  const t = fmtpParams(track.fmtp);
  if ((v.get('packetization-mode') ?? '0') !== (t.get('packetization-mode') ?? '0')) return false;
  const vp = (v.get('profile-level-id') ?? '42000a').toLowerCase();
  const tp = (t.get('profile-level-id') ?? '42000a').toLowerCase();
  if (vp.slice(0, 2) === tp.slice(0, 2)) return true;
  const constrainedBaseline = tp.startsWith('42') && (parseInt(tp.slice(2, 4), 16) & 0x40) !== 0;
  return constrainedBaseline && ['42', '4d', '64'].includes(vp.slice(0, 2));
}

function sameProfile(viewer: SdpCodec, track: InboundTrackInfo): boolean {
  if (track.codec !== 'H264') return true;
  const profile = (fmtp: string | undefined) => (fmtpParams(fmtp).get('profile-level-id') ?? '42000a').slice(0, 4).toLowerCase();
  return profile(viewer.fmtp) === profile(track.fmtp);
}

/** How a codec is named in messages: "H.264 (profile-level-id=42e01f;packetization-mode=1)". */
export function describeTrack(track: InboundTrackInfo): string {
  const name = track.codec === 'H264' ? 'H.264' : track.codec === 'opus' ? 'Opus' : track.codec;
  return track.fmtp && track.codec !== 'opus' ? `${name} (${track.fmtp})` : name;
}

export interface ViewerChoice {
  mid: string;
  /** Every codec of this section the SFU could forward, the publisher's current one first (a later publisher may use another). */
  codecs: SdpCodec[];
}

/**
 * A WHEP viewer's video and audio: a section is taken when it receives the
 * publisher's current codec (else it is left out, and a viewer that can take
 * nothing at all is refused with `no_common_codec`).
 */
export function chooseViewerTracks(offer: ParsedOffer, current: { video?: InboundTrackInfo; audio?: InboundTrackInfo }): { video?: ViewerChoice; audio?: ViewerChoice } {
  const out: { video?: ViewerChoice; audio?: ViewerChoice } = {};
  for (const kind of ['video', 'audio'] as const) {
    const track = current[kind];
    const section = sectionFor(offer, kind, 'viewer');
    if (!track || !section) continue;
    // The same H.264 profile as the stream's if offered, else one that contains it.
    const first = section.codecs.find((c) => decodes(c, track) && sameProfile(c, track)) ?? section.codecs.find((c) => decodes(c, track));
    if (!first) continue;
    const rest = section.codecs.filter((c) => c !== first && sfuCodec(c) !== null && (kind === 'audio') === (sfuCodec(c) === 'opus'));
    out[kind] = { mid: section.mid, codecs: [first, ...rest] };
  }
  return out;
}
