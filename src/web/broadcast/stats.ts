// The broadcaster's figures, as pure functions of the latest samples: what the
// page shows (upload, the stream's bitrate, encoder figures, the viewers
// table) and the stats_report the server folds into the room's summary.
import type { ClientMessageOf, VideoCodec } from '../../protocol/messages.js';
import { median } from '../../protocol/stats-math.js';
import type { RelayPublisherStats } from '../relay/publisher.js';
import { SERVER_RELAY_PATH, type PathInfo, type Sample } from '../rtc/stats-sampler.js';
import type { Rung } from '../watch/connection-ladder.js';
import type { AbrLevel } from './adaptive-bitrate.js';
import type { CodecCeiling } from './codec-policy.js';

export interface ViewerInfo {
  id: string;
  state: RTCPeerConnectionState;
  /** The rung of the connection ladder the viewer asked for: 'direct' until it asks for more. */
  rung: Rung;
  path: PathInfo | null;
  bitrate: number;
  rtt?: number;
  loss?: number;
  /** The codec measured on the wire (getStats). */
  codec?: string;
  /** The codec chosen for this viewer: best shared, under the ceiling. */
  plannedCodec?: VideoCodec;
  /** The adaptive-bitrate level of this viewer's link (P2P and TURN viewers). */
  level?: AbrLevel;
}

export interface BroadcastStats {
  /** kbit/s sent to all viewers together. */
  upload: number;
  /** kbit/s per viewer (median), i.e. the stream's bitrate. */
  bitrate: number;
  availableBitrate?: number;
  fps?: number;
  width?: number;
  height?: number;
  codec?: string;
  qualityLimitation?: string;
  /** Set when codecs are capped below AV1. */
  codecCeiling?: CodecCeiling;
  viewers: ViewerInfo[];
}

/** A P2P or TURN viewer's row. */
export function peerViewerInfo(
  link: { id: string; state: RTCPeerConnectionState; rung: Rung; codec: VideoCodec | null; level: AbrLevel },
  sample: Sample | null,
): ViewerInfo {
  return {
    id: link.id,
    state: link.state,
    rung: link.rung,
    path: sample?.path ?? null,
    bitrate: sample?.bitrate ?? 0,
    ...(sample?.rtt !== undefined ? { rtt: sample.rtt } : {}),
    ...(sample?.loss !== undefined ? { loss: sample.loss } : {}),
    ...(sample?.codec !== undefined ? { codec: sample.codec } : {}),
    ...(link.codec ? { plannedCodec: link.codec } : {}),
    level: link.level,
  };
}

/** An SFU viewer's row: the upload to the SFU, the same for every SFU viewer. */
export function sfuViewerInfo(id: string, upload: Sample | null): ViewerInfo {
  return {
    id,
    state: upload ? 'connected' : 'connecting',
    rung: 'direct',
    path: upload?.path ? { ...upload.path, type: 'sfu' } : null,
    bitrate: upload?.bitrate ?? 0,
    ...(upload?.codec ? { codec: upload.codec } : {}),
  };
}

/** A server-relay viewer's row: the relay stream's figures, the same for every relay viewer. */
export function relayViewerInfo(id: string, relay: RelayPublisherStats | null): ViewerInfo {
  return { id, state: 'connected', path: SERVER_RELAY_PATH, rung: 'relay', bitrate: relay?.bitrate ?? 0, ...(relay?.codec ? { codec: relay.codec } : {}) };
}

export interface BroadcastInput {
  /** The latest sample of every live P2P/TURN link. */
  samples: readonly Sample[];
  /** The relay stream's figures while it has viewers, else null. */
  relay: RelayPublisherStats | null;
  /** The upload to the SFU while there is one, else null. */
  sfu?: Sample | null;
  /** The camera track's settings, for figures no link reports yet. */
  camera?: MediaTrackSettings;
  ceiling?: CodecCeiling;
  viewers: ViewerInfo[];
}

export function broadcastStats({ samples, relay, sfu = null, camera, ceiling, viewers }: BroadcastInput): BroadcastStats {
  const lead = samples.find((s) => s.fps !== undefined) ?? (sfu?.fps !== undefined ? sfu : undefined);
  const available = samples.map((s) => s.availableBitrate).filter((v): v is number => v !== undefined);
  return {
    // The relay stream and the SFU's are uploaded once, whatever the number of their viewers.
    upload: samples.reduce((sum, s) => sum + s.bitrate, 0) + (relay?.bitrate ?? 0) + (sfu?.bitrate ?? 0),
    bitrate: Math.round(median(samples.map((s) => s.bitrate)) ?? sfu?.bitrate ?? relay?.bitrate ?? 0),
    ...(available.length ? { availableBitrate: Math.min(...available) } : {}),
    fps: lead?.fps ?? relay?.fps ?? camera?.frameRate,
    width: lead?.width ?? camera?.width,
    height: lead?.height ?? camera?.height,
    codec: lead?.codec ?? relay?.codec ?? undefined,
    ...(lead?.qualityLimitation ? { qualityLimitation: lead.qualityLimitation } : {}),
    ...(ceiling ? { codecCeiling: ceiling } : {}),
    viewers,
  };
}

/** The broadcaster's stats_report: undefined fields vanish in JSON, so it carries only what was measured. */
export function broadcastReport(stats: BroadcastStats, samples: readonly Sample[]): ClientMessageOf<'stats_report'> {
  const rtts = samples.map((s) => s.rtt).filter((v): v is number => v !== undefined);
  const losses = samples.map((s) => s.loss).filter((v): v is number => v !== undefined);
  return {
    type: 'stats_report',
    bitrate: stats.bitrate,
    upload_bitrate: stats.upload,
    available_bitrate: stats.availableBitrate,
    fps: stats.fps === undefined ? undefined : Math.round(stats.fps),
    width: stats.width,
    height: stats.height,
    rtt: median(rtts) ?? undefined,
    loss: median(losses) ?? undefined,
    codec: stats.codec,
  };
}
