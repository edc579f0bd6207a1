// Adaptive bitrate for one viewer link, on top of the browser's own congestion
// control: from the outbound stats sample taken every second (loss and RTT as
// the viewer's receiver reports them, the congestion controller's available
// outgoing bitrate), choose a level = a maxBitrate and a scaleResolutionDownBy
// for that viewer's video sender. Pure: no WebRTC, no timers; the caller feeds
// samples and applies the level it gets back (docs/architecture.md, "Adaptive
// bitrate").
//
// Why the app chooses the resolution: the sender runs with
// degradationPreference 'maintain-resolution', so the encoder never lowers the
// resolution by itself (left to itself it starts at 180p–360p and needs 12 s
// (AV1) to over 15 s (VP8) to reach 720p on a clean path, measured:
// docs/BENCHMARKS.md). When the path
// gets thin, this controller lowers the resolution together with the bitrate,
// so the frame rate holds: camera content prefers motion over detail.
import { PRESETS, type Quality } from './media.js';

/** Resolution/bitrate rungs, best first; a preset uses those at or below its own height and ceiling. */
const RUNGS: readonly { height: number; kbps: number }[] = [
  { height: 1080, kbps: 4500 },
  { height: 1080, kbps: 3000 },
  { height: 720, kbps: 2500 },
  { height: 720, kbps: 1600 },
  { height: 480, kbps: 1000 },
  { height: 360, kbps: 600 },
  { height: 240, kbps: 300 },
  { height: 180, kbps: 150 },
];

/**
 * What a link may carry at a level, put on the connection as the viewer's video b=AS: the
 * video cap × LINK_FACTOR + LINK_AUDIO_KBPS. maxBitrate bounds only the encoder: after loss,
 * Chromium's congestion controller pads the link with RTX up to its estimate (as WebRTC's
 * loss-based "increase using padding" state does), measured 1–2 Mbit/s to a viewer at the
 * 150 kbit/s level under 10 % loss, 4 Mbit/s just after it (docs/BENCHMARKS.md). The factor
 * leaves room for video's packet headers and retransmissions (~10 % each at 180p under 10 %
 * loss) and keeps the controller's video share of an estimate at the cap (headroom 0.85) above
 * the level; the addend is Opus with its headers (~50 kbit/s on the wire, measured).
 */
const LINK_FACTOR = 1.2;
const LINK_AUDIO_KBPS = 64;

export interface AbrLevel {
  /** 0 is the preset's own level (the ceiling); count - 1 the floor. */
  index: number;
  count: number;
  /** Encoded height, px, for a capture at the preset's size. */
  height: number;
  /** The sender's maxBitrate, bit/s. */
  maxBitrate: number;
  scaleResolutionDownBy: number;
  /** The most the whole link (audio, video, retransmissions, padding) may carry at this level, bit/s. */
  linkBitrate: number;
}

export type AbrReason = 'start' | 'preset' | 'loss' | 'rtt' | 'bandwidth' | 'recovered';

export interface AbrSample {
  /** ms, monotonic (performance.now()). */
  at: number;
  /** Percent of video packets the viewer lost, as its last receiver report says (fractionLost × 100). */
  loss?: number;
  /** ms, of the selected candidate pair (or the receiver reports). */
  rtt?: number;
  /** kbit/s, the congestion controller's availableOutgoingBitrate. */
  availableBitrate?: number;
  /** kbit/s of video actually sent on this link since the previous sample. */
  sentBitrate?: number;
  /** outbound-rtp qualityLimitationReason. */
  qualityLimitation?: string;
}

export interface AbrDecision {
  level: AbrLevel;
  changed: boolean;
  reason?: AbrReason;
}

