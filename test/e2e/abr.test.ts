// Adaptive bitrate under real impairments: the broadcaster's and the viewer's
// Chromium each run in their own network namespace, a router namespace
// between them carries the impairment, and the LiveRoom server runs on a third
// network. (a) nftables drops 10 % of the media packets to the viewer; (b) tc
// tbf caps the viewer's downlink at 500 kbit/s. Each must make the broadcaster's
// bitrate to that viewer fall, the viewer must see the lowered level, the link
// must carry no more than each level allows, and both must come back once the
// impairment is gone. Times are printed, never asserted.
//
//   npm run build && npx vitest run --project e2e test/e2e/abr.test.ts      (as root)
//   ABR_RUNS=3 …                                                            (repeat each impairment, for medians)
//
//            pub 10.78.0.2 (LiveRoom :8080)
//                 │ 10.78.0.1
//   b 10.78.1.11 ─ r ─ v 10.78.2.11          (r: nft drop rule, tbf on its port to v)
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { median } from '../../src/protocol/stats-math.js';
import { goLive, instrumentPeerConnections, pcCount, videoState } from './app.js';
import { CHROMIUM, CHROMIUM_FLAGS, newPage } from './browser.js';
import { removeStaleTopologies, requireTopologyTools, Topology, waitForOutput } from './netns.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PUB = '10.78.0.2';
const BASE = `http://${PUB}:8080`;
const B_ADDR = '10.78.1.11';
const V_ADDR = '10.78.2.11';
const RUNS = Math.max(1, Number(process.env.ABR_RUNS ?? 1));
/**
 * What a link may carry at a level under impairment, less audio, as a multiple of the level's
 * maxBitrate. The product caps the link at 1.2 × maxBitrate + 64 kbit/s (src/web/broadcast/adaptive-bitrate.ts),
 * of which audio takes ~40–50 kbit/s with its headers: at most ~1.4× at the 150 kbit/s level.
 * Measured under 10 % loss, per level: at most 1.0× with the cap; 1.7–10× at 150 kbit/s without
 * it, RTX padding up to the congestion controller's estimate (docs/BENCHMARKS.md).
 */
const LINK_CAP_FACTOR = 1.5;

let topo: Topology;
const ns = { r: '', pub: '', b: '', v: '' };
const browsers = new Map<string, Browser>();
const contexts: BrowserContext[] = [];

