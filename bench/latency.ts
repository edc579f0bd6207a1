// Glass-to-glass latency and join-to-first-frame, measured through the real
// app in Chromium, against a raw RTCPeerConnection pair in the same run.
//
//   npm run bench:latency            (builds first; ~2 minutes)
//
// The broadcaster's camera is replaced by a 1280×720 canvas that paints the
// current time as 32 black/white blocks; the viewer reads the blocks back from
// each frame it shows (requestVideoFrameCallback) and subtracts. Both pages
// run in one browser, so they share one clock. Paths: our P2P, our server
// relay, a raw pair with no app (same codec as our P2P path), and the floor of
// the measurement itself (canvas → local <video>). Writes docs/latency.svg.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { median } from '../src/protocol/stats-math.js';
import { launchChromium, newPage } from '../test/e2e/browser.js';
import { startServer } from '../test/helpers/server.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SAMPLE_SECONDS = Number(process.env.LATENCY_SECONDS ?? 10);
const JOINS = Number(process.env.LATENCY_JOINS ?? 5);

/** tsx compiles with keepNames, which wraps named functions in __name(); page functions need it defined. */
const NAME_SHIM = 'globalThis.__name = (f) => f;';

/** Page script: a canvas "camera" that paints Date.now() in 32 blocks, for getUserMedia and for the raw pair. */
function installClockCamera(): void {
  const W = 1280;
  const H = 720;
  const BLOCK = 36;
  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext('2d')!;
  const base = Math.floor(Date.now() / 1000) * 1000 - 1_000_000;
  const paint = () => {
    const t = Date.now() - base;
    ctx.fillStyle = '#336';
    ctx.fillRect(0, 0, W, H);
    // Motion, so the encoder has something to do besides the blocks.
    ctx.fillStyle = '#e4405f';
    ctx.fillRect((t / 4) % W, H / 2, 160, 160);
    for (let bit = 0; bit < 32; bit++) {
      ctx.fillStyle = (t >>> bit) & 1 ? '#fff' : '#000';
      ctx.fillRect(bit * BLOCK, 0, BLOCK, BLOCK);
    }
  };
  setInterval(paint, 1000 / 60);
  paint();
  const w = window as unknown as { __clockBase: number; __clockStream: () => MediaStream };
  w.__clockBase = base;
  w.__clockStream = () => canvas.captureStream(30);
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const video = constraints?.video ? canvas.captureStream(30).getVideoTracks() : [];
    const audio = constraints?.audio ? (await original({ audio: constraints.audio })).getAudioTracks() : [];
    return new MediaStream([...video, ...audio]);
  };
}