export interface AbrTuning {
  /** A sample with at least this much loss (percent) is bad. */
  lossHigh: number;
  /** …and the path is clean only below this. */
  lossClean: number;
  /** RTT this far (ms) above the link's lowest recent RTT means queues are filling. */
  rttRise: number;
  /** The path is clean only within this (ms) of the lowest recent RTT. */
  rttClean: number;
  /** Consecutive bad samples (loss, estimate) before a step down. */
  badSamples: number;
  /**
   * Consecutive samples of high RTT before a step down: more than for loss, because a busy CPU
   * delays the replies that RTT is measured with too (single spikes of 150–270 ms, measured).
   */
  rttBadSamples: number;
  /** After a change, at least this long (ms) before the next step down: its effect must show first. */
  downHoldMs: number;
  /** The path must have been clean this long (ms) before a step up (half when the estimate has room for it); doubled per failed step up. */
  upHoldMs: number;
  upHoldMaxMs: number;
  /** A step down this soon (ms) after a step up means the step up failed. */
  probeWindowMs: number;
  /** Holding a level reached by a step up this long (ms) without trouble forgets the failed steps up. */
  forgetMs: number;
  /** From the start of a link, ignore the bandwidth estimate this long (ms): the controller is still probing. */
  warmupMs: number;
  /** How much of the available bitrate video may take (audio and packet overhead share the rest). */
  headroom: number;
  /** Video sending at least this share of its part of the estimate means the estimate is the limit. */
  saturation: number;
  /** The estimate fell below this share of its peak over estimateWindowMs: the path shrank. */
  estimateDrop: number;
  estimateWindowMs: number;
  /** Window (ms) for the lowest RTT. */
  rttWindowMs: number;
  /**
   * An estimate at this share of the level's link cap or more has reached it: as much room for
   * the next level as the estimate can show (unless the estimate brought the link down).
   */
  atCap: number;
}

export const DEFAULT_TUNING: AbrTuning = {
  lossHigh: 5,
  lossClean: 2,
  rttRise: 150,
  rttClean: 60,
  badSamples: 2,
  rttBadSamples: 3,
  downHoldMs: 2_000,
  upHoldMs: 4_000,
  upHoldMaxMs: 32_000,
  probeWindowMs: 10_000,
  forgetMs: 30_000,
  warmupMs: 5_000,
  headroom: 0.85,
  saturation: 0.9,
  estimateDrop: 0.7,
  estimateWindowMs: 10_000,
  rttWindowMs: 30_000,
  atCap: 0.9,
};

/** The levels of a preset, best first. */
export function levelsFor(quality: Quality): AbrLevel[] {
  const preset = PRESETS[quality];
  const ceiling = preset.maxBitrate / 1000;
  const rungs = [{ height: preset.height, kbps: ceiling }, ...RUNGS.filter((r) => r.height <= preset.height && r.kbps < ceiling)];
  return rungs.map((r, index) => ({
    index,
    count: rungs.length,
    height: r.height,
    maxBitrate: r.kbps * 1000,
    scaleResolutionDownBy: Math.round((preset.height / r.height) * 100) / 100,
    linkBitrate: Math.round(r.kbps * LINK_FACTOR + LINK_AUDIO_KBPS) * 1000,
  }));
}

export class AdaptiveBitrate {
  private levels: AbrLevel[];
  private index = 0;
  private startedAt: number | null = null;
  private lastAt: number | null = null;
  private lastChangeAt = Number.NEGATIVE_INFINITY;
  private lastUpAt = Number.NEGATIVE_INFINITY;
  private cleanSince: number | null = null;
  private lossBad = 0;
  private rttBad = 0;
  private bandwidthBad = 0;
  private failedUps = 0;
  /** The last step down was for the estimate: the path itself was short, which an estimate held at the link cap cannot disprove. */
  private estimateBound = false;
  private rtts: { at: number; rtt: number }[] = [];
  private estimates: { at: number; kbps: number }[] = [];
  readonly tuning: AbrTuning;

  constructor(quality: Quality, tuning: Partial<AbrTuning> = {}) {
    this.levels = levelsFor(quality);
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
  }

  get level(): AbrLevel {
    return this.levels[this.index]!;
  }

  /** A new preset: its levels, starting again at its ceiling, with no memory of failed steps up. */
  setQuality(quality: Quality): AbrLevel {
    this.levels = levelsFor(quality);
    this.index = 0;
    this.failedUps = 0;
    this.estimateBound = false;
    this.lossBad = this.rttBad = this.bandwidthBad = 0;
    this.cleanSince = null;
    this.lastUpAt = Number.NEGATIVE_INFINITY;
    return this.level;
  }

