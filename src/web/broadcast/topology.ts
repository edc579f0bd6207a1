// How the broadcaster serves a new viewer: peer-to-peer (direct or through
// TURN), through the server's SFU (one upload for any number of viewers), or
// through the server relay (our WebSocket relay: one WebCodecs encode for all).
// Pure rules, unit-tested; the session feeds them.
import type { Sample } from '../rtc/stats-sampler.js';

/** P2P first then the SFU (auto), or always one of the three. */
export type Topology = 'auto' | 'p2p' | 'sfu' | 'relay';
/** Where auto sends the viewers P2P cannot take: the SFU, or the server relay. */
export type Overflow = 'sfu' | 'relay';
export type ViewerRoute = 'p2p' | 'sfu' | 'relay';

/** P2P viewers before further ones go to the overflow, unless measurements say stop sooner. */
export const DEFAULT_MAX_P2P = 4;

/** Seconds of a CPU-bound encoder, and of an uplink too thin for the preset, before new viewers go to the overflow. */
export const CPU_BOUND_SAMPLES = 5;
export const STARVED_SAMPLES = 10;

export interface TopologyState {
  topology: Topology;
  overflow: Overflow;
  maxP2P: number;
  /** Whether this browser can publish to the server relay (Chromium; not Firefox). */
  canPublishToRelay: boolean;
  /** Whether the SFU can take this viewer (its feed did not fail, and carries a codec this viewer decodes). */
  sfuAccepts: boolean;
  p2pViewers: number;
  /** Consecutive one-second samples with a CPU-bound encoder. */
  cpuLimitedFor: number;
  /** Consecutive samples in which every P2P viewer got under half the preset for lack of bandwidth. */
  starvedFor: number;
}

/**
 * The route of the next viewer: the room's choice, else P2P until the cap or
 * until this browser's encoder or uplink is the limit (each P2P viewer costs
 * one more encode and one more upload), then the overflow. A route this
 * browser or this viewer cannot use falls back to P2P, which always works.
 */
export function routeForViewer(s: TopologyState): ViewerRoute {
  const usable = (route: ViewerRoute): ViewerRoute => {
    if (route === 'relay' && !s.canPublishToRelay) return 'p2p';
    if (route === 'sfu' && !s.sfuAccepts) return 'p2p';
    return route;
  };
  if (s.topology !== 'auto') return usable(s.topology);
  if (s.p2pViewers >= s.maxP2P) return usable(s.overflow);
  if (s.p2pViewers === 0) return 'p2p';
  // Not in the first seconds, while bandwidth estimation ramps up: these take several samples in a row.
  const pressed = s.cpuLimitedFor >= CPU_BOUND_SAMPLES || s.starvedFor >= STARVED_SAMPLES;
  return pressed ? usable(s.overflow) : 'p2p';
}

/** Whether every P2P link is held under half the preset's bitrate by bandwidth (one sample). */
export function uplinkStarved(samples: readonly Sample[], presetKbps: number): boolean {
  return samples.length > 0 && samples.every((s) => s.qualityLimitation === 'bandwidth' && s.videoBitrate < presetKbps / 2);
}