/** Page script: read the painted time back from every frame a <video> shows. */
function installClockReader(): void {
  const w = window as unknown as { __lat: number[]; __firstFrameAt: number | null; __readClock: (v: HTMLVideoElement) => void; __clockBase?: number };
  w.__lat = [];
  w.__firstFrameAt = null;
  w.__readClock = (video: HTMLVideoElement) => {
    const c = document.createElement('canvas');
    const ctx = c.getContext('2d', { willReadFrequently: true })!;
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
      w.__firstFrameAt ??= performance.now();
      const scale = video.videoWidth / 1280;
      if (scale > 0) {
        const block = 36 * scale;
        c.width = Math.ceil(32 * block);
        c.height = Math.ceil(block);
        ctx.drawImage(video, 0, 0, c.width, c.height, 0, 0, c.width, c.height);
        const row = ctx.getImageData(0, Math.floor(block / 2), c.width, 1).data;
        let t = 0;
        for (let bit = 0; bit < 32; bit++) {
          const x = Math.floor(bit * block + block / 2);
          if (row[x * 4]! > 128) t |= 1 << bit;
        }
        const shownAt = performance.timeOrigin + meta.expectedDisplayTime;
        const latency = shownAt - ((t >>> 0) + (w.__clockBase ?? 0));
        if (latency > 0 && latency < 5_000) w.__lat.push(latency);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
}

interface Result {
  path: string;
  samples: number[];
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

async function collect(page: Page, testid: string | null, seconds: number): Promise<number[]> {
  await page.evaluate((id) => {
    const w = window as unknown as { __lat: number[]; __readClock: (v: HTMLVideoElement) => void };
    if (id) w.__readClock(document.querySelector<HTMLVideoElement>(`[data-testid=${id}]`)!);
    w.__lat = [];
  }, testid);
  await page.waitForTimeout(seconds * 1000);
  return page.evaluate(() => (window as unknown as { __lat: number[] }).__lat);
}

/** The viewer page shares the broadcaster's clock base: both read it from the broadcaster. */
async function viewerPage(browser: Browser, base: string, clockBase: number): Promise<Page> {
  const { context, page } = await newPage(browser, base);
  await context.addInitScript(NAME_SHIM);
  await context.addInitScript(installClockReader);
  await context.addInitScript(`window.__clockBase = ${clockBase};`);
  return page;
}

async function main(): Promise<void> {
  const server = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
  const browser = await launchChromium();
  const results: Result[] = [];
  const joins: Record<string, number[]> = { p2p: [], relay: [], raw: [] };
  let p2pCodec: string | null = null;
  try {
    const { context: bctx, page: broadcaster } = await newPage(browser, server.httpUrl);
    await bctx.addInitScript(NAME_SHIM);
    await bctx.addInitScript(installClockCamera);
    await bctx.addInitScript(installClockReader);
    await broadcaster.goto('/#/broadcast');
    await broadcaster.getByTestId('quality-select').selectOption('720p');
    await broadcaster.getByTestId('go-live').click();
    await broadcaster.waitForFunction(() => /^\d{6}$/.test(document.querySelector('[data-testid=room-code]')?.textContent ?? ''));
    const code = (await broadcaster.getByTestId('room-code').textContent())!.trim();
    const clockBase = await broadcaster.evaluate(() => (window as unknown as { __clockBase: number }).__clockBase);

    // Floor: canvas → the broadcaster's own preview.
    results.push({ path: 'floor (canvas → local video)', samples: await collect(broadcaster, 'local-video', SAMPLE_SECONDS / 2) });

    for (const [name, suffix] of [
      ['p2p', ''],
      ['relay', '?via=relay'],
    ] as const) {
      const viewer = await viewerPage(browser, server.httpUrl, clockBase);
      await viewer.goto(`/#/watch${suffix}`);
      for (let i = 0; i < JOINS; i++) {
        // Join-to-first-frame: click Enter on the watch page, wait for the first shown frame.
        await viewer.goto(`/#/watch${suffix}`);
        await viewer.reload();
        await viewer.getByTestId('room-input').fill(code);
        await viewer.evaluate(() => {
          const w = window as unknown as { __readClock: (v: HTMLVideoElement) => void; __clickAt: number };
          document.querySelector('[data-testid=join]')!.addEventListener('click', () => (w.__clickAt = performance.now()), { once: true });
          w.__readClock(document.querySelector<HTMLVideoElement>('[data-testid=remote-video]')!);
        });
        await viewer.getByTestId('join').click();
        await viewer.waitForFunction(() => (window as unknown as { __firstFrameAt: number | null }).__firstFrameAt !== null, null, { timeout: 30_000 });
        joins[name]!.push(await viewer.evaluate(() => {
          const w = window as unknown as { __firstFrameAt: number; __clickAt: number };
          return w.__firstFrameAt - w.__clickAt;
        }));
      }
      await viewer.waitForTimeout(3_000); // past the ramp-up
      results.push({ path: `LiveRoom ${name}`, samples: await collect(viewer, null, SAMPLE_SECONDS) });
      if (name === 'p2p') p2pCodec = (await viewer.getByTestId('stat-codec').textContent())?.trim() ?? null;
      await viewer.context().close();
    }

    // Raw pair: the same canvas through two RTCPeerConnections in one page, no app.
    const raw = await viewerPage(browser, server.httpUrl, clockBase);
    await raw.context().addInitScript(installClockCamera);
    await raw.goto('/#/');
    // The raw pair uses the codec our P2P path negotiated, so the comparison is like for like.
    const codec = p2pCodec && p2pCodec !== '—' ? p2pCodec : null;
    for (let i = 0; i < JOINS + 1; i++) {
      const ms = await raw.evaluate(async (wanted) => {
        const w = window as unknown as { __clockStream: () => MediaStream; __readClock: (v: HTMLVideoElement) => void; __firstFrameAt: number | null; __rawPcs?: RTCPeerConnection[] };
        w.__rawPcs?.forEach((pc) => pc.close());
        document.querySelector('#raw-video')?.remove();
        const video = Object.assign(document.createElement('video'), { id: 'raw-video', muted: true, autoplay: true, playsInline: true });
        document.body.append(video);
        const a = new RTCPeerConnection();
        const b = new RTCPeerConnection();
        w.__rawPcs = [a, b];
        a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
        b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
        b.ontrack = (e) => (video.srcObject = e.streams[0] ?? new MediaStream([e.track]));
        const t = a.addTransceiver(w.__clockStream().getVideoTracks()[0]!, { direction: 'sendonly', streams: [new MediaStream()] });
        const caps = RTCRtpSender.getCapabilities('video')!.codecs;
        if (wanted) t.setCodecPreferences([...caps.filter((c) => c.mimeType.toLowerCase() === `video/${wanted.toLowerCase()}`), ...caps.filter((c) => c.mimeType.toLowerCase() !== `video/${wanted.toLowerCase()}`)]);
        w.__firstFrameAt = null;
        w.__readClock(video);
        const start = performance.now();
        await a.setLocalDescription(await a.createOffer());
        await b.setRemoteDescription(a.localDescription!);
        await b.setLocalDescription(await b.createAnswer());
        await a.setRemoteDescription(b.localDescription!);
        while (w.__firstFrameAt === null) await new Promise((r) => setTimeout(r, 5));
        return w.__firstFrameAt - start;
      }, codec ?? null);
      if (i > 0) joins.raw!.push(ms); // the first includes one-off codec start-up
    }
    await raw.waitForTimeout(3_000);
    results.push({ path: `raw RTCPeerConnection pair (${codec ?? 'default codec'})`, samples: await collect(raw, null, SAMPLE_SECONDS) });
  } finally {
    await browser.close();
    await server.close();
  }

  const rawRow = results.find((r) => r.path.startsWith('raw'))!;
  const rawP50 = pct(rawRow.samples, 50);
  console.log(`\nGlass-to-glass latency, 720p30, Chromium headless, loopback (${SAMPLE_SECONDS} s per path)`);
  console.log('| path | frames | p50 ms | p95 ms | p50 vs raw |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of results) {
    const p50 = pct(r.samples, 50);
    console.log(`| ${r.path} | ${r.samples.length} | ${p50.toFixed(0)} | ${pct(r.samples, 95).toFixed(0)} | ${(p50 / rawP50).toFixed(2)}× |`);
  }
  console.log(`\nJoin to first frame, median of ${JOINS} (ms): LiveRoom p2p ${median(joins.p2p!)?.toFixed(0)}, relay ${median(joins.relay!)?.toFixed(0)}; raw pair from its first offer ${median(joins.raw!)?.toFixed(0)}`);
  console.log(`  all: ${JSON.stringify(Object.fromEntries(Object.entries(joins).map(([k, v]) => [k, v.map((x) => Math.round(x))])))}`);
  writeFileSync(path.join(ROOT, 'docs/latency.svg'), plot(results));
  console.log('wrote docs/latency.svg');
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
