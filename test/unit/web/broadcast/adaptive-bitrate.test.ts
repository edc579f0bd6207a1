import { describe, expect, it } from 'vitest';
import { AdaptiveBitrate, DEFAULT_TUNING, levelsFor, type AbrDecision, type AbrSample } from '../../../../src/web/broadcast/adaptive-bitrate.js';

const CLEAN: Omit<AbrSample, 'at'> = { loss: 0, rtt: 20, availableBitrate: 3_000 };

/** Feed one sample a second from `from` (s) for `seconds`; returns every decision. */
function run(abr: AdaptiveBitrate, from: number, seconds: number, sample: Omit<AbrSample, 'at'>): AbrDecision[] {
  const out: AbrDecision[] = [];
  for (let i = 0; i < seconds; i++) out.push(abr.update({ at: (from + i) * 1000, ...sample }));
  return out;
}

const changes = (ds: AbrDecision[]) => ds.filter((d) => d.changed).map((d) => `${d.level.index}:${d.reason}`);

describe('levelsFor', () => {
  it("starts at the preset's own size and ceiling and goes down in resolution and bitrate together", () => {
    const l = levelsFor('720p');
    expect(l[0]).toMatchObject({ index: 0, height: 720, maxBitrate: 2_500_000, scaleResolutionDownBy: 1 });
    expect(l.at(-1)).toMatchObject({ height: 180, maxBitrate: 150_000, scaleResolutionDownBy: 4 });
    for (let i = 1; i < l.length; i++) {
      expect(l[i]!.maxBitrate).toBeLessThan(l[i - 1]!.maxBitrate);
      expect(l[i]!.height).toBeLessThanOrEqual(l[i - 1]!.height);
    }
    expect(levelsFor('480p')[0]).toMatchObject({ height: 480, maxBitrate: 1_000_000 });
    expect(levelsFor('480p').every((x) => x.maxBitrate <= 1_000_000)).toBe(true);
    expect(levelsFor('1080p')[0]).toMatchObject({ height: 1080, maxBitrate: 4_500_000 });
    expect(levelsFor('480p')[1]!.scaleResolutionDownBy).toBeCloseTo(480 / 360, 2);
  });

  it("caps each level's whole link a little above its video bitrate: 1.2 × maxBitrate + 64 kbit/s", () => {
    expect(levelsFor('720p').map((l) => l.linkBitrate)).toEqual([3_064_000, 1_984_000, 1_264_000, 784_000, 424_000, 244_000]);
    // An estimate at the cap leaves video (85 % of it) at least its level: the cap alone is never a shortage.
    for (const l of [...levelsFor('480p'), ...levelsFor('720p'), ...levelsFor('1080p')]) {
      expect(l.linkBitrate * DEFAULT_TUNING.headroom).toBeGreaterThan(l.maxBitrate);
    }
  });
});

