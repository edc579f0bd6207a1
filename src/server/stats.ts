// Folding the clients' own stats_report messages into one stats_summary per room.
import type { StatsReport, StatsSummary } from '../protocol/messages.js';
import { median } from '../protocol/stats-math.js';

/** Reports older than this no longer describe the connection and are ignored. */
export const REPORT_FRESH_MS = 5_000;

export interface SummaryInput {
  roomId: string;
  broadcasterId: string | null;
  viewerIds: string[];
  reports: ReadonlyMap<string, { report: StatsReport; at: number }>;
  now: number;
}


const round1 = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10);

export function summarize({ roomId, broadcasterId, viewerIds, reports, now }: SummaryInput): StatsSummary {
  const fresh = (id: string | null) => {
    const entry = id === null ? undefined : reports.get(id);
    return entry && now - entry.at <= REPORT_FRESH_MS ? entry.report : undefined;
  };
  const viewerReports = viewerIds.map(fresh).filter((r): r is StatsReport => r !== undefined);
  const broadcaster = fresh(broadcasterId);

  const paths = { p2p: 0, turn: 0, relay: 0, sfu: 0, unknown: 0 };
  for (const r of viewerReports) if (r.connection_type) paths[r.connection_type]++;
  paths.unknown = viewerIds.length - paths.p2p - paths.turn - paths.relay - paths.sfu;

  const pick = (key: 'bitrate' | 'rtt' | 'loss') =>
    viewerReports.map((r) => r[key]).filter((v): v is number => v !== undefined);
  const rtts = pick('rtt');
  const losses = pick('loss');

  // The stream's bitrate is what the broadcaster sends each viewer; until it
  // reports, what the viewers receive is the best estimate.
  const bitrate = broadcaster?.bitrate ?? median(pick('bitrate')) ?? 0;
  const viewersSeen = Math.max(viewerIds.length, 1);

  // Viewers per codec they report receiving (per-viewer negotiation makes them differ).
  const codecs: Record<string, number> = {};
  for (const r of viewerReports) if (r.codec) codecs[r.codec] = (codecs[r.codec] ?? 0) + 1;
  const latencies = viewerReports.map((r) => r.latency).filter((v): v is number => v !== undefined);

  return {
    type: 'stats_summary',
    room_id: roomId,
    viewer_count: viewerIds.length,
    current_bitrate: Math.round(bitrate),
    upload_bitrate: Math.round(broadcaster?.upload_bitrate ?? (broadcaster?.bitrate ?? 0) * viewersSeen),
    broadcaster_present: broadcasterId !== null,
    paths,
    rtt_median: round1(median(rtts)),
    rtt_worst: rtts.length ? Math.max(...rtts) : null,
    loss_median: round1(median(losses)),
    loss_worst: losses.length ? Math.max(...losses) : null,
    latency_median: latencies.length ? Math.round(median(latencies)!) : null,
    codecs,
  };
}