function build(): void {
  topo = new Topology();
  for (const name of Object.keys(ns) as (keyof typeof ns)[]) ns[name] = topo.addHost(name);
  topo.exec(ns.r, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  topo.link(ns.r, 'pub0', '10.78.0.1/24', ns.pub, 'eth0', `${PUB}/24`);
  topo.link(ns.r, 'bp', '10.78.1.1/24', ns.b, 'eth0', `${B_ADDR}/24`);
  topo.link(ns.r, 'vp', '10.78.2.1/24', ns.v, 'eth0', `${V_ADDR}/24`);
  topo.exec(ns.pub, ['ip', 'route', 'add', 'default', 'via', '10.78.0.1']);
  topo.exec(ns.b, ['ip', 'route', 'add', 'default', 'via', '10.78.1.1']);
  topo.exec(ns.v, ['ip', 'route', 'add', 'default', 'via', '10.78.2.1']);
  topo.nft(ns.r, 'table inet lrabr { chain pass { type filter hook forward priority 0; policy accept; }; }');
  // This kernel has no netem: tbf must exist, or the rate-cap case cannot run. Say so now.
  try {
    topo.exec(ns.r, ['tc', 'qdisc', 'add', 'dev', 'pub0', 'root', 'tbf', 'rate', '100mbit', 'burst', '64kb', 'latency', '50ms']);
    topo.exec(ns.r, ['tc', 'qdisc', 'del', 'dev', 'pub0', 'root']);
  } catch (err) {
    throw new Error(`the ABR test needs tc with the tbf qdisc (apt-get install iproute2; kernel sch_tbf): ${(err as Error).message}`);
  }
}

async function startServer(): Promise<void> {
  const server = topo.spawn(ns.pub, [process.execPath, path.join(ROOT, 'dist/server/main.js')], {
    PATH: process.env.PATH,
    HOST: PUB,
    PORT: '8080',
    STATIC_DIR: path.join(ROOT, 'dist/web'),
  });
  await waitForOutput(server, /listening on port 8080/, 'LiveRoom server');
}

async function open(host: string): Promise<Page> {
  let browser = browsers.get(host);
  if (!browser) {
    browser = await chromium.launch({
      executablePath: topo.chromiumWrapper(host, CHROMIUM),
      args: [...CHROMIUM_FLAGS, `--unsafely-treat-insecure-origin-as-secure=${BASE}`],
      headless: true,
    });
    browsers.set(host, browser);
  }
  const { context, page } = await newPage(browser, BASE);
  await context.addInitScript(instrumentPeerConnections);
  contexts.push(context);
  return page;
}

interface LinkSample {
  /**
   * kbit/s of video sent to the viewer since the previous call: bytesSent less
   * retransmittedBytesSent. That is the encoder's output plus the congestion controller's RTX
   * padding (old packets sent again as padding count in bytesSent, not in retransmittedBytesSent:
   * measured, the viewer counts them as retransmissions received), which the level's link cap bounds.
   */
  kbps: number;
  /** The same with retransmissions. */
  totalKbps: number;
  /**
   * kbit/s of everything the link carried: the selected candidate pair's bytesSent (every SRTP and
   * SRTCP packet: video, its retransmissions, padding and FEC, audio, RTCP; UDP payloads, so no
   * IP/UDP headers and no ICE checks).
   */
  linkKbps: number;
  /** kbit/s of audio RTP (outbound-rtp bytesSent + headerBytesSent), part of linkKbps. */
  audioKbps: number;
  /** ms since the previous call. */
  ms: number;
  /** The video sender's maxBitrate now, kbit/s, and whether it was the same at the previous call (the whole sample at one level). */
  cap?: number;
  steady?: boolean;
  /** Key frames encoded and picture-loss requests received since the previous call. */
  keyFrames?: number;
  plis?: number;
  available?: number;
  limitation?: string;
  rtt?: number;
  loss?: number;
  width?: number;
  height?: number;
  fps?: number;
}

/** The broadcaster's one peer connection (one viewer): video sent since the last call, and the send-side figures. */
async function linkSample(broadcaster: Page): Promise<LinkSample> {
  return broadcaster.evaluate(async () => {
    interface Counters {
      at: number;
      bytes: number;
      resent: number;
      link: number;
      audio: number;
      keys: number;
      plis: number;
      cap?: number;
    }
    const w = window as unknown as { __pcs: RTCPeerConnection[]; __abrPrev?: Counters };
    const pc = w.__pcs.filter((p) => p.connectionState === 'connected').at(-1);
    if (!pc) return { kbps: 0, totalKbps: 0, linkKbps: 0, audioKbps: 0, ms: 0 };
    const out: Record<string, number | string | undefined> = {};
    const now: Counters = { at: performance.now(), bytes: 0, resent: 0, link: 0, audio: 0, keys: 0, plis: 0 };
    const maxBitrate = pc.getSenders().find((x) => x.track?.kind === 'video')?.getParameters().encodings[0]?.maxBitrate;
    if (maxBitrate !== undefined) now.cap = maxBitrate / 1000;
    const stats = new Map<string, Record<string, unknown>>();
    (await pc.getStats()).forEach((s: Record<string, unknown>) => stats.set(String(s.id), s));
    for (const s of stats.values()) {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        now.bytes += Number(s.bytesSent ?? 0);
        now.resent += Number(s.retransmittedBytesSent ?? 0);
        now.keys += Number(s.keyFramesEncoded ?? 0);
        now.plis += Number(s.pliCount ?? 0) + Number(s.firCount ?? 0);
        out.limitation = String(s.qualityLimitationReason ?? '');
        out.width = Number(s.frameWidth ?? 0);
        out.height = Number(s.frameHeight ?? 0);
        out.fps = Number(s.framesPerSecond ?? 0);
      }
      if (s.type === 'outbound-rtp' && s.kind === 'audio') now.audio += Number(s.bytesSent ?? 0) + Number(s.headerBytesSent ?? 0);
      if (s.type === 'remote-inbound-rtp' && s.kind === 'video') {
        out.loss = Math.round(Number(s.fractionLost ?? 0) * 1000) / 10;
        out.rtt = Math.round(Number(s.roundTripTime ?? 0) * 1000);
      }
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = stats.get(String(s.selectedCandidatePairId));
        now.link += Number(pair?.bytesSent ?? 0);
        if (pair?.availableOutgoingBitrate !== undefined) out.available = Math.round(Number(pair.availableOutgoingBitrate) / 1000);
      }
    }
    const prev = w.__abrPrev;
    w.__abrPrev = now;
    const ms = prev ? now.at - prev.at : 0;
    const rate = (bytes: (c: Counters) => number) => (prev && ms > 0 ? Math.max(0, Math.round(((bytes(now) - bytes(prev)) * 8) / ms)) : 0);
    return {
      kbps: rate((c) => c.bytes - c.resent),
      totalKbps: rate((c) => c.bytes),
      linkKbps: rate((c) => c.link),
      audioKbps: rate((c) => c.audio),
      ms,
      cap: now.cap,
      steady: prev !== undefined && now.cap !== undefined && prev.cap === now.cap,
      keyFrames: now.keys - (prev?.keys ?? now.keys),
      plis: now.plis - (prev?.plis ?? now.plis),
      ...out,
    } as LinkSample;
  });
}

