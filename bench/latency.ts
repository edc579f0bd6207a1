// Glass-to-glass latency and join-to-first-frame, measured through the real
// app in Chromium, against a raw RTCPeerConnection pair in the same run.
//
//   npm run bench:latency            (builds first; ~2 minutes)
//   LATENCY_BUILDS=before=/tmp/base,after=. LATENCY_ROUNDS=2 npx tsx bench/latency.ts
//       A/B: runs every build in turn, round after round (A B A B), in one
//       browser, so both see the same machine load. A build is a checkout
//       (its own server, run from its src/, serving its dist/web) or a built
//       web directory (served by this checkout's server). `name=dir|query` adds
//       `query` to the watch page's URL (e.g. `jbnone=dist/web|jb=none`).
//
// The broadcaster's camera is replaced by a 1280×720 canvas that paints the
// current time as 32 black/white blocks; the viewer reads the blocks back from
// each frame it shows (requestVideoFrameCallback, or the relay canvas' frame
// counter) and subtracts. Both pages run in one browser, so they share one
// clock. Paths: our P2P, our TURN path (`?via=turn`, through a coturn on
// loopback that the bench starts), our server relay (`?via=relay`), a raw pair
// with no app (same codec as our P2P path), and the floor of the measurement
// itself (canvas → local <video>). LATENCY_PATHS picks the app's paths.
// Writes docs/latency.svg.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { median } from '../src/protocol/stats-math.js';
import { launchChromium, newPage } from '../test/e2e/browser.js';
import { startLoopbackTurn } from '../test/helpers/coturn.js';
import type { TurnConfig } from '../src/server/config.js';
import { selectedPair, wireCodec } from '../test/helpers/page-stats.js';
import { startServer } from '../test/helpers/server.js';
import { installClockCamera, installClockReader, installJoinProbe } from './latency-probes.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SAMPLE_SECONDS = Number(process.env.LATENCY_SECONDS ?? 10);
const JOINS = Number(process.env.LATENCY_JOINS ?? 5);
const ROUNDS = Number(process.env.LATENCY_ROUNDS ?? 1);
/**
 * The raw pair gets the app's sender settings on a clean path (2.5 Mbit/s, maintain-resolution),
 * so both carry 720p from the first frame; LATENCY_RAW=browser leaves the browser's, which here
 * sends 360p for the whole window (a smaller picture is quicker to encode and decode).
 */
const RAW_LIKE_APP = process.env.LATENCY_RAW !== 'browser';
type AppPath = 'p2p' | 'turn' | 'relay';
/** Which of the app's paths to run (e.g. `relay` alone, for many short A/B rounds); the floor and the raw pair always run. */
const PATHS = (process.env.LATENCY_PATHS ?? 'p2p,turn,relay').split(',') as AppPath[];
/** The watch-link option that puts a viewer on each path. */
const VIA: Record<AppPath, string> = { p2p: '', turn: 'via=turn', relay: 'via=relay' };
const BUILDS = (process.env.LATENCY_BUILDS ?? 'current=.').split(',').map((spec) => {
  const at = spec.indexOf('=');
  const [name, rest] = [spec.slice(0, at), spec.slice(at + 1)];
  const [dir, query] = rest.split('|') as [string, string | undefined];
  const resolved = path.resolve(ROOT, dir);
  const checkout = existsSync(path.join(resolved, 'src/server/main.ts'));
  return { name, dir: resolved, checkout, query: query ?? '' };
});
type Build = (typeof BUILDS)[number];

/** tsx compiles with keepNames, which wraps named functions in __name(); page functions need it defined. */
const NAME_SHIM = 'globalThis.__name = (f) => f;';


interface Result {
  path: string;
  samples: number[];
  /** The height of each frame read, in the same order. */
  heights: number[];
}

/** One run of every path against one build: glass-to-glass samples, joins, and each join's steps. */
interface Run {
  results: Result[];
  joins: Record<AppPath | 'raw', number[]>;
  /** Per path, per join: ms from the click on Enter to each step. */
  steps: Record<AppPath, Record<string, number>[]>;
  /** The P2P viewer's video receiver over its sample window (getStats inbound-rtp). */
  receiver: ReceiverStats[];
}

interface ReceiverStats {
  freezes: number;
  framesDropped: number;
  /** Mean time a frame spent in the jitter buffer, ms. */
  jitterBufferMs: number;
  jitterBufferTarget: number | null;
}

