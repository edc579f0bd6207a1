// The SFU through the real app and real browsers: OBS's part played by a
// standard WHIP client (medooze's whip.js, no LiveRoom code, served from
// another origin so CORS is exercised: test/e2e/whip-clients.ts) publishing the
// fake camera with H.264 + Opus as OBS does, the OBS page of the app showing
// the URL and token and then the stream, and every kind of viewer getting
// moving video and sound — a standard WHEP player, LiveRoom in Chromium and in
// Firefox. Then AV1 and VP8, twenty viewers of one publisher, a stalled
// viewer, a publisher that reconnects, and browser broadcasters that publish
// to the SFU themselves.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool, createRoom, listedRooms } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { goLive, inboundAudio, instrumentPeerConnections, instrumentVideoFrames, numberIn, roomCode, videoState, waitForFrames } from './app.js';
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

/** A room for streaming software alone (the page that opened it is gone): the WHIP feed stands in as its broadcaster. */
async function softwareRoom(): Promise<{ roomId: string; token: string }> {
  const room = await createRoom(await pool.connect());
  await room.broadcaster.terminate();
  return room;
}
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
    // REMB, not transport-cc, drives the software's congestion control: its encoder is given a real
    // rate (1.7 Mbit/s at 640×360, measured), not the ~30 kbit/s it falls to without feedback.
    const target = () =>
      software.evaluate(async () => {
        const stats = [...(await (window as unknown as { pc: RTCPeerConnection }).pc.getStats()).values()] as Record<string, unknown>[];
        return Number(stats.find((s) => s.type === 'outbound-rtp' && s.kind === 'video')?.targetBitrate ?? 0);
      });
    await expect.poll(target, { timeout: 15_000 }).toBeGreaterThan(500_000);

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

  it('AV1 and VP8: a LiveRoom viewer in Chromium and one in Firefox each get the codec the software sends', async () => {
    for (const codec of ['AV1', 'VP8'] as const) {
      const room = await softwareRoom();
      await whipPublish(await clientPage(), whip(room.roomId), room.token, { codec, width: 320, height: 240 });
      const viewers = [await appPage(), await firefoxAppPage()];
      for (const viewer of viewers) {
        await viewer.goto(`/#/watch/${room.roomId}`);
        await waitForFrames(viewer, 'remote-video', 30_000);
        await expect.poll(() => viewer.getByTestId('connection-type').textContent(), { timeout: 10_000 }).toContain('sfu');
        await expect.poll(async () => (await inboundAudio(viewer)).bytes, { timeout: 10_000 }).toBeGreaterThan(0);
        await expect.poll(async () => viewer.getByTestId('stat-codec').textContent(), { timeout: 10_000 }).toContain(codec);
      }
      await Promise.all(contexts.splice(0).map((c) => c.close()));
    }
  });

  it('twenty viewers of one publisher all play, and one whose page stalls slows none of the others', async () => {
    const room = await softwareRoom();
    await whipPublish(await clientPage(), whip(room.roomId), room.token, { width: 320, height: 240 });
    const players = await clientPage();
    await whepPlay(players, whep(room.roomId), 19);
    const stalled = await clientPage();
    await whepPlay(stalled, whep(room.roomId));
    await expectPlaying(players);
    await expectPlaying(stalled);
    expect((await listedRooms(server.httpUrl)).get(room.roomId)).toBe(20);

    const frames = async () => (await inbound(players)).map((i) => i.frames);
    const before = await frames();
    const beforeAt = Date.now();
    // The stalled page's main thread is blocked for 3 s (its network keeps running in the browser).
    await stalled.evaluate(() => {
      const until = Date.now() + 3_000;
      while (Date.now() < until);
    });
    const after = await frames();
    const seconds = (Date.now() - beforeAt) / 1000;
    const rates = after.map((n, i) => (n - before[i]!) / seconds);
    console.log(`[sfu] 19 players while another page stalled ${seconds.toFixed(1)} s: fps min ${Math.min(...rates).toFixed(1)}, median ${rates.sort((a, b) => a - b)[9]!.toFixed(1)}`);
    // Every other viewer kept receiving pictures throughout (the camera sends 30 fps; two shared cores decode 20 streams).
    expect(Math.min(...rates)).toBeGreaterThan(5);
    await expectPlaying(stalled, (await inbound(stalled))[0]!.frames + 10);
  });

  it('the publisher drops and publishes again with the same token: viewers resume by themselves, on the same connections', async () => {
    const room = await softwareRoom();
    const software = await clientPage();
    await whipPublish(software, whip(room.roomId), room.token, { width: 320, height: 240 });
    const viewer = await appPage();
    await viewer.goto(`/#/watch/${room.roomId}`);
    await waitForFrames(viewer, 'remote-video', 30_000);
    const player = await clientPage();
    await whepPlay(player, whep(room.roomId));
    await expectPlaying(player);
    const connections = await viewer.evaluate(() => (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.length);

    // The software's connection dies without a DELETE (a crash, a network change), and it posts again.
    await software.evaluate(() => (window as unknown as { pc: RTCPeerConnection }).pc.close());
    const before = { viewer: (await videoState(viewer, 'remote-video')).frames, player: (await inbound(player))[0]!.frames };
    const start = Date.now();
    await whipPublish(software, whip(room.roomId), room.token, { width: 320, height: 240 });
    await expect.poll(async () => (await videoState(viewer, 'remote-video')).frames, { timeout: 3_000, interval: 50 }).toBeGreaterThan(before.viewer + 5);
    const viewerBack = Date.now() - start;
    await expect.poll(async () => (await inbound(player))[0]!.frames, { timeout: 3_000, interval: 50 }).toBeGreaterThan(before.player + 5);
    console.log(`[sfu] publisher replaced: LiveRoom viewer moving again ${viewerBack} ms after the new POST, the WHEP player ${Date.now() - start} ms`);
    expect(await viewer.evaluate(() => (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.length)).toBe(connections);
  });

  it('browser broadcasters publish to the SFU themselves: a Firefox broadcaster with topology=sfu, and viewers past the P2P cap', async () => {
    const firefoxBroadcaster = await firefoxAppPage();
    const code = await goLive(firefoxBroadcaster, '480p', 'topology=sfu');
    const viewers = [await appPage(), await appPage()];
    for (const viewer of viewers) await watchThroughSfu(viewer, code);
    await expect.poll(() => numberIn(firefoxBroadcaster, 'viewer-count'), { timeout: 10_000 }).toBe(2);
    await Promise.all(contexts.splice(0).map((c) => c.close()));

    // Chromium with one P2P viewer at most: the second viewer goes to the SFU, not the server relay.
    const broadcaster = await appPage();
    const capped = await goLive(broadcaster, '480p', 'p2p=1');
    const first = await appPage();
    await first.goto(`/#/watch/${capped}`);
    await waitForFrames(first, 'remote-video', 30_000);
    await expect.poll(() => first.getByTestId('connection-type').textContent(), { timeout: 10_000 }).toContain('p2p');
    await watchThroughSfu(await appPage(), capped);
    await expect.poll(async () => (await broadcaster.getByTestId('viewers-table').textContent()) ?? '', { timeout: 10_000 }).toContain('sfu');
  });
});