interface ShownLevel {
  level: number;
  height: number;
  maxBitrate: number;
  reason: string;
  text: string;
}

/** What the viewer's page shows as its link's level. */
async function shownLevel(viewer: Page): Promise<ShownLevel | null> {
  const el = viewer.getByTestId('quality-level');
  const level = await el.getAttribute('data-level');
  if (level === null) return null;
  return {
    level: Number(level),
    height: Number(await el.getAttribute('data-height')),
    maxBitrate: Number(await el.getAttribute('data-max-bitrate')),
    reason: (await el.getAttribute('data-reason')) ?? '',
    text: (await el.textContent()) ?? '',
  };
}

interface Tick {
  t: number;
  link: LinkSample;
  shown: ShownLevel | null;
}

const fmt = (x: Tick) =>
  `${(x.t / 1000).toFixed(0)}s ${x.link.kbps}k (${x.link.totalKbps}k) link ${x.link.linkKbps}k (audio ${x.link.audioKbps}k) cap ${x.link.cap ?? '?'}k av${x.link.available ?? '?'} ${x.link.height ?? '?'}p${x.link.fps ?? '?'} ` +
  `L${x.shown?.level ?? '?'}(${x.shown?.reason ?? ''}) rtt${x.link.rtt ?? '?'} loss${x.link.loss ?? '?'} key${x.link.keyFrames ?? '?'} pli${x.link.plis ?? '?'}`;

/** Sample once a second until `done` holds or `timeoutMs` passes; returns the ticks and whether `done` held. */
async function watchUntil(
  broadcaster: Page,
  viewer: Page,
  timeoutMs: number,
  done: (x: Tick) => boolean,
  trace: string[],
): Promise<{ ticks: Tick[]; at: number | null }> {
  const start = Date.now();
  const ticks: Tick[] = [];
  while (Date.now() - start < timeoutMs) {
    await broadcaster.waitForTimeout(1_000);
    const x = { t: Date.now() - start, link: await linkSample(broadcaster), shown: await shownLevel(viewer) };
    ticks.push(x);
    trace.push(fmt(x));
    if (done(x)) return { ticks, at: x.t };
  }
  return { ticks, at: null };
}

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  topo.nft(ns.r, 'flush chain inet lrabr pass');
  try {
    topo.exec(ns.r, ['tc', 'qdisc', 'del', 'dev', 'vp', 'root']);
  } catch {
    // no qdisc left by the test
  }
});

beforeAll(async () => {
  requireTopologyTools();
  removeStaleTopologies();
  build();
  await startServer();
}, 60_000);

afterAll(async () => {
  await Promise.all([...browsers.values()].map((b) => b.close().catch(() => undefined)));
  browsers.clear();
  await topo?.destroy();
});

interface Impairment {
  name: string;
  on: () => void;
  off: () => void;
}

const LOSS: Impairment = {
  name: '10% loss',
  on: () => topo.nft(ns.r, `add rule inet lrabr pass ip saddr ${B_ADDR} ip daddr ${V_ADDR} meta l4proto udp numgen random mod 100 < 10 drop`),
  off: () => topo.nft(ns.r, 'flush chain inet lrabr pass'),
};

/** Remove a qdisc or flush rules that may already be gone. */
function quietly(f: () => void): void {
  try {
    f();
  } catch {
    // already off
  }
}

