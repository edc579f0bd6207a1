// A second browser engine: Firefox (Debian's firefox-esr, driven over WebDriver
// BiDi) watching a Chromium broadcaster and broadcasting to a Chromium viewer,
// through the real app and server. Each direction must play moving video and
// audio, negotiate the best video codec both browsers have, and show the stats
// panel's figures on the Firefox page.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath } from './screenshots.js';
import type { Browser as ChromiumBrowser, BrowserContext, Page } from 'playwright-core';
import type { Browser as FirefoxBrowser, BrowserContext as FirefoxContext } from 'puppeteer-core';
import { startServer, type RunningServer } from '../helpers/server.js';
import { launchChromium, newPage } from './browser.js';
import { launchFirefox, newFirefoxPage } from './firefox.js';
import {
  bestShared,
  codecCapabilities,
  expectAdvancing,
  goLive,
  inboundAudio,
  instrumentPeerConnections,
  instrumentVideoFrames,
  numberIn,
  waitForFrames,
  watch,
} from './app.js';
import { wireCodec } from '../helpers/page-stats.js';
import { expectAccessible } from './axe.js';
import { describePath } from '../../src/web/rtc/stats-sampler.js';
import { sanitizeSdp } from '../../src/web/rtc/sdp.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

let server: RunningServer;
let chromium: ChromiumBrowser;
let firefox: FirefoxBrowser;
const chromiumContexts: BrowserContext[] = [];
const firefoxContexts: FirefoxContext[] = [];

/** Records every text the page's error-message element shows, even one a later state hides again. */
function recordErrors(): void {
  const w = window as unknown as { __errors: string[] };
  w.__errors = [];
  new MutationObserver(() => {
    const text = document.querySelector('[data-testid=error-message]')?.textContent?.trim();
    if (text && w.__errors.at(-1) !== text) w.__errors.push(text);
  }).observe(document, { childList: true, subtree: true, characterData: true });
}

const errorsSeen = (page: Page) => page.evaluate(() => (window as unknown as { __errors?: string[] }).__errors ?? []);

async function openChromium(): Promise<Page> {
  const { context, page } = await newPage(chromium, server.httpUrl);
  await context.addInitScript(instrumentPeerConnections);
  await context.addInitScript(instrumentVideoFrames);
  await context.addInitScript(recordErrors);
  chromiumContexts.push(context);
  return page;
}

async function openFirefox(): Promise<Page> {
  const { context, pw } = await newFirefoxPage(firefox, server.httpUrl, [instrumentPeerConnections, instrumentVideoFrames]);
  firefoxContexts.push(context);
  return pw;
}

/**
 * The connection path from a page's real getStats, read by src/web/rtc/stats-sampler.ts
 * twice: as the browser reports it, and without transport.selectedCandidatePairId
 * (older Firefox has none; Firefox 153 does), so the fallback to the pair marked
 * selected/nominated is checked on real Firefox stats.
 */
async function checkPathFallback(page: Page): Promise<void> {
  const report = await page.evaluate(async () => {
    const pc = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.find((p) => p.connectionState === 'connected')!;
    const out: Record<string, unknown>[] = [];
    (await pc.getStats()).forEach((s: Record<string, unknown>) => out.push({ ...s }));
    return out;
  });
  type Stat = Record<string, unknown> & { type: string; id: string };
  const withId = new Map(report.map((s) => [String(s.id), s as Stat]));
  const withoutId = new Map(
    report.map((s) => {
      const { selectedCandidatePairId: _gone, ...rest } = s;
      return [String(s.id), rest as Stat];
    }),
  );
  const path = describePath(withId);
  expect(path?.type).toBe('p2p');
  expect(describePath(withoutId)).toEqual(path);
}

/**
 * The viewer joins and plays moving video and audio, and both ends use the
 * best codec the two browsers share (read from getStats on each side).
 */
async function expectPlaysWithBestCodec(broadcaster: Page, code: string, viewer: Page, direction: string): Promise<void> {
  const joinMs = await watch(viewer, code);
  const state = await expectAdvancing(viewer, 'remote-video');
  expect(state.videoTracks).toBe(1);
  expect(state.audioTracks).toBe(1);
  const audio = await inboundAudio(viewer);
  await expect.poll(async () => (await inboundAudio(viewer)).bytes, { timeout: 10_000 }).toBeGreaterThan(audio.bytes);

  const sends = await codecCapabilities(broadcaster, 'send');
  const receives = await codecCapabilities(viewer, 'receive');
  const best = bestShared(sends, receives);
  expect(best, `a shared codec between ${sends.join(',')} and ${receives.join(',')}`).toBeDefined();
  const sent = await wireCodec(broadcaster, 'outbound');
  const received = await wireCodec(viewer, 'inbound');
  console.log(`${direction}: join to first frame ${joinMs} ms; best shared ${best}, sent ${sent}, received ${received}`);
  expect(sent).toBe(best);
  expect(received).toBe(best);
}