describe('AdaptiveBitrate', () => {
  it('stays at the ceiling on a clean path and never goes above it', () => {
    const abr = new AdaptiveBitrate('720p');
    const ds = run(abr, 0, 120, { ...CLEAN, availableBitrate: 50_000 });
    expect(changes(ds)).toEqual([]);
    expect(abr.level.maxBitrate).toBe(2_500_000);
  });

  it('steps down one level per hold on sustained loss, and not on one lossy report', () => {
    const abr = new AdaptiveBitrate('720p');
    run(abr, 0, 10, CLEAN);
    // A single report with loss: noise, no change.
    expect(abr.update({ at: 10_000, ...CLEAN, loss: 12 }).changed).toBe(false);
    expect(abr.update({ at: 11_000, ...CLEAN }).changed).toBe(false);
    const ds = run(abr, 12, 6, { ...CLEAN, loss: 10 });
    // Two bad samples, then one step every downHoldMs (2 s).
    expect(changes(ds)).toEqual(['1:loss', '2:loss', '3:loss']);
    expect(ds.find((d) => d.changed)!.level.height).toBe(720);
    expect(abr.level.height).toBeLessThan(720);
  });

  it('goes down to the floor and stays there under heavy loss', () => {
    const abr = new AdaptiveBitrate('480p');
    run(abr, 0, 40, { ...CLEAN, loss: 30 });
    expect(abr.level.index).toBe(abr.level.count - 1);
  });

  it('steps down when RTT rises above the path baseline (queues filling)', () => {
    const abr = new AdaptiveBitrate('720p');
    run(abr, 0, 10, { ...CLEAN, rtt: 30 });
    // Two samples of a CPU hiccup are not enough; three in a row are.
    expect(changes(run(abr, 10, 2, { ...CLEAN, rtt: 400 }))).toEqual([]);
    expect(changes(run(abr, 12, 1, { ...CLEAN, rtt: 20 }))).toEqual([]);
    const ds = run(abr, 13, 3, { ...CLEAN, rtt: 400 });
    expect(changes(ds)).toEqual(['1:rtt']);
    // 100 ms more than the baseline is no reason.
    const abr2 = new AdaptiveBitrate('720p');
    run(abr2, 0, 10, { ...CLEAN, rtt: 30 });
    expect(changes(run(abr2, 10, 10, { ...CLEAN, rtt: 130 }))).toEqual([]);
  });

  it('jumps straight to the level the available bitrate fits', () => {
    const abr = new AdaptiveBitrate('720p');
    run(abr, 0, 10, CLEAN);
    const ds = run(abr, 10, 3, { ...CLEAN, availableBitrate: 450 });
    expect(changes(ds)).toHaveLength(1);
    // 450 × 0.85 = 382 kbit/s for video: the 300 kbit/s level.
    expect(abr.level.maxBitrate).toBe(300_000);
    expect(abr.level.height).toBe(240);
  });

  it('an estimate that climbs just above what a simple picture sends is no shortage', () => {
    const abr = new AdaptiveBitrate('720p');
    // The congestion controller ramps up about 8 % a second and the encoder uses all of it.
    const ds: AbrDecision[] = [];
    for (let s = 0; s < 30; s++) {
      const available = Math.min(600 * 1.08 ** s, 1_100);
      ds.push(abr.update({ at: s * 1000, loss: 0, rtt: 20, availableBitrate: available, sentBitrate: available * 0.9 }));
    }
    expect(changes(ds)).toEqual([]);
    // A picture that needs 700 kbit/s while the estimate is 1100: not limited either.
    expect(changes(run(abr, 30, 30, { loss: 0, rtt: 20, availableBitrate: 1_100, sentBitrate: 700 }))).toEqual([]);
  });

  it('an estimate that falls steps down to what fits, even when the squeezed encoder sends less than that', () => {
    const abr = new AdaptiveBitrate('720p');
    run(abr, 0, 10, { ...CLEAN, availableBitrate: 1_200, sentBitrate: 700 });
    // The path shrinks to 500: video is squeezed to what the estimate allows.
    const ds = run(abr, 10, 3, { loss: 0, rtt: 20, availableBitrate: 480, sentBitrate: 400 });
    expect(changes(ds)).toEqual(['4:bandwidth']);
    // With 'maintain-resolution' the encoder drops frames instead (measured: 120–340 kbit/s under a 500 cap).
    const dropping = new AdaptiveBitrate('720p');
    run(dropping, 0, 10, { ...CLEAN, availableBitrate: 1_400, sentBitrate: 650 });
    expect(changes(run(dropping, 10, 3, { loss: 0, rtt: 20, availableBitrate: 467, sentBitrate: 130 }))).toEqual(['4:bandwidth']);
  });

  it('an estimate below the level with some RTT noise, while GCC still climbs, is no reason', () => {
    const abr = new AdaptiveBitrate('720p');
    const ds: AbrDecision[] = [];
    for (let s = 0; s < 30; s++) {
      const available = Math.min(600 * 1.05 ** s, 1_300);
      // Video well under its share, RTT jumping by 100 ms every other second (a busy CPU).
      ds.push(abr.update({ at: s * 1000, loss: 0, rtt: s % 2 ? 120 : 10, availableBitrate: available, sentBitrate: available * 0.6 }));
    }
    expect(changes(ds)).toEqual([]);
  });

  it("an estimate held under a lower level's link cap after a step down is no shrinking path", () => {
    const abr = new AdaptiveBitrate('720p');
    run(abr, 0, 10, CLEAN);
    expect(changes(run(abr, 10, 3, { ...CLEAN, loss: 10 }))).toEqual(['1:loss']);
    // The loss stops; the estimate now sits at 80 % of level 1's link cap (1,984 kbit/s): far under
    // the 3,000 of a few seconds ago, but that was the cap coming down, not the path.
    expect(changes(run(abr, 13, 3, { loss: 0, rtt: 20, availableBitrate: 1_984 * 0.8, sentBitrate: 700 }))).toEqual([]);
  });

  it("an estimate at the level's link cap (the most it can show) counts as room for the next level", () => {
    const capped = new AdaptiveBitrate('720p');
    const unknown = new AdaptiveBitrate('720p');
    for (const abr of [capped, unknown]) {
      run(abr, 0, 10, CLEAN);
      run(abr, 10, 30, { ...CLEAN, loss: 20 });
    }
    const topAfter = (abr: AdaptiveBitrate, sample: () => Omit<AbrSample, 'at'>) => {
      for (let s = 0; s < 60; s++) if (abr.update({ at: (40 + s) * 1000, ...sample() }).level.index === 0) return s;
      return Number.NaN;
    };
    const cappedTop = topAfter(capped, () => ({ loss: 0, rtt: 20, availableBitrate: capped.level.linkBitrate / 1000 }));
    const unknownTop = topAfter(unknown, () => ({ loss: 0, rtt: 20 }));
    expect(cappedTop).toBeGreaterThan(0);
    expect(unknownTop).toBeGreaterThan(cappedTop * 1.6);
  });

  it('after a step down for the estimate, an estimate at the link cap is no room: the plain wait', () => {
    const abr = new AdaptiveBitrate('720p');
    run(abr, 0, 10, CLEAN);
    expect(changes(run(abr, 10, 3, { ...CLEAN, availableBitrate: 450 }))).toEqual(['4:bandwidth']);
    // A path limit just above the cap (a 500 kbit/s bucket): the estimate sits at level 4's link
    // cap, 424 kbit/s, on a clean path. Up after upHoldMs (4 s from the first clean sample, at 12 s), not half of it.
    const ds = run(abr, 13, 4, { loss: 0, rtt: 20, availableBitrate: 424, sentBitrate: 230 });
    expect(changes(ds)).toEqual(['3:recovered']);
    expect(ds.findIndex((d) => d.changed)).toBe(3);
  });

  it('ignores a low estimate in the first seconds (the congestion controller is still probing)', () => {
    const abr = new AdaptiveBitrate('720p');
    const ds = run(abr, 0, 4, { ...CLEAN, availableBitrate: 300 });
    expect(changes(ds)).toEqual([]);
    expect(changes(run(abr, 4, 8, CLEAN))).toEqual([]);
  });

  it('recovers one level at a time once the path is clean, back to the ceiling', () => {
    const abr = new AdaptiveBitrate('720p');
    run(abr, 0, 10, CLEAN);
    run(abr, 10, 30, { ...CLEAN, loss: 20 });
    expect(abr.level.index).toBe(abr.level.count - 1);
    // No estimate: the plain 4 s wait per step.
    const ds = run(abr, 40, 60, { loss: 0, rtt: 20 });
    const ups = ds.filter((d) => d.changed);
    expect(ups.every((d) => d.reason === 'recovered')).toBe(true);
    expect(ups.map((d) => d.level.index)).toEqual([4, 3, 2, 1, 0]);
    expect(abr.level.index).toBe(0);
    // The first step up waits upHoldMs of clean path.
    expect(ds.findIndex((d) => d.changed)).toBeGreaterThanOrEqual(3);
  });

  it('climbs twice as fast when the estimate already has room for the next level', () => {
    const slow = new AdaptiveBitrate('720p');
    const fast = new AdaptiveBitrate('720p');
    for (const abr of [slow, fast]) {
      run(abr, 0, 10, CLEAN);
      run(abr, 10, 30, { ...CLEAN, loss: 20 });
    }
    // No estimate at all, against one of 5 Mbit/s.
    const slowUps = run(slow, 40, 40, { loss: 0, rtt: 20 }).findIndex((d) => d.level.index === 0);
    const fastUps = run(fast, 40, 40, { ...CLEAN, availableBitrate: 5_000 }).findIndex((d) => d.level.index === 0);
    expect(fastUps).toBeGreaterThan(0);
    expect(slowUps).toBeGreaterThan(fastUps * 1.6);
  });

  it('does not oscillate: a link that only carries level 2 settles there, with ever longer waits before trying again', () => {
    const abr = new AdaptiveBitrate('720p');
    const levels = levelsFor('720p');
    // The path: fine for 1000 kbit/s, loses 15 % of packets above it.
    const pathLoss = () => (abr.level.maxBitrate > levels[2]!.maxBitrate ? 15 : 0);
    const history: number[] = [];
    const ups: number[] = [];
    for (let s = 0; s < 600; s++) {
      const d = abr.update({ at: s * 1000, loss: pathLoss(), rtt: 20, availableBitrate: 3_000 });
      if (d.changed && d.reason === 'recovered') ups.push(s);
      history.push(d.level.index);
    }
    // Over the last 5 minutes, nearly all the time at level 2, never lower, and only brief tries higher.
    const tail = history.slice(300);
    expect(tail.filter((i) => i === 2).length / tail.length).toBeGreaterThan(0.9);
    expect(tail.every((i) => i >= 1 && i <= 2)).toBe(true);
    // The waits between tries double (4, 8, 16 s…) up to upHoldMaxMs: in the tail, one try per ≥ 32 s.
    const tailUps = ups.filter((s) => s >= 300);
    for (let i = 1; i < tailUps.length; i++) expect(tailUps[i]! - tailUps[i - 1]!).toBeGreaterThanOrEqual(32);
    expect(tailUps.length).toBeLessThanOrEqual(10);
    expect(abr.upHoldMs).toBeGreaterThanOrEqual(16_000);
  });

  it('forgets failed steps up after holding a level trouble-free for a while', () => {
    const abr = new AdaptiveBitrate('720p');
    run(abr, 0, 10, CLEAN);
    // Two failed probes.
    run(abr, 10, 4, { ...CLEAN, loss: 20 });
    for (let t = 14; t < 60; t++) {
      const d = abr.update({ at: t * 1000, ...CLEAN, loss: abr.level.index === 0 ? 20 : 0 });
      void d;
    }
    expect(abr.upHoldMs).toBeGreaterThan(4_000);
    run(abr, 60, 100, CLEAN);
    expect(abr.level.index).toBe(0);
    expect(abr.upHoldMs).toBe(4_000);
  });

  it('a preset change resets the ceiling: the new preset starts at its own top level', () => {
    const abr = new AdaptiveBitrate('720p');
    run(abr, 0, 10, CLEAN);
    run(abr, 10, 20, { ...CLEAN, loss: 20 });
    expect(abr.level.index).toBeGreaterThan(2);
    const top = abr.setQuality('1080p');
    expect(top).toMatchObject({ index: 0, height: 1080, maxBitrate: 4_500_000, scaleResolutionDownBy: 1 });
    expect(abr.level).toEqual(top);
    // A clean path keeps it; a thin one brings it down again within two samples.
    expect(changes(run(abr, 30, 10, { ...CLEAN, availableBitrate: 6_000 }))).toEqual([]);
    // 1500 × 0.85 = 1275 kbit/s for video: 480p at 1 Mbit/s, four levels down at once.
    expect(changes(run(abr, 40, 2, { ...CLEAN, availableBitrate: 1_500 }))).toEqual(['4:bandwidth']);
    // Down to 480p: the ceiling is 1 Mbit/s now.
    abr.setQuality('480p');
    run(abr, 42, 30, { ...CLEAN, availableBitrate: 50_000 });
    expect(abr.level.maxBitrate).toBe(1_000_000);
  });

  it('a sample with no receiver report yet (no loss, no RTT) changes nothing', () => {
    const abr = new AdaptiveBitrate('720p');
    expect(changes(run(abr, 0, 30, {}))).toEqual([]);
  });
});
