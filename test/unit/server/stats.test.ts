// summarize(): folding the clients' stats_report messages into one stats_summary.
import { describe, expect, it } from 'vitest';
import type { StatsReport } from '../../../src/protocol/messages.js';
import { median } from '../../../src/protocol/stats-math.js';
import { REPORT_FRESH_MS, summarize, type SummaryInput } from '../../../src/server/stats.js';

const NOW = 1_700_000_000_000;

function input(
  viewerIds: string[],
  reports: Record<string, StatsReport | [StatsReport, number]>,
  broadcasterId: string | null = 'b',
): SummaryInput {
  const map = new Map<string, { report: StatsReport; at: number }>();
  for (const [id, r] of Object.entries(reports)) {
    const [report, age] = Array.isArray(r) ? r : [r, 0];
    map.set(id, { report, at: NOW - age });
  }
  return { roomId: '123456', broadcasterId, viewerIds, reports: map, now: NOW };
}

describe('median', () => {
  it('of odd, even, unsorted and empty lists', () => {
    expect(median([])).toBeNull();
    expect(median([7])).toBe(7);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([10, 1, 100, 1000, 5])).toBe(10);
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('summarize', () => {
  it('a room without reports', () => {
    expect(summarize(input(['v1', 'v2'], {}))).toEqual({
      type: 'stats_summary',
      room_id: '123456',
      viewer_count: 2,
      current_bitrate: 0,
      upload_bitrate: 0,
      broadcaster_present: true,
      paths: { p2p: 0, turn: 0, relay: 0, sfu: 0, unknown: 2 },
      rtt_median: null,
      rtt_worst: null,
      loss_median: null,
      loss_worst: null,
      latency_median: null,
      codecs: {},
    });
  });

  it('viewers per codec and the median latency, from the viewers only', () => {
    const s = summarize(
      input(['v1', 'v2', 'v3', 'v4'], {
        v1: { codec: 'AV1', latency: 40 },
        v2: { codec: 'AV1', latency: 61 },
        v3: { codec: 'H264', latency: 95 },
        v4: { fps: 30 },
        b: { codec: 'VP8', latency: 1 },
      }),
    );
    expect(s.codecs).toEqual({ AV1: 2, H264: 1 });
    expect(s.latency_median).toBe(61);
  });

  it('an empty room without its broadcaster', () => {
    const s = summarize(input([], {}, null));
    expect(s.viewer_count).toBe(0);
    expect(s.broadcaster_present).toBe(false);
    expect(s.paths).toEqual({ p2p: 0, turn: 0, relay: 0, sfu: 0, unknown: 0 });
  });

  it('median and worst rtt and loss over the viewers', () => {
    const s = summarize(
      input(['v1', 'v2', 'v3', 'v4'], {
        v1: { rtt: 20, loss: 0 },
        v2: { rtt: 40, loss: 2 },
        v3: { rtt: 100, loss: 0.5 },
        v4: { rtt: 30 },
      }),
    );
    expect(s.rtt_median).toBe(35);
    expect(s.rtt_worst).toBe(100);
    expect(s.loss_median).toBe(0.5);
    expect(s.loss_worst).toBe(2);
  });

  it('medians are rounded to one decimal', () => {
    const s = summarize(input(['v1', 'v2'], { v1: { rtt: 10.123, loss: 0.11 }, v2: { rtt: 20.2, loss: 0.22 } }));
    expect(s.rtt_median).toBe(15.2);
    expect(s.loss_median).toBe(0.2);
    expect(s.rtt_worst).toBe(20.2);
  });

  it('counts paths by connection type; viewers without one are unknown', () => {
    const s = summarize(
      input(['v1', 'v2', 'v3', 'v4', 'v5', 'v6'], {
        v1: { connection_type: 'p2p' },
        v2: { connection_type: 'p2p' },
        v3: { connection_type: 'turn' },
        v4: { connection_type: 'relay' },
        v5: { bitrate: 100 },
        v7: { connection_type: 'sfu' },
      }),
    );
    expect(s.paths).toEqual({ p2p: 2, turn: 1, relay: 1, sfu: 0, unknown: 2 });
    expect(s.viewer_count).toBe(6);
    const withSfu = summarize(input(['v1', 'v2'], { v1: { connection_type: 'sfu' } }));
    expect(withSfu.paths).toEqual({ p2p: 0, turn: 0, relay: 0, sfu: 1, unknown: 1 });
  });

  it('the broadcaster does not count as a path or in rtt and loss', () => {
    const s = summarize(input(['v1'], { b: { rtt: 999, loss: 50, connection_type: 'turn', bitrate: 1000 }, v1: { rtt: 10 } }));
    expect(s.paths).toEqual({ p2p: 0, turn: 0, relay: 0, sfu: 0, unknown: 1 });
    expect(s.rtt_worst).toBe(10);
    expect(s.loss_worst).toBeNull();
  });

  it('stale reports are ignored; one exactly at the freshness limit still counts', () => {
    const s = summarize(
      input(['v1', 'v2', 'v3'], {
        v1: [{ rtt: 10, connection_type: 'p2p', bitrate: 500 }, REPORT_FRESH_MS],
        v2: [{ rtt: 500, loss: 30, connection_type: 'relay', bitrate: 9000 }, REPORT_FRESH_MS + 1],
        v3: [{ rtt: 20, connection_type: 'turn', bitrate: 700 }, 1_000],
        b: [{ bitrate: 5000 }, 60_000],
      }),
    );
    expect(s.rtt_median).toBe(15);
    expect(s.rtt_worst).toBe(20);
    expect(s.loss_worst).toBeNull();
    expect(s.paths).toEqual({ p2p: 1, turn: 1, relay: 0, sfu: 0, unknown: 1 });
    // The broadcaster's report is stale, so the viewers' median is used.
    expect(s.current_bitrate).toBe(600);
  });

  it('reports of clients no longer in the room are ignored', () => {
    const s = summarize(input(['v1'], { v1: { rtt: 10 }, gone: { rtt: 900, connection_type: 'p2p' } }));
    expect(s.rtt_worst).toBe(10);
    expect(s.paths.p2p).toBe(0);
  });

  it('current_bitrate is the broadcaster report when there is one', () => {
    const s = summarize(input(['v1', 'v2'], { b: { bitrate: 1499.6 }, v1: { bitrate: 800 }, v2: { bitrate: 900 } }));
    expect(s.current_bitrate).toBe(1500);
  });

  it("current_bitrate is the viewers' median when the broadcaster has not reported", () => {
    expect(summarize(input(['v1', 'v2', 'v3'], { v1: { bitrate: 800 }, v2: { bitrate: 1200 }, v3: { bitrate: 1000 } })).current_bitrate).toBe(1000);
    expect(summarize(input(['v1', 'v2'], { v1: { bitrate: 801 }, v2: { bitrate: 1200 } })).current_bitrate).toBe(1001);
    // A broadcaster report without a bitrate also falls back to the viewers.
    expect(summarize(input(['v1'], { b: { fps: 30 }, v1: { bitrate: 640 } })).current_bitrate).toBe(640);
    // With the broadcaster away, its old report does not count.
    expect(summarize(input(['v1'], { b: { bitrate: 3000 }, v1: { bitrate: 640 } }, null)).current_bitrate).toBe(640);
  });

  it('upload_bitrate is the reported total, else per-viewer bitrate times viewers', () => {
    expect(summarize(input(['v1', 'v2'], { b: { bitrate: 1000, upload_bitrate: 2100 } })).upload_bitrate).toBe(2100);
    expect(summarize(input(['v1', 'v2', 'v3'], { b: { bitrate: 1000 } })).upload_bitrate).toBe(3000);
    expect(summarize(input(['v1'], { v1: { bitrate: 1000 } })).upload_bitrate).toBe(0);
  });
});