const CAP: Impairment = {
  name: '500 kbit/s cap',
  // A 500 kbit/s bottleneck with a 100 ms queue on the router's port to the viewer.
  on: () => topo.exec(ns.r, ['tc', 'qdisc', 'add', 'dev', 'vp', 'root', 'tbf', 'rate', '500kbit', 'burst', '16kb', 'latency', '100ms']),
  off: () => topo.exec(ns.r, ['tc', 'qdisc', 'del', 'dev', 'vp', 'root']),
};

interface LevelLink {
  /** The level's maxBitrate, kbit/s. */
  cap: number;
  /** Mean kbit/s on the link less audio RTP, and of audio RTP, over the samples wholly at this level. */
  kbps: number;
  audioKbps: number;
  ms: number;
}

function linkPerLevel(ticks: Tick[]): LevelLink[] {
  const levels = new Map<number, { ms: number; bits: number; audioBits: number }>();
  for (const { link } of ticks) {
    if (!link.steady || link.cap === undefined) continue;
    const l = levels.get(link.cap) ?? { ms: 0, bits: 0, audioBits: 0 };
    l.ms += link.ms;
    l.bits += (link.linkKbps - link.audioKbps) * link.ms;
    l.audioBits += link.audioKbps * link.ms;
    levels.set(link.cap, l);
  }
  return [...levels]
    .sort(([a], [b]) => b - a)
    .map(([cap, l]) => ({ cap, kbps: Math.round(l.bits / l.ms), audioKbps: Math.round(l.audioBits / l.ms), ms: l.ms }));
}

interface RunResult {
  baseline: number;
  firstStepMs: number;
  downMs: number;
  recoverMs: number;
  fullMs: number;
  topMs: number;
  lowest: number;
  links: LevelLink[];
}