/** Counters of the page's live video receivers, summed. */
async function receiverCounters(page: Page): Promise<{ freezes: number; dropped: number; jbDelay: number; jbCount: number; target: number | null }> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter((pc) => pc.connectionState === 'connected');
    const out = { freezes: 0, dropped: 0, jbDelay: 0, jbCount: 0, target: null as number | null };
    for (const pc of pcs) {
      for (const r of pc.getReceivers()) if (r.track.kind === 'video') out.target = r.jitterBufferTarget;
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
        out.freezes += Number(s.freezeCount ?? 0);
        out.dropped += Number(s.framesDropped ?? 0);
        out.jbDelay += Number(s.jitterBufferDelay ?? 0);
        out.jbCount += Number(s.jitterBufferEmittedCount ?? 0);
      });
    }
    return out;
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

async function collect(page: Page, testid: string | null, seconds: number): Promise<Pick<Result, 'samples' | 'heights'>> {
  await page.evaluate((id) => {
    const w = window as unknown as { __lat: number[]; __heights: number[]; __readScreen: (selector: string) => void };
    if (id) w.__readScreen(`[data-testid=${id}]`);
    w.__lat = [];
    w.__heights = [];
  }, testid);
  await page.waitForTimeout(seconds * 1000);
  return page.evaluate(() => {
    const w = window as unknown as { __lat: number[]; __heights: number[] };
    return { samples: w.__lat, heights: w.__heights };
  });
}

/** The viewer page shares the broadcaster's clock base: both read it from the broadcaster. */
async function viewerPage(browser: Browser, base: string, clockBase: number, path: AppPath = 'p2p'): Promise<Page> {
  const { context, page } = await newPage(browser, base);
  await context.addInitScript(NAME_SHIM);
  // Builds from before ?via=turn existed take the same path: every connection of the page gathers relay candidates only.
  if (path === 'turn') await context.addInitScript(forceTurnOnly);
  await context.addInitScript(installClockReader);
  await context.addInitScript(installJoinProbe);
  await context.addInitScript(`window.__clockBase = ${clockBase};`);
  return page;
}

/** Page script: every RTCPeerConnection of the page uses TURN only (iceTransportPolicy 'relay'). */
function forceTurnOnly(): void {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super({ ...config, iceTransportPolicy: 'relay' });
    }
    override setConfiguration(config?: RTCConfiguration): void {
      super.setConfiguration({ ...config, iceTransportPolicy: 'relay' });
    }
  } as typeof RTCPeerConnection;
}

const emptyRun = (): Run => ({ results: [], joins: { p2p: [], turn: [], relay: [], raw: [] }, steps: { p2p: [], turn: [], relay: [] }, receiver: [] });

const marks = (page: Page) => page.evaluate(() => (window as unknown as { __marks: Record<string, number> }).__marks);

interface BenchServer {
  httpUrl: string;
  close(): Promise<void>;
}

/**
 * A build's server: a checkout runs its own (the server changed too, and a
 * fair "before" is the whole old product); a web directory gets this one's.
 */
