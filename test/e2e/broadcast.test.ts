// One broadcaster and several viewers in real Chromium, through the real app
// and server: video and audio arrive, the controls work while live, and every
// failure a person can run into is explained on the page.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath } from './screenshots.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.js';
import { launchChromium, newPage } from './browser.js';
import {
  expectAdvancing,
  goLive,
  inboundAudio,
  frameAfter,
  instrumentPeerConnections,
  instrumentVideoFrames,
  numberIn,
  pcCount,
  roomCode,
  videoHeight,
  videoState,
  waitForFrames,
  watch,
} from './app.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function open(locale = 'en-US'): Promise<Page> {
  const { context, page } = await newPage(browser, server.httpUrl, locale);
  await context.addInitScript(instrumentPeerConnections);
  await context.addInitScript(instrumentVideoFrames);
  contexts.push(context);
  return page;
}

async function closeAll(): Promise<void> {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
}

beforeAll(async () => {
  server = await startServer({ staticDir: path.join(ROOT, 'dist/web'), roomGraceMs: 20_000 });
  browser = await launchChromium();
});

// A test that fails midway must not leave cameras open for the next one:
// fake devices are shared by every page of the browser.
afterEach(closeAll);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('live broadcast', () => {
  it('one broadcaster, three viewers: moving video at the right size and audio on every viewer', async () => {
    const broadcaster = await open();
    // Peer-to-peer for all three, whatever the load: the hybrid topology has its own tests.
    const code = await goLive(broadcaster, '480p', 'topology=p2p');
    const viewers = [await open(), await open(), await open()];
    const joinTimes: number[] = [];
    for (const viewer of viewers) joinTimes.push(await watch(viewer, code));
    console.log(`join-to-first-frame (ms): ${joinTimes.join(', ')}`);

    for (const viewer of viewers) {
      const state = await expectAdvancing(viewer, 'remote-video');
      expect(state.videoTracks).toBe(1);
      expect(state.audioTracks).toBe(1);
      // The encoder may start smaller while bandwidth estimation ramps up; it reaches the preset.
      await expect.poll(() => videoHeight(viewer, 'remote-video'), { timeout: 30_000 }).toBe(480);
      const audio = await inboundAudio(viewer);
      await expect.poll(async () => (await inboundAudio(viewer)).bytes, { timeout: 10_000 }).toBeGreaterThan(audio.bytes);
      await expect.poll(() => numberIn(viewer, 'viewer-count'), { timeout: 5_000 }).toBe(3);
      await expect.poll(async () => viewer.getByTestId('connection-type').textContent(), { timeout: 10_000 }).toContain('p2p');
      await expect.poll(() => numberIn(viewer, 'bitrate'), { timeout: 10_000 }).toBeGreaterThan(0);
    }
    // Unmuted, the first viewer plays the fake microphone's beep: decoded audio has energy.
    await viewers[0]!.getByTestId('unmute').click();
    await expect.poll(async () => (await inboundAudio(viewers[0]!)).energy, { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => numberIn(broadcaster, 'viewer-count')).toBe(3);
    await expect.poll(() => numberIn(broadcaster, 'bitrate'), { timeout: 10_000 }).toBeGreaterThan(0);
    const rooms = (await (await fetch(`${server.httpUrl}/api/rooms`)).json()) as { rooms: { room_id: string; viewer_count: number }[] };
    expect(rooms.rooms.find((r) => r.room_id === code)?.viewer_count).toBe(3);

    await broadcaster.screenshot({ path: screenshotPath('broadcaster.png') });
    await viewers[0]!.screenshot({ path: screenshotPath('viewer.png') });

    // A viewer leaves: everyone's count drops.
    await viewers[2]!.close();
    await expect.poll(() => numberIn(broadcaster, 'viewer-count'), { timeout: 10_000 }).toBe(2);
    await expect.poll(() => numberIn(viewers[0]!, 'viewer-count'), { timeout: 10_000 }).toBe(2);

    // The broadcaster ends: viewers are told, the room is gone.
    await broadcaster.getByTestId('end-broadcast').click();
    for (const viewer of viewers.slice(0, 2)) {
      await expect.poll(() => viewer.getByTestId('error-message').textContent(), { timeout: 10_000 }).toMatch(/ended/i);
    }
    await expect.poll(async () => ((await (await fetch(`${server.httpUrl}/api/rooms`)).json()) as { rooms: unknown[] }).rooms.length).toBe(0);
  });

  it('switches camera and quality while live without the viewer reconnecting', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p');
    const viewer = await open();
    await watch(viewer, code);
    const connections = await pcCount(viewer);
    expect(connections).toBe(1);

    const cameras = await broadcaster.getByTestId('camera-select').locator('option').evaluateAll((options) =>
      options.map((o) => ({ id: (o as HTMLOptionElement).value, label: o.textContent ?? '' })),
    );
    expect(cameras.length).toBe(3);
    expect(await broadcaster.getByTestId('camera-select').inputValue()).toBe(cameras[0]!.id);
    const other = cameras.find((c) => c.label === 'fake_device_2')!.id;
    await broadcaster.getByTestId('camera-select').selectOption(other);
    await expect
      .poll(() => broadcaster.evaluate(() => ((document.querySelector('[data-testid=local-video]') as HTMLVideoElement).srcObject as MediaStream).getVideoTracks()[0]?.getSettings().deviceId))
      .toBe(other);
    await expectAdvancing(viewer, 'remote-video');

    await broadcaster.getByTestId('quality-select').selectOption('720p');
    await expect.poll(() => videoHeight(broadcaster, 'local-video'), { timeout: 10_000 }).toBe(720);
    await expect.poll(() => videoHeight(viewer, 'remote-video'), { timeout: 30_000 }).toBe(720);
    await expectAdvancing(viewer, 'remote-video');
    expect(await pcCount(viewer)).toBe(connections);
  });

  it('previews 480p, 720p and 1080p at their sizes', async () => {
    const page = await open();
    await page.goto('/#/broadcast');
    for (const [quality, height, width] of [
      ['480p', 480, 854],
      ['720p', 720, 1280],
      ['1080p', 1080, 1920],
    ] as const) {
      await page.getByTestId('quality-select').selectOption(quality);
      await expect.poll(() => videoHeight(page, 'local-video'), { timeout: 10_000 }).toBe(height);
      expect((await videoState(page, 'local-video')).width).toBe(width);
    }
  });

  it('opens a watch link straight into the room', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p');
    const viewer = await open();
    await viewer.goto(`/#/watch/${code}`);
    await waitForFrames(viewer, 'remote-video');
  });

  it('the broadcaster reloads: it takes its room back and the viewer plays again by itself', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p');
    const viewer = await open();
    await watch(viewer, code);
    const reloaded = Date.now();
    await broadcaster.reload();
    expect(await roomCode(broadcaster)).toBe(code);
    // "Back": the reloaded page shows the reclaimed room again.
    const back = Date.now();
    await expect.poll(() => pcCount(viewer), { timeout: 10_000 }).toBe(2);
    const frameAt = await frameAfter(viewer, back);
    console.log(
      `broadcaster reload: video back on the viewer ${frameAt - back} ms after the broadcaster was back (${frameAt - reloaded} ms after the reload began)`,
    );
    expect(frameAt - back).toBeLessThanOrEqual(3_000);
    await expectAdvancing(viewer, 'remote-video');
  });
});

