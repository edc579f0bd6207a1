// Standard WHIP and WHEP clients in real Chromium against the SFU: medooze's
// WHIPClient publishes the fake camera and microphone, WHEPClient plays them in
// another page, and the picture moves. The page comes from another origin than
// the server (as a browser-based WHIP client's would), so CORS is exercised,
// and it holds no LiveRoom code: whip.js and whep.js as npm ships them.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClientPool, createRoom } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { metric } from '../helpers/sfu-peers.js';
import { launchChromium, newPage } from './browser.js';

const CLIENTS = path.resolve(import.meta.dirname, '../../node_modules/whip-whep');
const PAGE = `<!doctype html><meta charset="utf-8"><title>whip/whep</title>
<video id="v" autoplay muted playsinline></video>
<script type="module">
  import { WHIPClient } from './whip.js';
  import { WHEPClient } from './whep.js';
  Object.assign(window, { WHIPClient, WHEPClient, clientsLoaded: true });
</script>`;

let server: RunningServer;
let site: Server;
let siteUrl: string;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pool = new ClientPool(() => server.wsUrl);

beforeAll(async () => {
  server = await startServer();
  // The clients' page, on another origin (localhost is a secure context, so the camera is allowed).
  site = createServer((req, res) => {
    const file = req.url === '/whip.js' || req.url === '/whep.js' ? readFileSync(path.join(CLIENTS, req.url)) : null;
    res.writeHead(200, { 'Content-Type': file ? 'text/javascript' : 'text/html' });
    res.end(file ?? PAGE);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://localhost:${(site.address() as AddressInfo).port}/`;
  browser = await launchChromium();
});

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await browser?.close();
  await pool.closeAll();
  await server?.close();
  await new Promise((resolve) => site?.close(resolve));
});

async function clientPage(): Promise<Page> {
  const { context, page } = await newPage(browser, siteUrl);
  contexts.push(context);
  await page.goto(siteUrl);
  await page.waitForFunction(() => (window as unknown as { clientsLoaded?: boolean }).clientsLoaded === true);
  return page;
}

/** The page's inbound video: frames decoded so far, its size and codec. */
async function inboundVideo(page: Page): Promise<{ frames: number; width: number; codec: string }> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
    const stats = [...(await pc.getStats()).values()] as Record<string, unknown>[];
    const video = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    const codec = stats.find((s) => s.type === 'codec' && s.id === video?.codecId);
    return { frames: Number(video?.framesDecoded ?? 0), width: Number(video?.frameWidth ?? 0), codec: String(codec?.mimeType ?? '') };
  });
}

it('WHIPClient publishes the camera to a room and WHEPClient plays it: the picture moves, through the SFU', async () => {
  const room = await createRoom(await pool.connect());
  const publisher = await clientPage();
  await publisher.evaluate(
    async ({ url, token }) => {
      const w = window as unknown as { WHIPClient: new () => { publish(pc: RTCPeerConnection, url: string, token: string): Promise<void> }; pc: RTCPeerConnection };
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
      const pc = new RTCPeerConnection();
      for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      w.pc = pc;
      await new w.WHIPClient().publish(pc, url, token);
    },
    { url: `${server.httpUrl}/api/whip/${room.roomId}`, token: room.token },
  );
  await room.broadcaster.next('sfu_feed', { where: (m) => m.live, timeoutMs: 10_000 });

  const viewer = await clientPage();
  await viewer.evaluate(async (url) => {
    const w = window as unknown as { WHEPClient: new () => { view(pc: RTCPeerConnection, url: string): Promise<void> }; pc: RTCPeerConnection };
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = (e) => {
      (document.getElementById('v') as HTMLVideoElement).srcObject = e.streams[0]!;
    };
    w.pc = pc;
    await new w.WHEPClient().view(pc, url);
  }, `${server.httpUrl}/api/whep/${room.roomId}`);

  // Chromium sends no keyframe by itself: the viewer's first picture needs the SFU's request to reach it.
  await expect.poll(async () => (await inboundVideo(viewer)).frames, { timeout: 30_000 }).toBeGreaterThan(10);
  const first = await inboundVideo(viewer);
  await expect.poll(async () => (await inboundVideo(viewer)).frames, { timeout: 15_000 }).toBeGreaterThan(first.frames + 30);
  expect(first.width).toBe(640);
  // A browser publisher offering everything publishes AV1, the best of AV1 > VP9 > VP8 > H.264.
  expect(first.codec).toBe('video/AV1');
  // The player counts as a viewer of the room.
  expect(server.server.rooms.get(room.roomId)?.viewers.size).toBe(1);
  expect(await metric(server.httpUrl, 'liveroom_sfu_peer_connections')).toBe(2);
  // REMB, not transport-cc, drives the publisher's congestion control: its encoder is given a real
  // rate (measured: 1.7 Mbit/s at 640x360), not the ~30 kbit/s it falls to without feedback.
  const target = () =>
    publisher.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      const stats = [...(await pc.getStats()).values()] as Record<string, unknown>[];
      return Number(stats.find((s) => s.type === 'outbound-rtp' && s.kind === 'video')?.targetBitrate ?? 0);
    });
  await expect.poll(target, { timeout: 15_000 }).toBeGreaterThan(500_000);
});