/** One broadcast, one viewer: clean, impaired until adapted (and 10 s more), clean again until recovered. */
async function impairmentRun(imp: Impairment, run: number): Promise<RunResult> {
  const broadcaster = await open(ns.b);
  const code = await goLive(broadcaster, '720p');
  const viewer = await open(ns.v);
  await viewer.goto('/');
  await viewer.goto(`/#/watch/${code}`);
  // Frames flowing (the machine may be busy: no frame-rate demand here).
  await expect.poll(async () => (await videoState(viewer, 'remote-video')).frames, { timeout: 30_000 }).toBeGreaterThan(30);
  const trace: string[] = [];
  const label = `[abr] ${imp.name} run ${run}`;
  try {
    // Clean: the link runs at the preset's level (five samples in a row; a busy machine may make
    // it step down and back at first); the baseline is what the picture needs there.
    let atTop: Tick[] = [];
    const clean = await watchUntil(broadcaster, viewer, 60_000, (x) => (atTop = x.shown?.level === 0 ? [...atTop, x] : []).length >= 5, trace);
    expect(clean.at, `${label}: the viewer is told its level, the top one on a clean path\n${trace.join('\n')}`).not.toBeNull();
    expect((await shownLevel(viewer))?.height).toBe(720);
    const baseline = median(atTop.map((x) => x.link.kbps))!;
    expect(baseline, 'video flows on the clean path').toBeGreaterThan(300);

    trace.push('--- impairment on');
    imp.on();
    const down = await watchUntil(broadcaster, viewer, 40_000, (x) => x.link.kbps < baseline * 0.5 && (x.shown?.level ?? 0) > 0, trace);
    expect(down.at, `${label}: the bitrate to the viewer falls and the viewer sees a lower level\n${trace.join('\n')}`).not.toBeNull();
    const lowered = (await shownLevel(viewer))!;
    // The controller's first step down, as the viewer sees it.
    const firstStepMs = down.ticks.find((x) => (x.shown?.level ?? 0) > 0)?.t ?? down.at!;
    expect(['loss', 'rtt', 'bandwidth']).toContain(lowered.reason);
    expect(lowered.maxBitrate).toBeLessThan(2_500);
    // Stays down while the impairment lasts.
    const held = await watchUntil(broadcaster, viewer, 10_000, () => false, trace);
    const lowest = Math.min(...held.ticks.map((x) => x.shown?.maxBitrate ?? 2_500));
    // The encoder works at the lowered level: smaller pictures, and at least a quarter of the time
    // well under the baseline. (Not the median: the first seconds may still be at 360p, whose
    // picture needs about half the baseline.)
    expect(Math.max(...held.ticks.map((x) => x.link.height ?? 720))).toBeLessThan(720);
    const sorted = held.ticks.map((x) => x.link.kbps).sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 4)]!, `${label}\n${trace.join('\n')}`).toBeLessThan(baseline * 0.5);
    expect(held.ticks.every((x) => (x.shown?.level ?? 0) > 0), `${label}: no step back up under impairment\n${trace.join('\n')}`).toBe(true);
    // What the link carried at each level it went through under the impairment, over the seconds
    // spent wholly at that level: everything the transport sent less audio RTP, within
    // LINK_CAP_FACTOR × the level's maxBitrate.
    const links = linkPerLevel([...down.ticks, ...held.ticks]);
    const linkLine = links.map((l) => `${l.cap}k: ${l.kbps}k (${(l.kbps / l.cap).toFixed(2)}×, audio ${l.audioKbps}k, ${(l.ms / 1000).toFixed(0)} s)`).join(', ');
    trace.push(`--- link less audio per level: ${linkLine}`);
    expect(Math.min(...links.map((l) => l.cap)), `${label}: the link is measured at lowered levels\n${trace.join('\n')}`).toBeLessThan(2_500);
    for (const l of links) {
      expect(l.kbps, `${label}: the link at the ${l.cap} kbit/s level\n${trace.join('\n')}`).toBeLessThanOrEqual(l.cap * LINK_CAP_FACTOR);
    }

    trace.push('--- impairment off');
    imp.off();
    // Back means three samples in a row at 70 % of the baseline or more (a burst of retransmissions is not).
    let streak: number[] = [];
    const recovered = await watchUntil(broadcaster, viewer, 120_000, (x) => (streak = x.link.kbps >= baseline * 0.7 ? [...streak, x.t] : []).length >= 3, trace);
    expect(recovered.at, `${label}: the bitrate comes back\n${trace.join('\n')}`).not.toBeNull();
    // Back at the preset's resolution (level 0 or 1: 720p at 2.5 or 1.6 Mbit/s, the same picture for
    // this camera, which needs ~0.7 Mbit/s). Level 0 itself is waited for but not demanded: on a
    // machine shared with other suites, GCC's own estimate collapses now and then from CPU delay
    // (measured: 1,700 → 650 kbit/s on a clean path), and the controller follows it.
    const full = await watchUntil(broadcaster, viewer, 60_000, (x) => x.shown?.height === 720, trace);
    expect(full.at, `${label}: the viewer is back at 720p\n${trace.join('\n')}`).not.toBeNull();
    expect((await shownLevel(viewer))!.reason).toBe('recovered');
    const top = (await shownLevel(viewer))?.level === 0 ? full : await watchUntil(broadcaster, viewer, 30_000, (x) => x.shown?.level === 0, trace);
    // Recovered from the first sample of the streak.
    const result = {
      baseline,
      firstStepMs,
      downMs: down.at!,
      recoverMs: streak[0]!,
      fullMs: recovered.at! + full.at!,
      topMs: top.at === null ? Number.NaN : recovered.at! + full.at! + (top === full ? 0 : top.at),
      lowest,
      links,
    };
    console.log(
      `${label}: baseline ${baseline} kbit/s; first step down after ${(result.firstStepMs / 1000).toFixed(0)} s, bitrate under half after ${(result.downMs / 1000).toFixed(0)} s (lowest level ${lowest} kbit/s); ` +
        `bitrate back in ${(result.recoverMs / 1000).toFixed(0)} s, 720p level in ${(result.fullMs / 1000).toFixed(0)} s, top level in ${(result.topMs / 1000).toFixed(0)} s\n  ${trace.join('\n  ')}`,
    );
    return result;
  } catch (err) {
    console.log(`${label} failed; trace:\n  ${trace.join('\n  ')}`);
    throw err;
  } finally {
    quietly(imp.off);
  }
}

function report(name: string, results: RunResult[]): void {
  const m = (k: Exclude<keyof RunResult, 'links'>) => median(results.map((r) => r[k]).filter((v) => !Number.isNaN(v))) ?? Number.NaN;
  const caps = [...new Set(results.flatMap((r) => r.links.map((l) => l.cap)))].sort((a, b) => b - a);
  const perLevel = caps.map((cap) => {
    const at = results.flatMap((r) => r.links.filter((l) => l.cap === cap));
    return `${cap}k: ${median(at.map((l) => l.kbps))}k (${at.length} runs, max ${(Math.max(...at.map((l) => l.kbps)) / cap).toFixed(2)}×)`;
  });
  console.log(`[abr] ${name}, link less audio per level under impairment, median: ${perLevel.join(', ')}`);
  console.log(
    `[abr] ${name}, median of ${results.length}: first step down ${(m('firstStepMs') / 1000).toFixed(1)} s, under half ${(m('downMs') / 1000).toFixed(1)} s, bitrate back ${(m('recoverMs') / 1000).toFixed(1)} s, ` +
      `720p level ${(m('fullMs') / 1000).toFixed(1)} s, top level ${(m('topMs') / 1000).toFixed(1)} s ` +
      `(reached in ${results.filter((r) => !Number.isNaN(r.topMs)).length}; baseline ${m('baseline')} kbit/s)`,
  );
}

