// The socket-level fuzzer, bounded for `npm test`: 100,000 hostile frames
// (plus a flood) at a real server process while a real room keeps signalling.
// `npm run fuzz` runs the same campaign ten times longer.
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../fuzz/campaign.js';

describe('socket fuzzer', () => {
  it('100,000 hostile frames: no crash, every frame answered, the room untouched, memory back to baseline', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261130);
    const report = await runCampaign({ messages: 100_000, connections: 8, window: 100, floodPerConnection: 2_000, seed });
    console.log(
      `fuzz (seed ${seed}): ${report.sent} frames in ${report.durationMs} ms, kinds ${JSON.stringify(report.byKind)}; ` +
        `room: ${report.roomExchanges} offer/answer exchanges, slowest ${report.roomMaxLatencyMs} ms; ` +
        `heap ${(report.heapBeforeBytes / 2 ** 20).toFixed(1)} -> ${(report.heapAfterBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(report.serverExitCode).toBeNull();
    expect(report.sent).toBeGreaterThanOrEqual(100_000);
    expect(report.answered).toBe(report.sent);
    expect(report.roomFailures).toEqual([]);
    expect(report.roomExchanges).toBeGreaterThan(10);
    expect(report.connectionsAfter).toBe(2);
    expect(report.roomsAfter).toBe(1);
    expect(report.heapAfterBytes).toBeLessThan(report.heapBeforeBytes + 16 * 1024 * 1024);
  }, 120_000);
});
