// The broadcaster's screen share and recording, and the viewer's full screen,
// picture-in-picture and network speed, in real Chromium. Chromium's fake
// devices (--use-fake-ui-for-media-stream) answer getDisplayMedia with a
// 1280×720 fake screen with sound, so the switch shows on a 480p viewer as a
// 720-line picture on the same peer connection.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { webmDurationMs } from '../../src/web/broadcast/webm-duration.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { launchChromium, newPage } from './browser.js';
import { expectAdvancing, goLive, instrumentPeerConnections, pcCount, videoHeight, waitForFrames, watch } from './app.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function open(): Promise<Page> {
  const { context, page } = await newPage(browser, server.httpUrl);
  await context.addInitScript(instrumentPeerConnections);
  contexts.push(context);
  return page;
}

beforeAll(async () => {
  server = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
  browser = await launchChromium();
});
// Each test's pages close after it: the next one gets the two cores to itself.
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** What the broadcaster sends to its first viewer: the video track's label and content hint. */
function sentVideo(page: Page): Promise<{ label: string; hint: string } | null> {
  return page.evaluate(() => {
    const pc = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.find((p) => p.connectionState === 'connected');
    const track = pc?.getSenders().find((s) => s.track?.kind === 'video')?.track;
    return track ? { label: track.label, hint: track.contentHint } : null;
  });
}

/** A file's duration and first picture as this page's <video> reads them. */
function playIn(page: Page, bytes: Buffer): Promise<{ duration: number; width: number; height: number }> {
  return page.evaluate(async (base64) => {
    const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const video = document.createElement('video');
    video.muted = true;
    video.src = URL.createObjectURL(new Blob([data], { type: 'video/webm' }));
    await new Promise((resolve, reject) => {
      video.onloadeddata = resolve;
      video.onerror = () => reject(new Error(`the browser cannot play the recording: ${video.error?.message}`));
    });
    // A picture from the middle: the file is seekable, and decodes there too.
    video.currentTime = video.duration / 2;
    await new Promise((resolve) => (video.onseeked = resolve));
    return { duration: video.duration, width: video.videoWidth, height: video.videoHeight };
  }, bytes.toString('base64'));
}

describe('broadcast tools', () => {
  it('screen share while live and back, seen by a viewer on the same connection; a recording across both downloads as a playable WebM', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p', 'topology=p2p');
    const viewer = await open();
    await watch(viewer, code);
    const connections = await pcCount(viewer);

    await broadcaster.getByTestId('record').click();
    await broadcaster.getByTestId('share-screen').click();
    await expect.poll(() => sentVideo(broadcaster)).toMatchObject({ label: expect.stringMatching(/^screen:/), hint: 'detail' });
    // The fake screen is 1280×720, taller than any 480p camera picture (the encoder may trim a few lines
    // while the bandwidth estimate settles).
    await expect.poll(() => videoHeight(viewer, 'remote-video'), { timeout: 30_000 }).toBeGreaterThan(600);
    await expectAdvancing(viewer, 'remote-video');
    expect(await broadcaster.getByTestId('sharing-state').textContent()).toMatch(/tab's sound is mixed/);
    expect(await broadcaster.getByTestId('share-screen').textContent()).toMatch(/Back to camera/);

    await broadcaster.getByTestId('share-screen').click();
    await expect.poll(() => sentVideo(broadcaster)).toMatchObject({ hint: 'motion' });
    await expect.poll(() => videoHeight(viewer, 'remote-video'), { timeout: 30_000 }).toBeLessThanOrEqual(480);
    expect(await pcCount(viewer)).toBe(connections);

    // ~3 s of recording by its own timer, then stop and download.
    await expect.poll(() => broadcaster.getByTestId('recording-timer').textContent(), { timeout: 15_000 }).toMatch(/00:0[3-9]|00:[1-9]\d/);
    await broadcaster.getByTestId('record').click();
    const [download] = await Promise.all([broadcaster.waitForEvent('download'), broadcaster.getByTestId('download-recording').click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^liveroom-${code}-.*\\.webm$`));
    const file = await readFile((await download.path())!);
    expect(file.subarray(0, 4)).toEqual(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]));
    const headerMs = webmDurationMs(new Uint8Array(file));
    expect(headerMs).toBeGreaterThanOrEqual(3_000);
    const played = await playIn(broadcaster, file);
    expect(played.duration).toBeCloseTo(headerMs! / 1000, 1);
    expect(played.width).toBeGreaterThan(0);
  });

  it('full screen and picture-in-picture on the server relay’s canvas, chat on the relay path; network speed with its source on both paths', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p');
    const p2p = await open();
    await watch(p2p, code);
    // A P2P viewer in Chromium (transport-cc: no availableIncomingBitrate) shows the measured rate.
    await expect.poll(() => p2p.getByTestId('stat-network_speed').textContent(), { timeout: 10_000 }).toMatch(/\d/);
    expect(await p2p.getByTestId('stat-network_speed').getAttribute('title')).toMatch(/^(Measured|The browser's estimate)/);

    const viewer = await open();
    await viewer.goto(`/#/watch/${code}?via=relay`);
    await waitForFrames(viewer, 'remote-video');
    expect(await viewer.getByTestId('remote-video').evaluate((el) => el.tagName)).toBe('CANVAS');
    await expect.poll(() => viewer.getByTestId('stat-network_speed').textContent(), { timeout: 10_000 }).toMatch(/\d/);
    expect(await viewer.getByTestId('stat-network_speed').getAttribute('title')).toMatch(/server relay/);

    // The chat rides the signalling socket: the relay path has it like any other.
    await viewer.getByTestId('chat-input').fill('from the relay');
    await viewer.getByTestId('chat-send').click();
    await expect.poll(() => broadcaster.getByTestId('chat-message').allTextContents()).toEqual([expect.stringContaining('from the relay')]);

    await viewer.getByTestId('fullscreen').click();
    await expect
      .poll(() => viewer.evaluate(() => document.fullscreenElement?.contains(document.querySelector('canvas[data-testid=remote-video]')) ?? false))
      .toBe(true);
    await expectAdvancing(viewer, 'remote-video');
    await expect.poll(() => viewer.getByTestId('fullscreen').textContent()).toMatch(/Exit full screen/);
    await viewer.getByTestId('fullscreen').click();
    await expect.poll(() => viewer.evaluate(() => document.fullscreenElement)).toBeNull();

    // Picture-in-picture needs a <video>: the canvas's stream plays in one.
    await viewer.getByTestId('pip').click();
    await expect.poll(() => viewer.evaluate(() => (document.pictureInPictureElement as HTMLVideoElement | null)?.srcObject instanceof MediaStream)).toBe(true);
    await viewer.getByTestId('pip').click();
    await expect.poll(() => viewer.evaluate(() => document.pictureInPictureElement)).toBeNull();
  });
});