  update(s: AbrSample): AbrDecision {
    const t = this.tuning;
    // The same sample twice (a failed getStats returns the previous one) is no new evidence.
    if (this.lastAt !== null && s.at <= this.lastAt) return { level: this.level, changed: false };
    this.lastAt = s.at;
    this.startedAt ??= s.at;
    const baseline = this.baselineRtt(s);
    const loss = s.loss;
    const rttExcess = s.rtt !== undefined && baseline !== null ? s.rtt - baseline : undefined;
    const warm = s.at - this.startedAt >= t.warmupMs;
    const videoBudget = warm && s.availableBitrate !== undefined ? s.availableBitrate * t.headroom : undefined;

    this.lossBad = loss !== undefined && loss >= t.lossHigh ? this.lossBad + 1 : 0;
    this.rttBad = rttExcess !== undefined && rttExcess >= t.rttRise ? this.rttBad + 1 : 0;
    const limited = this.bandwidthLimited(videoBudget, s.sentBitrate);
    // An estimate below the level is a reason to step down when the path shrank: the estimate fell
    // below 70 % of its recent peak (then whatever video sends: with 'maintain-resolution' a
    // squeezed encoder drops frames and sends less than its share, measured), or video uses all of
    // its share while packets are lost or queued. While GCC is still climbing (a new link, or after
    // a step up) the estimate sits just above what is sent, and that alone is no shortage.
    const peak = this.peakAvailable(s);
    const fell = s.availableBitrate !== undefined && peak !== null && s.availableBitrate < peak * t.estimateDrop;
    const congested = (loss ?? 0) >= t.lossClean || (rttExcess ?? 0) > t.rttClean;
    const belowLevel = videoBudget !== undefined && videoBudget < (this.level.maxBitrate / 1000) * 0.9;
    this.bandwidthBad = belowLevel && (fell || (limited && congested)) ? this.bandwidthBad + 1 : 0;

    const canDrop = s.at - this.lastChangeAt >= t.downHoldMs && this.index < this.levels.length - 1;
    if (canDrop && this.bandwidthBad >= t.badSamples && videoBudget !== undefined) {
      // The estimate says how much fits: go straight there, however many levels down.
      const fit = this.levels.findIndex((l) => l.maxBitrate / 1000 <= videoBudget);
      return this.step(s.at, fit === -1 ? this.levels.length - 1 : Math.max(fit, this.index + 1), 'bandwidth');
    }
    if (canDrop && this.lossBad >= t.badSamples) return this.step(s.at, this.index + 1, 'loss');
    if (canDrop && this.rttBad >= t.rttBadSamples) return this.step(s.at, this.index + 1, 'rtt');

    const clean = (loss ?? 0) < t.lossClean && (rttExcess ?? 0) <= t.rttClean && !limited;
    if (!clean) {
      this.cleanSince = null;
      return { level: this.level, changed: false };
    }
    this.cleanSince ??= s.at;
    // A step up that has held without trouble this long worked: forget the failed ones.
    if (this.lastChangeAt === this.lastUpAt && s.at - this.lastUpAt >= t.forgetMs) this.failedUps = 0;
    // When the estimate already has room for the next level up, half the wait: the climb back
    // after a cap is lifted then takes seconds, not half a minute. Failed steps up still double it.
    // The link cap keeps the estimate under the next level, so an estimate at the cap counts as
    // room too, unless the estimate is what brought the link down: under a path's own limit just
    // above the cap (a 500 kbit/s bucket at the 300 kbit/s level) it sits at the cap as well.
    const next = this.levels[this.index - 1];
    const atCap = this.estimateBound ? Infinity : (this.level.linkBitrate / 1000) * t.atCap;
    const room = next === undefined ? Infinity : Math.min(next.maxBitrate / 1000 / t.headroom, atCap);
    const vouched = warm && s.availableBitrate !== undefined && s.availableBitrate >= room;
    const hold = Math.min(t.upHoldMaxMs, (vouched ? t.upHoldMs / 2 : t.upHoldMs) * 2 ** this.failedUps);
    if (this.index > 0 && s.at - Math.max(this.cleanSince, this.lastChangeAt) >= hold) {
      this.lastUpAt = s.at;
      return this.step(s.at, this.index - 1, 'recovered');
    }
    return { level: this.level, changed: false };
  }