describe('what people are told', () => {
  it('an unknown room code', async () => {
    const viewer = await open();
    await viewer.goto('/#/watch');
    await viewer.getByTestId('room-input').fill('000001');
    await viewer.getByTestId('join').click();
    await expect.poll(() => viewer.getByTestId('error-message').textContent(), { timeout: 10_000 }).toMatch(/000001.*(does not exist|no such)|no such room/i);
  });

  it('an unknown room code, in Chinese', async () => {
    const viewer = await open('zh-CN');
    await viewer.goto('/#/watch/000002');
    await expect.poll(() => viewer.getByTestId('error-message').textContent(), { timeout: 10_000 }).toContain('找不到这个直播间');
    expect(await viewer.getByTestId('join').textContent()).toContain('进入直播间');
    await viewer.screenshot({ path: screenshotPath('unknown-room-zh.png') });
  });

  it('a mistyped code', async () => {
    const viewer = await open();
    await viewer.goto('/#/watch');
    await viewer.getByTestId('room-input').fill('12a4');
    await viewer.getByTestId('join').click();
    await expect.poll(() => viewer.getByTestId('error-message').textContent(), { timeout: 5_000 }).toMatch(/six digits/i);
  });

  it('a refused camera', async () => {
    const { context, page } = await newPage(browser, server.httpUrl);
    contexts.push(context);
    await context.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    await page.goto('/#/broadcast');
    await expect.poll(() => page.getByTestId('error-message').textContent(), { timeout: 10_000 }).toMatch(/camera access was refused/i);
  });

  it('the server cannot be reached, or goes away while watching', async () => {
    const own = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
    const pages = await Promise.all([newPage(browser, own.httpUrl), newPage(browser, own.httpUrl), newPage(browser, own.httpUrl)]);
    contexts.push(...pages.map((p) => p.context));
    const [broadcaster, viewer, late] = pages.map((p) => p.page) as [Page, Page, Page];
    const code = await goLive(broadcaster, '480p');
    await watch(viewer, code);
    await late.goto('/#/watch');
    await late.getByTestId('room-input').fill(code);

    await own.close();
    for (const page of [broadcaster, viewer]) {
      await expect.poll(() => page.getByTestId('error-message').textContent(), { timeout: 10_000 }).toMatch(/lost the connection to the server/i);
    }
    await late.getByTestId('join').click();
    await expect.poll(() => late.getByTestId('error-message').textContent(), { timeout: 10_000 }).toMatch(/cannot reach the server/i);
  });

  it('switches language in place', async () => {
    const page = await open('en-US');
    await page.goto('/');
    expect(await page.getByTestId('start-broadcast').textContent()).toContain('Start broadcasting');
    await page.getByTestId('language').click();
    expect(await page.getByTestId('start-broadcast').textContent()).toContain('开始直播');
    expect(await page.getByTestId('watch-broadcast').textContent()).toContain('观看直播');
    await page.screenshot({ path: screenshotPath('home-zh.png') });
  });
});
