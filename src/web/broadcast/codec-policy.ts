// Which video codec each viewer gets. The product prefers AV1 > VP9 > VP8 >
// H.264; a viewer gets the best one that both its browser decodes and ours
// encodes, not above the room's ceiling: the broadcaster's choice (the codec
// menu, `?codec=`) or a step down when the encoder runs out of CPU.
import type { VideoCodec } from '../../protocol/messages.js';
import { sendableCodecs, VIDEO_CODEC_ORDER } from '../rtc/codecs.js';

/** Why new viewers do not get the best codec: the broadcaster's choice, or an encoder out of CPU. */
export interface CodecCeiling {
  codec: VideoCodec;
  reason: 'user' | 'cpu';
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

const rank = (c: VideoCodec): number => VIDEO_CODEC_ORDER.indexOf(c);

/** The room's codec rules: the ceilings, and the codec each viewer gets under them. */
export class CodecPolicy {
  /** Lowered while the encoder is CPU-bound; not raised again by itself in this broadcast (it would oscillate). */
  private cpuCeiling: VideoCodec | null = null;
  private readonly cpu = new CpuStepDown();

  constructor(
    private userCeiling: VideoCodec | null,
    private readonly sendable: readonly VideoCodec[] = sendableCodecs(),
  ) {}

  /** The effective ceiling: the lower of the broadcaster's choice and the CPU step-down. */
  get ceiling(): CodecCeiling | undefined {
    const user = this.userCeiling;
    const cpu = this.cpuCeiling;
    if (cpu && (!user || rank(cpu) > rank(user))) return { codec: cpu, reason: 'cpu' };
    return user ? { codec: user, reason: 'user' } : undefined;
  }

  /** Consecutive CPU-bound samples so far (the topology reads it too). */
  get cpuLimitedFor(): number {
    return this.cpu.limitedFor;
  }

  /** A new choice from the broadcaster (null: the best shared codec); it forgets the CPU step-down. */
  setUserCeiling(codec: VideoCodec | null): void {
    this.userCeiling = codec;
    this.cpuCeiling = null;
  }

  /** The codec a viewer gets now; `receivable` undefined: a viewer that decodes whatever we send (the spare's offer). */
  codecFor(receivable: readonly VideoCodec[] | undefined): VideoCodec | null {
    return chooseCodec(this.sendable, receivable, this.ceiling?.codec ?? null);
  }

  /**
   * Feed one stats sample: whether the encoder was CPU-bound, and the codecs
   * in use. True when the ceiling just stepped one codec below the best in
   * use (every viewer above it must then renegotiate).
   */
  observe(cpuLimited: boolean, inUse: readonly VideoCodec[]): boolean {
    if (!this.cpu.observe(cpuLimited) || !inUse.length) return false;
    const top = VIDEO_CODEC_ORDER.find((c) => inUse.includes(c))!;
    const next = codecBelow(top, this.sendable);
    if (!next) return false;
    this.cpuCeiling = next;
    console.info(`encoder CPU-bound: codec steps down from ${top} to ${next}`);
    return true;
  }
}
