// How the broadcaster serves a new viewer: peer-to-peer (direct or through
// TURN), or through the server relay, where one encode and one upload serve
// every relay viewer. Pure rules, unit-tested; the session feeds them.
import type { Sample } from '../rtc/stats-sampler.js';

/** P2P first then the server relay (auto), or always one of them. */
export type Topology = 'auto' | 'p2p' | 'relay';

/** P2P viewers before further ones go to the server relay, unless measurements say stop sooner. */
export const DEFAULT_MAX_P2P = 4;

/** Seconds of a CPU-bound encoder, and of an uplink too thin for the preset, before new viewers go to the relay. */
export const CPU_BOUND_SAMPLES = 5;
export const STARVED_SAMPLES = 10;

export interface TopologyState {
  topology: Topology;
  maxP2P: number;
  /** Whether this browser can publish to the server relay (Chromium; not Firefox). */
  canPublishToRelay: boolean;
  p2pViewers: number;
  /** Consecutive one-second samples with a CPU-bound encoder. */
  cpuLimitedFor: number;
  /** Consecutive samples in which every P2P viewer got under half the preset for lack of bandwidth. */
  starvedFor: number;
}

/**
 * Whether the next viewer goes to the server relay: by the room's choice, or
 * because this browser's encoder or uplink is already the limit (each P2P
 * viewer costs one more encode and one more upload). A browser that cannot
 * publish to the relay serves everyone P2P or through TURN.
 */
export function servesByRelay(s: TopologyState): boolean {
  if (!s.canPublishToRelay) return false;
  if (s.topology !== 'auto') return s.topology === 'relay';
  if (s.p2pViewers >= s.maxP2P) return true;
  if (s.p2pViewers === 0) return false;
  // Not in the first seconds, while bandwidth estimation ramps up: these take several samples in a row.
  return s.cpuLimitedFor >= CPU_BOUND_SAMPLES || s.starvedFor >= STARVED_SAMPLES;
}

/** Whether every P2P link is held under half the preset's bitrate by bandwidth (one sample). */
export function uplinkStarved(samples: readonly Sample[], presetKbps: number): boolean {
  return samples.length > 0 && samples.every((s) => s.qualityLimitation === 'bandwidth' && s.videoBitrate < presetKbps / 2);
}