async function repeat(imp: Impairment): Promise<void> {
  const results: RunResult[] = [];
  for (let i = 1; i <= RUNS; i++) {
    results.push(await impairmentRun(imp, i));
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  }
  report(imp.name, results);
}

describe('adaptive bitrate on real impaired paths', () => {
  it('a 720p broadcast on a clean path reaches 1280×720 at the viewer quickly, at full frame rate', async () => {
    const broadcaster = await open(ns.b);
    const code = await goLive(broadcaster, '720p');
    const viewer = await open(ns.v);
    await viewer.goto('/');
    const start = Date.now();
    await viewer.goto(`/#/watch/${code}`);
    await expect.poll(async () => (await videoState(viewer, 'remote-video')).frames, { timeout: 30_000, interval: 50 }).toBeGreaterThan(0);
    const firstFrame = Date.now() - start;
    const first = await videoState(viewer, 'remote-video');
    await expect.poll(async () => (await videoState(viewer, 'remote-video')).height, { timeout: 20_000, interval: 50 }).toBe(720);
    const full = Date.now() - start;
    expect((await videoState(viewer, 'remote-video')).width).toBe(1280);
    // And it stays there, at the camera's frame rate.
    await viewer.waitForTimeout(5_000);
    const fps = await viewer.evaluate(async () => {
      const pc = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.at(-1)!;
      let fps = 0;
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') fps = Number(s.framesPerSecond ?? 0);
      });
      return fps;
    });
    expect((await videoState(viewer, 'remote-video')).height).toBe(720);
    // The camera gives 30; other test suites share this machine's two cores, so only "not a slide show".
    expect(fps).toBeGreaterThan(10);
    console.log(`[abr] clean 720p: first frame ${firstFrame} ms (${first.width}×${first.height}), 1280×720 at ${full} ms after opening the watch link; ${fps} fps 5 s later`);
  });

  it('a preset switch while live resets the ceiling: the viewer is told the new top level and gets its size, same connection', async () => {
    const broadcaster = await open(ns.b);
    const code = await goLive(broadcaster, '480p');
    const viewer = await open(ns.v);
    await viewer.goto('/');
    await viewer.goto(`/#/watch/${code}`);
    await expect.poll(async () => (await shownLevel(viewer))?.height, { timeout: 30_000 }).toBe(480);
    expect(await shownLevel(viewer)).toMatchObject({ level: 0, maxBitrate: 1_000 });
    const connections = await pcCount(viewer);
    const start = Date.now();
    await broadcaster.getByTestId('quality-select').selectOption('1080p');
    await expect
      .poll(() => viewer.getByTestId('quality-level').textContent(), { timeout: 15_000, interval: 100 })
      .toMatch(/1080p, up to 4500 kbit\/s \(level (\d+) of \1\) · quality preset changed/);
    await expect.poll(async () => (await videoState(viewer, 'remote-video')).height, { timeout: 30_000, interval: 100 }).toBe(1080);
    const at1080 = Date.now() - start;
    expect(await pcCount(viewer)).toBe(connections);
    await expect.poll(() => broadcaster.getByTestId('viewer-level').textContent(), { timeout: 5_000 }).toContain('1080p');
    console.log(`[abr] preset 480p → 1080p while live: the viewer shows 1920×1080 ${at1080} ms after the switch`);
  });

  it('10 % packet loss towards the viewer: the bitrate to it falls within seconds and recovers once the loss stops', { timeout: 300_000 * RUNS }, async () => {
    await repeat(LOSS);
  });

  it('a 500 kbit/s cap on the viewer downlink (tbf): the bitrate falls under the cap and recovers once it is lifted', { timeout: 300_000 * RUNS }, async () => {
    await repeat(CAP);
  });
});