async function startBuildServer(build: Build, turn: TurnConfig | null): Promise<BenchServer> {
  if (!build.checkout) return startServer({ staticDir: build.dir, ...(turn ? { turn } : {}) });
  const web = path.join(build.dir, 'dist/web');
  if (!existsSync(path.join(web, 'index.html'))) throw new Error(`build ${build.name}: ${web} is not built (npx vite build in ${build.dir})`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: build.dir,
    env: {
      ...process.env,
      PORT: '0',
      UDP_PORT: '0',
      HOST: '127.0.0.1',
      STATIC_DIR: web,
      STUN_URLS: '',
      ...(turn ? { TURN_URLS: turn.urls.join(','), TURN_SECRET: turn.secret ?? '' } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out: string | null = '';
    const onData = (d: Buffer) => {
      if (out === null) return; // found; the pipe is still drained so the server never blocks on it
      out += d.toString();
      const m = /listening on port (\d+)/.exec(out);
      if (m) {
        out = null;
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`build ${build.name}: its server exited with ${code}:\n${out}`)));
  });
  return {
    httpUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function run(browser: Browser, server: BenchServer, build: Build): Promise<Run> {
  const out = emptyRun();
  const { context: bctx, page: broadcaster } = await newPage(browser, server.httpUrl);
  try {
    await bctx.addInitScript(NAME_SHIM);
    await bctx.addInitScript(installClockCamera);
    await bctx.addInitScript(installClockReader);
    await bctx.addInitScript(installJoinProbe);
    await broadcaster.goto('/#/broadcast');
    await broadcaster.getByTestId('quality-select').selectOption('720p');
    await broadcaster.getByTestId('go-live').click();
    await broadcaster.waitForFunction(() => /^\d{6}$/.test(document.querySelector('[data-testid=room-code]')?.textContent ?? ''));
    const code = (await broadcaster.getByTestId('room-code').textContent())!.trim();
    const clockBase = await broadcaster.evaluate(() => (window as unknown as { __clockBase: number }).__clockBase);

    // Floor: canvas → the broadcaster's own preview.
    out.results.push({ path: 'floor (canvas → local video)', ...(await collect(broadcaster, 'local-video', SAMPLE_SECONDS / 2)) });

    let p2pCodec: string | null = null; // the raw pair uses it
    for (const name of PATHS) {
      const query = [VIA[name], build.query].filter(Boolean).join('&');
      const url = `/#/watch${query ? `?${query}` : ''}`;
      const viewer = await viewerPage(browser, server.httpUrl, clockBase, name);
      await viewer.goto(url);
      for (let i = 0; i < JOINS; i++) {
        // Join-to-first-frame: click Enter on the watch page, wait for the first shown frame.
        await viewer.goto(url);
        await viewer.reload();
        await viewer.getByTestId('room-input').fill(code);
        await broadcaster.evaluate(() => ((window as unknown as { __marks: object }).__marks = {}));
        await viewer.evaluate(() => {
          const w = window as unknown as { __readScreen: (s: string) => void; __mark: (name: string) => void };
          document.querySelector('[data-testid=join]')!.addEventListener('click', () => w.__mark('click'), { once: true });
          w.__readScreen('[data-testid=remote-video]');
        });
        await viewer.getByTestId('join').click();
        await viewer.waitForFunction(() => (window as unknown as { __firstFrameAt: number | null }).__firstFrameAt !== null, null, { timeout: 30_000 });
        const v = await marks(viewer);
        const b = await marks(broadcaster);
        const shown = await viewer.evaluate(() => performance.timeOrigin + (window as unknown as { __firstFrameAt: number }).__firstFrameAt);
        const click = v.click!;
        const step: Record<string, number> = {};
        for (const [k, at] of Object.entries(v)) if (k !== 'click') step[`viewer: ${k}`] = at - click;
        for (const [k, at] of Object.entries(b)) step[`broadcaster: ${k}`] = at - click;
        step['viewer: first frame shown'] = shown - click;
        out.steps[name].push(step);
        out.joins[name].push(shown - click);
      }
      await viewer.waitForTimeout(3_000); // past the ramp-up
      if (name === 'turn') {
        // The figures are TURN's only if the pair is a relay one.
        const type = (await selectedPair(viewer))?.local.type;
        if (type !== 'relay') throw new Error(`build ${build.name}: the ?via=turn viewer connected over a ${type} candidate, not TURN`);
      }
      const before = await receiverCounters(viewer);
      out.results.push({ path: `LiveRoom ${name}`, ...(await collect(viewer, null, SAMPLE_SECONDS)) });
      if (name === 'p2p') {
        const after = await receiverCounters(viewer);
        out.receiver.push({
          freezes: after.freezes - before.freezes,
          framesDropped: after.dropped - before.dropped,
          jitterBufferMs: (1000 * (after.jbDelay - before.jbDelay)) / Math.max(1, after.jbCount - before.jbCount),
          jitterBufferTarget: after.target,
        });
      }
      if (name === 'p2p') p2pCodec = await wireCodec(viewer, 'inbound'); // from getStats: builds differ in what their panel shows
      await viewer.context().close();
    }

    // Raw pair: the same canvas through two RTCPeerConnections and no app, a sender page and a
    // receiver page in windows of their own like the app's broadcaster and viewer (a pair in one
    // page reads its frames on the event loop that paints them, which the app's viewer never
    // does), signalled through this process: no server.
    const receiver = await viewerPage(browser, server.httpUrl, clockBase);
    const sender = await viewerPage(browser, server.httpUrl, clockBase);
    await sender.addInitScript(installClockCamera);
    type RawIn = (data: unknown) => void;
    await sender.exposeFunction('__toPeer', (data: unknown) => receiver.evaluate((d) => (window as unknown as { __rawIn: RawIn }).__rawIn(d), data));
    await receiver.exposeFunction('__toPeer', (data: unknown) => sender.evaluate((d) => (window as unknown as { __rawIn: RawIn }).__rawIn(d), data));
    await receiver.goto('/#/');
    await sender.goto('/#/');
    // The receiver decodes the time from the sender's canvas, so it needs that canvas' clock base.
    const rawBase = await sender.evaluate(() => (window as unknown as { __clockBase: number }).__clockBase);
    await receiver.evaluate((b) => ((window as unknown as { __clockBase: number }).__clockBase = b), rawBase);
    // The raw pair uses the codec our P2P path negotiated, so the comparison is like for like.
    const codec = p2pCodec;
    for (let i = 0; i < JOINS + 1; i++) {
      await receiver.evaluate(() => {
        const w = window as unknown as { __readScreen: (s: string) => void; __firstFrameAt: number | null; __rawPc?: RTCPeerConnection; __toPeer: (d: unknown) => void; __rawIn: (d: { candidate?: RTCIceCandidateInit; offer?: RTCSessionDescriptionInit; answer?: RTCSessionDescriptionInit }) => void };
        w.__rawPc?.close();
        document.querySelector('#raw-video')?.remove();
        const video = Object.assign(document.createElement('video'), { id: 'raw-video', muted: true, autoplay: true, playsInline: true });
        document.body.append(video);
        const pc = (w.__rawPc = new RTCPeerConnection());
        const early: RTCIceCandidateInit[] = [];
        pc.onicecandidate = (e) => e.candidate && w.__toPeer({ candidate: e.candidate.toJSON() });
        pc.ontrack = (e) => (video.srcObject = e.streams[0] ?? new MediaStream([e.track]));
        w.__rawIn = async (data) => {
          if (w.__rawPc !== pc) return;
          if (data.candidate) return pc.remoteDescription ? pc.addIceCandidate(data.candidate) : early.push(data.candidate);
          await pc.setRemoteDescription(data.offer!);
          for (const c of early.splice(0)) await pc.addIceCandidate(c);
          await pc.setLocalDescription(await pc.createAnswer());
          w.__toPeer({ answer: pc.localDescription!.toJSON() });
        };
        w.__firstFrameAt = null;
        w.__readScreen('#raw-video');
      });
      const startedAt = await sender.evaluate(async ([wanted, likeApp]) => {
        const w = window as unknown as { __clockStream: () => MediaStream; __rawPc?: RTCPeerConnection; __rawTrack?: MediaStreamTrack; __toPeer: (d: unknown) => void; __rawIn: (d: { candidate?: RTCIceCandidateInit; offer?: RTCSessionDescriptionInit; answer?: RTCSessionDescriptionInit }) => void };
        w.__rawPc?.close();
        // Each join captures the canvas anew; a capture left running would tax every later join.
        w.__rawTrack?.stop();
        w.__rawTrack = w.__clockStream().getVideoTracks()[0]!;
        const pc = (w.__rawPc = new RTCPeerConnection());
        const early: RTCIceCandidateInit[] = [];
        pc.onicecandidate = (e) => e.candidate && w.__toPeer({ candidate: e.candidate.toJSON() });
        const t = pc.addTransceiver(w.__rawTrack, { direction: 'sendonly', streams: [new MediaStream()] });
        const caps = RTCRtpSender.getCapabilities('video')!.codecs;
        if (wanted) t.setCodecPreferences([...caps.filter((c) => c.mimeType.toLowerCase() === `video/${wanted.toLowerCase()}`), ...caps.filter((c) => c.mimeType.toLowerCase() !== `video/${wanted.toLowerCase()}`)]);
        const answered = new Promise<void>((resolve) => {
          w.__rawIn = async (data) => {
            if (w.__rawPc !== pc) return;
            if (data.candidate) return pc.remoteDescription ? pc.addIceCandidate(data.candidate) : early.push(data.candidate);
            await pc.setRemoteDescription(data.answer!);
            for (const c of early.splice(0)) await pc.addIceCandidate(c);
            resolve();
          };
        });
        const start = performance.timeOrigin + performance.now();
        await pc.setLocalDescription(await pc.createOffer());
        w.__toPeer({ offer: pc.localDescription!.toJSON() });
        await answered;
        if (likeApp) {
          // What the app's sender does on a clean path (src/web/broadcast/adaptive-bitrate.ts, top level of 720p).
          const params = t.sender.getParameters();
          params.encodings.forEach((e) => (e.maxBitrate = 2_500_000));
          (params as RTCRtpSendParameters & { degradationPreference?: string }).degradationPreference = 'maintain-resolution';
          await t.sender.setParameters(params);
        }
        return start;
      }, [codec ?? null, RAW_LIKE_APP] as const);
      await receiver.waitForFunction(() => (window as unknown as { __firstFrameAt: number | null }).__firstFrameAt !== null, null, { timeout: 30_000 });
      const shownAt = await receiver.evaluate(() => performance.timeOrigin + (window as unknown as { __firstFrameAt: number }).__firstFrameAt);
      if (i > 0) out.joins.raw.push(shownAt - startedAt); // the first includes one-off codec start-up
    }
    await receiver.waitForTimeout(3_000);
    out.results.push({ path: `raw RTCPeerConnection pair (${codec ?? 'default codec'}${RAW_LIKE_APP ? '' : ', browser defaults'})`, ...(await collect(receiver, null, SAMPLE_SECONDS)) });
    await receiver.context().close();
    await sender.context().close();
  } finally {
    await bctx.close();
  }
  return out;
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

async function main(): Promise<void> {
  // Before the browser: if coturn cannot start, nothing is left running.
  const turn = PATHS.includes('turn') ? await startLoopbackTurn() : null;
  const browser = await launchChromium();
  const browserVersion = browser.version();
  const runs = new Map<string, Run[]>(BUILDS.map((b) => [b.name, []]));
  const servers = new Map<string, BenchServer>();
  try {
    for (const build of BUILDS) servers.set(build.name, await startBuildServer(build, turn?.turn ?? null));
    for (let round = 0; round < ROUNDS; round++) {
      for (const build of BUILDS) {
        console.log(`round ${round + 1}/${ROUNDS}, build ${build.name}: load average ${loadAverage()}`);
        const r = await run(browser, servers.get(build.name)!, build);
        runs.get(build.name)!.push(r);
        console.log(`  p50 ${r.results.map((x) => `${x.path.split(' (')[0]} ${pct(x.samples, 50).toFixed(0)}`).join(', ')}; joins ${PATHS.map((p) => `${p} ${median(r.joins[p])?.toFixed(0)}`).join(', ')}`);
      }
    }
  } finally {
    await browser.close();
    for (const s of servers.values()) await s.close();
    await turn?.stop();
  }

  for (const build of BUILDS) report(build.name, runs.get(build.name)!, browserVersion);
  const last = runs.get(BUILDS[BUILDS.length - 1]!.name)!;
  writeFileSync(path.join(ROOT, 'docs/latency.svg'), plot(merge(last).results));
  console.log(`wrote docs/latency.svg (build ${BUILDS[BUILDS.length - 1]!.name})`);
}

/** All rounds of one build as one run: samples and joins pooled. */
function merge(runs: Run[]): Run {
  const out = emptyRun();
  for (const r of runs) {
    out.receiver.push(...r.receiver);
    for (const res of r.results) {
      const into = out.results.find((x) => x.path === res.path);
      if (into) {
        into.samples.push(...res.samples);
        into.heights.push(...res.heights);
      } else out.results.push({ path: res.path, samples: [...res.samples], heights: [...res.heights] });
    }
    for (const k of [...PATHS, 'raw'] as const) out.joins[k].push(...r.joins[k]);
    for (const k of PATHS) out.steps[k].push(...r.steps[k]);
  }
  return out;
}

function report(name: string, runs: Run[], browserVersion: string): void {
  const all = merge(runs);
  const rawRow = all.results.find((r) => r.path.startsWith('raw'))!;
  const rawP50 = pct(rawRow.samples, 50);
  console.log(`\n## build ${name}: glass-to-glass, 720p30, Chromium ${browserVersion} headless, loopback (${runs.length} round(s) × ${SAMPLE_SECONDS} s per path)`);
  console.log('| path | frames | picture (median height) | p50 ms | p95 ms | p50 vs raw | p50 per round |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of all.results) {
    const p50 = pct(r.samples, 50);
    const perRound = runs.map((run) => pct(run.results.find((x) => x.path === r.path)?.samples ?? [], 50).toFixed(0)).join(', ');
    console.log(`| ${r.path} | ${r.samples.length} | ${median(r.heights)?.toFixed(0) ?? '—'}p | ${p50.toFixed(0)} | ${pct(r.samples, 95).toFixed(0)} | ${(p50 / rawP50).toFixed(2)}× | ${perRound} |`);
  }
  console.log(
    `\nP2P receiver per round: ${all.receiver.map((r) => `freezes ${r.freezes}, frames dropped ${r.framesDropped}, jitter buffer ${r.jitterBufferMs.toFixed(1)} ms (target ${r.jitterBufferTarget})`).join('; ')}`,
  );
  console.log(`\nJoin to first frame, median of ${JOINS * runs.length} (ms): ${PATHS.map((p) => `LiveRoom ${p} ${median(all.joins[p])?.toFixed(0)}`).join(', ')}; raw pair from its first offer ${median(all.joins.raw)?.toFixed(0)}`);
  console.log(`  all: ${JSON.stringify(Object.fromEntries(Object.entries(all.joins).map(([k, v]) => [k, v.map((x) => Math.round(x))])))}`);
  for (const k of PATHS) {
    const names = [...new Set(all.steps[k].flatMap((s) => Object.keys(s)))];
    const rows = names
      .map((n) => ({ n, ms: median(all.steps[k].map((s) => s[n]).filter((x): x is number => x !== undefined)) ?? Number.NaN }))
      .filter((r) => r.ms > -1_000)
      .sort((a, b) => a.ms - b.ms);
    console.log(`\nJoin steps, ${k}: median ms after the click on Enter (${all.steps[k].length} joins)`);
    console.log('| step | ms |\n| --- | --- |');
    for (const r of rows) console.log(`| ${r.n} | ${r.ms.toFixed(0)} |`);
    // A join three times the median is a failure to explain, not noise: show its steps.
    const typical = median(all.joins[k]) ?? 0;
    all.steps[k].forEach((s, i) => {
      if (all.joins[k][i]! <= 3 * typical) return;
      const seq = Object.entries(s).filter(([, ms]) => ms > -1_000).sort((a, b) => a[1] - b[1]);
      console.log(`  outlier, join ${i + 1} (${Math.round(all.joins[k][i]!)} ms): ${seq.map(([n, ms]) => `${n} ${Math.round(ms)}`).join('; ')}`);
    });
  }
}

/** Box plots of each path's distribution (p5, p25, p50, p75, p95). */
function plot(results: Result[]): string {
  const W = 760;
  const rowH = 46;
  const left = 260;
  const max = Math.max(50, ...results.map((r) => pct(r.samples, 95))) * 1.1;
  const x = (ms: number) => left + ((W - left - 20) * ms) / max;
  const rows = results.map((r, i) => {
    const y = 30 + i * rowH;
    const [p5, p25, p50, p75, p95] = [5, 25, 50, 75, 95].map((p) => pct(r.samples, p)) as [number, number, number, number, number];
    return `<text x="10" y="${y + 18}" font-size="13">${r.path}</text>
<line x1="${x(p5)}" x2="${x(p95)}" y1="${y + 14}" y2="${y + 14}" stroke="#555"/>
<rect x="${x(p25)}" y="${y + 4}" width="${Math.max(1, x(p75) - x(p25))}" height="20" fill="#e4405f" fill-opacity="0.5" stroke="#e4405f"/>
<line x1="${x(p50)}" x2="${x(p50)}" y1="${y + 2}" y2="${y + 26}" stroke="#000" stroke-width="2"/>
<text x="${x(p95) + 6}" y="${y + 18}" font-size="11">${p50.toFixed(0)} ms</text>`;
  });
  const ticks = Array.from({ length: 6 }, (_, i) => (max / 5) * i).map(
    (ms) => `<line x1="${x(ms)}" x2="${x(ms)}" y1="20" y2="${30 + results.length * rowH}" stroke="#ddd"/><text x="${x(ms) - 8}" y="${45 + results.length * rowH}" font-size="11">${ms.toFixed(0)}</text>`,
  );
  const h = 60 + results.length * rowH;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" font-family="system-ui, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="14" font-size="13" font-weight="bold">Glass-to-glass latency (ms): box p25–p75, whiskers p5–p95, bar median</text>
${ticks.join('\n')}
${rows.join('\n')}
</svg>
`;
}

await main();
