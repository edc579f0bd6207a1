// How the server relay paces one viewer: from how far behind it is, whether
// the next frame goes to it, is dropped (top temporal layers first, then
// everything until a keyframe), or the viewer is cut off. Pure, so it is
// tested alone (test/unit/server/relay-pacing.test.ts).
import { FrameKind } from '../protocol/relay-frame.js';

// How far behind a viewer is: how long ago we sent the oldest byte it has not
// acknowledged yet (or, for a viewer that does not acknowledge, the bytes still
// in our socket buffer in ms of the stream at its measured rate). Kernel socket
// buffers on a fast LAN hold seconds of video, so the acknowledgements, not the
// socket, are what show a slow viewer early; and measuring in time, not bytes,
// keeps a large keyframe in flight from looking like a slow viewer.
export interface RelayLimits {
  /** Backlog above which the top temporal layer is dropped. */
  dropTopLayerMs: number;
  /** Above this, only the base layer goes out. */
  baseLayerOnlyMs: number;
  /** Above this, video stops until the next keyframe (and one is requested). */
  waitForKeyframeMs: number;
  /** Above this many bytes in flight, or behind waitForKeyframeMs for stallMs, the viewer is cut off. */
  cutOffBytes: number;
  stallMs: number;
  /** A GOP larger than this is not kept for late joiners; they wait for a keyframe instead. */
  maxGopBytes: number;
  /** At most one keyframe request to the publisher per this interval. */
  keyframeRequestMs: number;
  /** How long a ticket from relay_ready stays valid. */
  ticketMs: number;
}

// Acknowledgements come every 100 ms, so a viewer that keeps up can show up to
// ~100 ms + RTT behind; the thresholds start above that.
export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  dropTopLayerMs: 250,
  baseLayerOnlyMs: 400,
  waitForKeyframeMs: 800,
  cutOffBytes: 4 * 1024 * 1024,
  stallMs: 10_000,
  maxGopBytes: 8 * 1024 * 1024,
  keyframeRequestMs: 500,
  ticketMs: 30_000,
};

/** Max temporal layer id in use (L1T3 has layers 0, 1, 2). */
export const TOP_LAYER = 2;

/** What fan-out needs to remember about one viewer between frames. */
export interface ViewerPacing {
  waitingForKeyframe: boolean;
  maxLayer: number;
  stalledSince: number;
}

export interface FrameArrival {
  /** How far behind the viewer is, in ms of the stream. */
  backlogMs: number;
  /** Bytes sent to it and not yet acknowledged (or still buffered here). */
  backlogBytes: number;
  now: number;
  kind: FrameKind;
  keyframe: boolean;
  layer: number;
}

/**
 * Whether one frame goes to one viewer, given how far behind it is. Updates
 * the viewer's pacing state. Pure apart from that, so it is tested alone.
 */
export function decideDelivery(v: ViewerPacing, f: FrameArrival, L: RelayLimits): 'send' | 'drop' | 'cut_off' {
  const behind = f.backlogMs > L.waitForKeyframeMs;
  if (f.backlogBytes > L.cutOffBytes) return 'cut_off';
  if (behind) {
    v.stalledSince ||= f.now;
    if (f.now - v.stalledSince > L.stallMs) return 'cut_off';
  } else {
    v.stalledSince = 0;
  }
  if (f.kind === FrameKind.video) {
    if (f.keyframe && !behind) v.waitingForKeyframe = false;
    if (behind) v.waitingForKeyframe = true;
    if (v.waitingForKeyframe) return 'drop';
    // The layer ceiling moves only on base-layer frames, so a frame is never
    // sent without the frames it references.
    if (f.layer === 0) v.maxLayer = f.backlogMs > L.baseLayerOnlyMs ? 0 : f.backlogMs > L.dropTopLayerMs ? 1 : TOP_LAYER;
    return f.layer > v.maxLayer ? 'drop' : 'send';
  }
  if (f.kind === FrameKind.audio && behind) return 'drop';
  return 'send';
}
