// The SFU through the real app and real browsers: OBS's part played by a
// standard WHIP client (medooze's whip.js, no LiveRoom code) publishing the
// fake camera with H.264 + Opus as OBS does, the OBS page of the app showing
// the URL and token and then the stream, and every kind of viewer getting
// moving video and sound — a standard WHEP player, LiveRoom in Chromium and in
// Firefox. Then AV1 and VP8, twenty viewers of one publisher, a stalled
// viewer, a publisher that reconnects, and browser broadcasters that publish
// to the SFU themselves.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool, listedRooms } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { inboundAudio, instrumentPeerConnections, instrumentVideoFrames, numberIn, roomCode, videoState, waitForFrames } from './app.js';
import { launchChromium, newPage } from './browser.js';
import { launchFirefox, newFirefoxPage } from './firefox.js';
import { inbound, openClientPage, startClientSite, whepPlay, whipPublish } from './whip-clients.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let server: RunningServer;
let site: Awaited<ReturnType<typeof startClientSite>>;
let chromium: Browser;
let firefox: Awaited<ReturnType<typeof launchFirefox>> | null = null;
const contexts: { close(): Promise<void> }[] = [];
const pool = new ClientPool(() => server.wsUrl);

beforeAll(async () => {
  server = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
  site = await startClientSite();
  chromium = await launchChromium();
});

// Fake devices are shared by every page of a browser: close a test's pages before the next.
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await pool.closeAll();
});

afterAll(async () => {
  await firefox?.close();
  await chromium?.close();
  await site?.close();
  await server?.close();
});

async function appPage(): Promise<Page> {
  const { context, page } = await newPage(chromium, server.httpUrl);
  await context.addInitScript(instrumentPeerConnections);
  await context.addInitScript(instrumentVideoFrames);
  contexts.push(context);
  return page;
}

async function firefoxAppPage(): Promise<Page> {
  firefox ??= await launchFirefox();
  const { context, pw } = await newFirefoxPage(firefox, server.httpUrl, [instrumentPeerConnections, instrumentVideoFrames]);
  contexts.push(context);
  return pw;
}

async function clientPage(): Promise<Page> {
  const { context, page } = await newPage(chromium, site.url);
  contexts.push(context);
  await openClientPage(page, site.url);
  return page;
}

const whip = (roomId: string) => `${server.httpUrl}/api/whip/${roomId}`;
const whep = (roomId: string) => `${server.httpUrl}/api/whep/${roomId}`;

/** Frames that keep coming in every one of the page's WHEP connections. */
async function expectPlaying(page: Page, atLeast = 10): Promise<void> {
  await expect.poll(async () => Math.min(...(await inbound(page)).map((i) => i.frames)), { timeout: 30_000 }).toBeGreaterThan(atLeast);
}

/** A LiveRoom viewer: the watch link, moving video, sound, and the path said to be the SFU. */
async function watchThroughSfu(viewer: Page, code: string): Promise<void> {
  await viewer.goto(`/#/watch/${code}`);
  await waitForFrames(viewer, 'remote-video', 30_000);
  await expect.poll(() => viewer.getByTestId('connection-type').textContent(), { timeout: 10_000 }).toContain('sfu');
  // Unmuted, it plays the fake microphone's beep: decoded audio has energy.
  await viewer.getByTestId('unmute').click();
  await expect.poll(async () => (await inboundAudio(viewer)).energy, { timeout: 10_000 }).toBeGreaterThan(0);
}

describe('the SFU in real browsers', () => {
  it('OBS mode: a standard WHIP client sends H.264 + Opus; a WHEP player and LiveRoom viewers in Chromium and Firefox all play it', async () => {
    // The broadcaster opens the OBS page from the broadcast set-up: it shows the URL and token to paste.
    const obs = await appPage();
    await obs.goto('/#/broadcast');
    await obs.getByTestId('whip-mode').click();
    await expect.poll(() => obs.getByTestId('whip-url').inputValue(), { timeout: 10_000 }).toMatch(/^http:\/\/.+\/api\/whip\/\d{6}$/);
    const url = await obs.getByTestId('whip-url').inputValue();
    const token = await obs.getByTestId('whip-token').inputValue();
    const code = await roomCode(obs);
    expect(url).toBe(whip(code));

    const software = await clientPage();
    await whipPublish(software, url, token, { codec: 'H264' });
    // The page previews the stream as viewers get it.
    await waitForFrames(obs, 'local-video', 30_000);

    const player = await clientPage();
    await whepPlay(player, whep(code));
    await expectPlaying(player);
    const [played] = await inbound(player);
    expect(played!.codec).toBe('video/H264');
    expect(played!.audioBytes).toBeGreaterThan(0);

    await watchThroughSfu(await appPage(), code);
    // Firefox plays H.264 only where it has a decoder for it (ESR 140 here does over RTP; ESR 153, without
    // OpenH264, has none, nor in WebCodecs): then it plays the sound and says why there is no picture.
    const firefoxViewer = await firefoxAppPage();
    await firefoxViewer.goto(`/#/watch/${code}`);
    const decodesH264 = await firefoxViewer.evaluate(() => RTCRtpReceiver.getCapabilities('video')!.codecs.some((c) => /h264/i.test(c.mimeType)));
    if (decodesH264) await waitForFrames(firefoxViewer, 'remote-video', 30_000);
    else await expect.poll(() => firefoxViewer.getByTestId('error-message').textContent(), { timeout: 15_000 }).toMatch(/cannot decode/i);
    await expect.poll(async () => (await inboundAudio(firefoxViewer)).bytes, { timeout: 10_000 }).toBeGreaterThan(0);
    console.log(`[sfu] Firefox viewer of an H.264 WHIP room: ${decodesH264 ? 'video and sound' : 'sound, and told it cannot decode the video'}`);

    await expect.poll(() => numberIn(obs, 'viewer-count'), { timeout: 10_000 }).toBe(3);
    expect(await numberIn(obs, 'bitrate')).toBeGreaterThan(50);

    // The room lives on with its WHIP session when the page that opened it closes.
    await obs.close();
    await obs.context().close();
    const later = await appPage();
    await watchThroughSfu(later, code);
    expect((await listedRooms(server.httpUrl)).get(code)).toBe(4);
  });
});

