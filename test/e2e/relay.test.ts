// The server relay in real Chromium: a viewer forced onto it, viewers beyond
// the P2P cap, and a slow relay viewer next to a fast one.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.js';
import { launchChromium, newPage } from './browser.js';
import { audioLevel, expectAdvancing, goLive, instrumentAudioOutput, instrumentPeerConnections, numberIn, pcCount, videoHeight, videoState, waitForFrames } from './app.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function open(): Promise<Page> {
  const { context, page } = await newPage(browser, server.httpUrl);
  await context.addInitScript(instrumentPeerConnections);
  await context.addInitScript(instrumentAudioOutput);
  contexts.push(context);
  return page;
}

beforeAll(async () => {
  server = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
  browser = await launchChromium();
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('server relay', () => {
  it('a viewer forced onto the relay (?via=relay) sees and hears the broadcast, with no peer connection', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p');
    const viewer = await open();
    const t0 = Date.now();
    await viewer.goto(`/#/watch/${code}?via=relay`);
    await waitForFrames(viewer, 'remote-video');
    console.log(`relay: first frame ${Date.now() - t0} ms after opening the link`);
    expect(await pcCount(viewer)).toBe(0);
    await expect.poll(() => viewer.getByTestId('connection-type').textContent(), { timeout: 10_000 }).toContain('relay');
    await expect.poll(() => videoHeight(viewer, 'remote-video'), { timeout: 10_000 }).toBe(480);
    await viewer.getByTestId('unmute').click();
    await expect.poll(() => audioLevel(viewer, 'remote-video'), { timeout: 15_000 }).toBeGreaterThan(0.001);
    await expect.poll(() => numberIn(viewer, 'bitrate'), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => broadcaster.getByTestId('connection-type').textContent(), { timeout: 10_000 }).toContain('relay');
  });

  it('the relay player draws the decoded frames on a canvas in the video\'s place, and its stats come from the player', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p');
    const viewer = await open();
    await viewer.goto(`/#/watch/${code}?via=relay`);
    await waitForFrames(viewer, 'remote-video');
    const screen = viewer.getByTestId('remote-video');
    expect(await screen.evaluate((el) => el.tagName)).toBe('CANVAS');
    expect(await viewer.locator('video').count()).toBe(0);
    // The same box as the video element (the .video class), not the canvas' intrinsic size.
    const box = (await screen.boundingBox())!;
    expect(box.width).toBeGreaterThan(300);
    // A picture, not a blank canvas: several colours of the fake camera's frame.
    const colours = await screen.evaluate((el) => {
      const c = el as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < data.length; i += 4 * 997) seen.add((data[i]! >> 4) * 256 + (data[i + 1]! >> 4) * 16 + (data[i + 2]! >> 4));
      return seen.size;
    });
    expect(colours).toBeGreaterThan(2);
    await expect.poll(() => numberIn(viewer, 'stat-fps'), { timeout: 10_000 }).toBeGreaterThan(10);
    await expect.poll(() => viewer.getByTestId('stat-resolution').textContent(), { timeout: 10_000 }).toMatch(/^\d+×480$/);
    await expect.poll(() => numberIn(viewer, 'stat-latency'), { timeout: 10_000 }).toBeGreaterThanOrEqual(0);
  });

  it('a viewer whose browser cannot use UDP, with no TURN configured, gets video and audio through the relay by itself', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p');
    // Chromium then gathers no candidates at all: ICE stays 'new', never 'failed'.
    const noUdp = await launchChromium(['--webrtc-ip-handling-policy=disable_non_proxied_udp']);
    try {
      const { context, page: viewer } = await newPage(noUdp, server.httpUrl);
      await context.addInitScript(instrumentAudioOutput);
      const t0 = Date.now();
      await viewer.goto(`/#/watch/${code}`);
      await waitForFrames(viewer, 'remote-video', 30_000);
      console.log(`no UDP, no TURN: relay picture ${Date.now() - t0} ms after opening the link`);
      await expect.poll(() => viewer.getByTestId('connection-type').textContent(), { timeout: 10_000 }).toContain('relay');
      await viewer.getByTestId('unmute').click();
      await expect.poll(() => audioLevel(viewer, 'remote-video'), { timeout: 15_000 }).toBeGreaterThan(0.001);
    } finally {
      await noUdp.close();
    }
  });

  it('a relay viewer throttled to a fraction of the stream keeps getting pictures while a fast one keeps full frame rate', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p');
    const fast = await open();
    const slow = await open();
    for (const v of [fast, slow]) {
      await v.goto(`/#/watch/${code}?via=relay`);
      await waitForFrames(v, 'remote-video');
    }
    await expect.poll(() => numberIn(fast, 'bitrate'), { timeout: 10_000 }).toBeGreaterThan(200);
    const streamKbps = await numberIn(fast, 'bitrate');
    // Chromium's network emulation throttles the slow viewer's WebSocket to 40% of the stream.
    const cdp = await slow.context().newCDPSession(slow);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: (streamKbps * 1000 * 0.4) / 8, uploadThroughput: 1_000_000 });
    await slow.waitForTimeout(3_000);
    const [f0, s0] = [await videoState(fast, 'remote-video'), await videoState(slow, 'remote-video')];
    await slow.waitForTimeout(8_000);
    const [f1, s1] = [await videoState(fast, 'remote-video'), await videoState(slow, 'remote-video')];
    const fastFps = (f1.frames - f0.frames) / 8;
    const slowFps = (s1.frames - s0.frames) / 8;
    console.log(`relay pacing: stream ${streamKbps} kbit/s; fast viewer ${fastFps.toFixed(1)} fps, viewer throttled to 40% ${slowFps.toFixed(1)} fps; server dropped ${server.server.relay.counters.framesDropped} frames`);
    expect(fastFps).toBeGreaterThan(20);
    // Thinned to the base layer and keyframes, but never frozen.
    expect(slowFps).toBeGreaterThan(1);
    expect(slowFps).toBeLessThan(fastFps);
    expect(server.server.relay.counters.viewersCutOff).toBe(0);
    expect(await slow.getByTestId('connection-type').textContent()).toContain('relay');
  });

  it('with a P2P cap of 1, the second and third viewers land on the relay and all three play', async () => {
    const broadcaster = await open();
    await broadcaster.goto('/#/broadcast?p2p=1&overflow=relay');
    await broadcaster.getByTestId('quality-select').selectOption('480p');
    await broadcaster.getByTestId('go-live').click();
    await expect.poll(async () => (await broadcaster.getByTestId('room-code').textContent())?.trim(), { timeout: 15_000 }).toMatch(/^\d{6}$/);
    const code = (await broadcaster.getByTestId('room-code').textContent())!.trim();
    const viewers: Page[] = [];
    for (let i = 0; i < 3; i++) {
      const v = await open();
      await v.goto(`/#/watch/${code}`);
      await waitForFrames(v, 'remote-video');
      viewers.push(v);
    }
    const paths = await Promise.all(viewers.map((v) => v.getByTestId('connection-type').textContent()));
    expect(paths[0]).toContain('p2p');
    expect(paths[1]).toContain('relay');
    expect(paths[2]).toContain('relay');
    for (const v of viewers) await expectAdvancing(v, 'remote-video');
    await expect.poll(() => broadcaster.getByTestId('connection-type').textContent(), { timeout: 10_000 }).toMatch(/p2p ×1.*relay ×2/);
    await expect.poll(() => numberIn(broadcaster, 'viewer-count')).toBe(3);
  });
});