/** The stats panel's three figures on a page, as the tests read them. */
async function expectStatsPanel(page: Page, viewers: number, path: 'p2p' | 'turn' | 'relay'): Promise<void> {
  await expect.poll(() => numberIn(page, 'viewer-count'), { timeout: 10_000 }).toBe(viewers);
  await expect.poll(async () => page.getByTestId('connection-type').textContent(), { timeout: 10_000 }).toContain(path);
  // 480p at up to 1 Mbit/s: a sensible figure is well above nothing and below 5 Mbit/s.
  await expect.poll(() => numberIn(page, 'bitrate'), { timeout: 15_000 }).toBeGreaterThan(50);
  expect(await numberIn(page, 'bitrate')).toBeLessThan(5_000);
}

beforeAll(async () => {
  server = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
  [chromium, firefox] = await Promise.all([launchChromium(), launchFirefox()]);
});

// Fake devices are shared by every page of a browser: close a test's pages before the next.
afterEach(async () => {
  await Promise.all([...chromiumContexts.splice(0).map((c) => c.close()), ...firefoxContexts.splice(0).map((c) => c.close())]);
});

afterAll(async () => {
  await firefox?.close();
  await chromium?.close();
  await server?.close();
});

describe('Firefox and Chromium together', () => {
  it('a Firefox viewer plays a Chromium broadcast: video, audio, the best shared codec, and the stats panel', async () => {
    const broadcaster = await openChromium();
    const code = await goLive(broadcaster, '480p', 'topology=p2p');
    const viewer = await openFirefox();
    await expectPlaysWithBestCodec(broadcaster, code, viewer, 'Chromium -> Firefox');

    await expectStatsPanel(viewer, 1, 'p2p');
    await checkPathFallback(viewer);
    await viewer.screenshot({ path: screenshotPath('firefox-viewer.png'), fullPage: true });
  });

  it('a Chromium viewer plays a Firefox broadcast: video, audio, the best shared codec, and the stats panel', async () => {
    const broadcaster = await openFirefox();
    const code = await goLive(broadcaster, '480p', 'topology=p2p');
    const viewer = await openChromium();
    await expectPlaysWithBestCodec(broadcaster, code, viewer, 'Firefox -> Chromium');

    await expectStatsPanel(broadcaster, 1, 'p2p');
    await checkPathFallback(broadcaster);
    await expectStatsPanel(viewer, 1, 'p2p');
    await broadcaster.screenshot({ path: screenshotPath('firefox-broadcaster.png'), fullPage: true });
  });

  it('codec per viewer: with the codec capped at H.264, a Chromium viewer gets H.264 and a Firefox viewer without H.264 the nearest it decodes', async () => {
    const broadcaster = await openChromium();
    const code = await goLive(broadcaster, '480p', 'topology=p2p&codec=h264');
    const chromiumViewer = await openChromium();
    const firefoxViewer = await openFirefox();
    await watch(chromiumViewer, code);
    // Whether Firefox decodes H.264 depends on its version and plugins (ESR 153 here did not,
    // ESR 140 does): the watch link says it decodes the others only, so the cap's fallback is
    // what this tests on any Firefox.
    await firefoxViewer.goto(`/#/watch/${code}?codecs=av1,vp9,vp8`);
    await waitForFrames(firefoxViewer, 'remote-video', 30_000);
    await expect.poll(() => wireCodec(chromiumViewer, 'inbound'), { timeout: 15_000 }).toBe('H264');
    await expect.poll(() => wireCodec(firefoxViewer, 'inbound'), { timeout: 15_000 }).toBe('VP8');
    console.log('capped at H.264: Chromium viewer h264, Firefox viewer vp8');
  });

  it('a Firefox viewer watches a Chromium broadcast through the server relay (WebCodecs on a canvas)', async () => {
    const broadcaster = await openChromium();
    const code = await goLive(broadcaster, '480p');
    const viewer = await openFirefox();
    await viewer.goto(`/#/watch/${code}?via=relay`);
    await waitForFrames(viewer, 'remote-video', 30_000);
    expect(await viewer.evaluate(() => document.querySelector('[data-testid=remote-video]')?.tagName)).toBe('CANVAS');
    await expect.poll(async () => viewer.getByTestId('connection-type').textContent(), { timeout: 10_000 }).toContain('relay');
    await expect.poll(() => numberIn(viewer, 'bitrate'), { timeout: 10_000 }).toBeGreaterThan(0);
    const codec = await viewer.getByTestId('stat-codec').textContent();
    console.log(`Firefox relay viewer: codec ${codec}`);
  });

  it('a Firefox broadcaster cannot feed the server relay: it says so, and serves a viewer who asks for the relay by P2P', async () => {
    const broadcaster = await openFirefox();
    // A relay-only room: Firefox has no MediaStreamTrackProcessor, so it serves P2P and says why.
    const code = await goLive(broadcaster, '480p', 'topology=relay');
    await expect.poll(() => broadcaster.getByTestId('error-message').textContent(), { timeout: 10_000 }).toMatch(/cannot publish to the server relay/i);

    // A Chromium viewer that goes straight for the relay is told, and gets the picture P2P instead.
    const viewer = await openChromium();
    await viewer.goto(`/#/watch/${code}?via=relay`);
    await waitForFrames(viewer, 'remote-video', 30_000);
    await expect.poll(async () => viewer.getByTestId('connection-type').textContent(), { timeout: 10_000 }).toContain('p2p');
    expect((await errorsSeen(viewer)).join(' | ')).toMatch(/cannot send through the server relay/i);
    await expectStatsPanel(broadcaster, 1, 'p2p');
  });

  it("a Firefox offer whose codecs setCodecPreferences narrowed plays in Chromium once sanitizeSdp drops Firefox's orphan lines", async () => {
    // What per-viewer codec choice does: the Firefox broadcaster offers VP8 only.
    const firefoxPage = await openFirefox();
    const chromiumPage = await openChromium();
    await Promise.all([firefoxPage.goto('/'), chromiumPage.goto('/')]);
    const offer = await firefoxPage.evaluate(async () => {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      (window as unknown as { __pc: RTCPeerConnection }).__pc = pc;
      const stream = await navigator.mediaDevices.getUserMedia({ video: true });
      const t = pc.addTransceiver(stream.getVideoTracks()[0]!, { direction: 'sendonly', streams: [stream] });
      t.setCodecPreferences(RTCRtpSender.getCapabilities('video')!.codecs.filter((c) => /^video\/(VP8|rtx|red|ulpfec)$/i.test(c.mimeType)));
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      });
      return pc.localDescription!.sdp;
    });
    const clean = sanitizeSdp(offer);
    expect(clean).not.toBe(offer);

    const result = await chromiumPage.evaluate(
      async ({ raw, clean }) => {
        let rawError = '';
        await new RTCPeerConnection().setRemoteDescription({ type: 'offer', sdp: raw }).catch((e: Error) => (rawError = e.message));
        const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
        (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.push(pc);
        await pc.setRemoteDescription({ type: 'offer', sdp: clean });
        await pc.setLocalDescription(await pc.createAnswer());
        await new Promise<void>((resolve) => {
          if (pc.iceGatheringState === 'complete') resolve();
          pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
        });
        return { rawError, answer: pc.localDescription!.sdp };
      },
      { raw: offer, clean },
    );
    // Firefox 153 ESR: "Failed to parse codecs correctly". Logged, not asserted: a
    // Firefox that stops leaving orphan lines would be good news, not a failure.
    console.log(`Chromium on Firefox's raw narrowed offer: ${result.rawError || 'accepted'}`);
    await firefoxPage.evaluate((answer) => (window as unknown as { __pc: RTCPeerConnection }).__pc.setRemoteDescription({ type: 'answer', sdp: answer }), result.answer);

    await expect
      .poll(
        () =>
          chromiumPage.evaluate(async () => {
            const pc = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.at(-1)!;
            let decoded = 0;
            (await pc.getStats()).forEach((s: Record<string, unknown>) => {
              if (s.type === 'inbound-rtp' && s.kind === 'video') decoded = Number(s.framesDecoded ?? 0);
            });
            return decoded;
          }),
        { timeout: 20_000 },
      )
      .toBeGreaterThan(10);
    expect(await wireCodec(chromiumPage, 'inbound')).toBe('VP8');
  });

  it('a Firefox viewer chats with a Chromium broadcaster, sees a network speed on P2P, and its watch page passes axe-core', async () => {
    const broadcaster = await openChromium();
    const code = await goLive(broadcaster, '480p', 'topology=p2p');
    const viewer = await openFirefox();
    await viewer.goto(`/#/watch/${code}`);
    await waitForFrames(viewer, 'remote-video');
    const messages = (page: Page) => page.evaluate(() => [...document.querySelectorAll('[data-testid=chat-message] .chat-text')].map((el) => el.textContent));

    await viewer.getByTestId('chat-input').fill('hello from Firefox <b>');
    await viewer.getByTestId('chat-send').click();
    await expect.poll(() => messages(broadcaster), { timeout: 5_000 }).toEqual(['hello from Firefox <b>']);
    await broadcaster.getByTestId('chat-input').fill('hi Firefox');
    await broadcaster.getByTestId('chat-send').click();
    await expect.poll(() => messages(viewer), { timeout: 5_000 }).toEqual(['hello from Firefox <b>', 'hi Firefox']);

    // Firefox gives no availableIncomingBitrate: the figure is the measured receive rate.
    await expect.poll(() => viewer.getByTestId('stat-network_speed').textContent(), { timeout: 10_000 }).toMatch(/\d/);
    // Picture-in-picture is offered exactly where the browser has the API (Firefox 153 has it; older ones do not).
    const pip = await viewer.evaluate(() => document.pictureInPictureEnabled === true && 'requestPictureInPicture' in HTMLVideoElement.prototype);
    expect(await viewer.getByTestId('pip').isVisible()).toBe(pip);
    await expectAccessible(viewer, 'the Firefox watch page, watching, with chat');
  });
});