  /** How long the path must stay clean before the next step up, ms (grows with failed steps up). */
  get upHoldMs(): number {
    return Math.min(this.tuning.upHoldMaxMs, this.tuning.upHoldMs * 2 ** this.failedUps);
  }

  private step(at: number, to: number, reason: AbrReason): AbrDecision {
    const index = Math.min(this.levels.length - 1, Math.max(0, to));
    if (index === this.index) return { level: this.level, changed: false };
    if (index > this.index && at - this.lastUpAt <= this.tuning.probeWindowMs) this.failedUps++;
    if (index > this.index) this.estimateBound = reason === 'bandwidth';
    this.index = index;
    this.lastChangeAt = at;
    this.cleanSince = null;
    this.lossBad = this.rttBad = this.bandwidthBad = 0;
    return { level: this.level, changed: true, reason };
  }

  /**
   * Whether the estimate is what holds this link back: it leaves video less
   * than the level's bitrate, and video already uses nearly all of that share.
   * (A simple picture sends less than the level allows, and the estimate then
   * grows only a little above what is sent: that is no shortage.)
   */
  private bandwidthLimited(videoBudget: number | undefined, sent: number | undefined): boolean {
    if (videoBudget === undefined) return false;
    const levelKbps = this.level.maxBitrate / 1000;
    if (videoBudget >= levelKbps * 0.9) return false;
    return sent === undefined || sent >= videoBudget * this.tuning.saturation;
  }

  /**
   * Highest estimate in the recent window, before this sample, as far as this level's link cap
   * lets it reach: the estimate falling to a lower level's cap is no sign of a shrinking path.
   */
  private peakAvailable(s: AbrSample): number | null {
    const cutoff = s.at - this.tuning.estimateWindowMs;
    this.estimates = this.estimates.filter((e) => e.at >= cutoff);
    const peak = this.estimates.reduce<number | null>((max, e) => (max === null || e.kbps > max ? e.kbps : max), null);
    if (s.availableBitrate !== undefined) this.estimates.push({ at: s.at, kbps: s.availableBitrate });
    return peak === null ? null : Math.min(peak, this.level.linkBitrate / 1000);
  }

  /** Lowest RTT in the recent window: the path's RTT without queueing. */
  private baselineRtt(s: AbrSample): number | null {
    const cutoff = s.at - this.tuning.rttWindowMs;
    this.rtts = this.rtts.filter((r) => r.at >= cutoff);
    const lowest = this.rtts.reduce<number | null>((min, r) => (min === null || r.rtt < min ? r.rtt : min), null);
    if (s.rtt !== undefined) this.rtts.push({ at: s.at, rtt: s.rtt });
    return lowest ?? (s.rtt !== undefined ? s.rtt : null);
  }
}

/**
 * Put a level on a video sender's parameters: every encoding gets its bitrate
 * and scale, and the encoder is told to keep that resolution (frame rate goes
 * only when even the lowest level does not fit; the resolution is ours to set).
 */
export function applyLevel(params: RTCRtpSendParameters, level: AbrLevel): RTCRtpSendParameters {
  for (const e of params.encodings) {
    e.maxBitrate = level.maxBitrate;
    e.scaleResolutionDownBy = level.scaleResolutionDownBy;
  }
  params.degradationPreference = 'maintain-resolution';
  return params;
}

/** The quality_level message that tells a viewer its link's level. */
export function levelMessage(targetId: string, level: AbrLevel, reason: AbrReason) {
  return {
    type: 'quality_level' as const,
    target_id: targetId,
    level: level.index,
    levels: level.count,
    height: level.height,
    max_bitrate: level.maxBitrate / 1000,
    reason,
  };
}
