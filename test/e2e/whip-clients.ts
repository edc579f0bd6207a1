// Standard WHIP and WHEP clients in real browser pages, with no LiveRoom code:
// medooze's whip.js and whep.js as npm ships them (dev dependency whip-whep),
// on a page served from another origin than the server, as a browser-based
// client's page would be (so CORS is exercised).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';

const CLIENTS = path.resolve(import.meta.dirname, '../../node_modules/whip-whep');
const PAGE = `<!doctype html><meta charset="utf-8"><title>whip/whep</title>
<video id="v" autoplay muted playsinline></video>
<script type="module">
  import { WHIPClient } from './whip.js';
  import { WHEPClient } from './whep.js';
  Object.assign(window, { WHIPClient, WHEPClient, clientsLoaded: true });
</script>`;

/** The clients' site on localhost (a secure context: the camera is allowed). */
export async function startClientSite(): Promise<{ url: string; close(): Promise<void> }> {
  const site: Server = createServer((req, res) => {
    const file = req.url === '/whip.js' || req.url === '/whep.js' ? readFileSync(path.join(CLIENTS, req.url)) : null;
    res.writeHead(200, { 'Content-Type': file ? 'text/javascript' : 'text/html' });
    res.end(file ?? PAGE);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://localhost:${(site.address() as AddressInfo).port}/`,
    close: () => new Promise((resolve) => site.close(() => resolve())),
  };
}

export async function openClientPage(page: Page, siteUrl: string): Promise<void> {
  await page.goto(siteUrl);
  await page.waitForFunction(() => (window as unknown as { clientsLoaded?: boolean }).clientsLoaded === true);
}

export interface PublishOptions {
  /** Offer only this video codec (as OBS does with H.264), else everything the browser sends. */
  codec?: 'H264' | 'VP8' | 'VP9' | 'AV1';
  width?: number;
  height?: number;
}

/** WHIPClient publishes the fake camera and microphone; `window.pc` is its connection. */
export async function whipPublish(page: Page, url: string, token: string, options: PublishOptions = {}): Promise<void> {
  await page.evaluate(
    async ({ url, token, codec, width, height }) => {
      const w = window as unknown as { WHIPClient: new () => { publish(pc: RTCPeerConnection, url: string, token: string): Promise<void> }; pc: RTCPeerConnection; stream?: MediaStream };
      w.stream ??= await navigator.mediaDevices.getUserMedia({ video: { width, height }, audio: true });
      const pc = new RTCPeerConnection();
      for (const track of w.stream.getTracks()) {
        const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [w.stream] });
        if (codec && track.kind === 'video') {
          const wanted = new RegExp(`^video/(${codec}|rtx)$`, 'i');
          t.setCodecPreferences(RTCRtpSender.getCapabilities('video')!.codecs.filter((c) => wanted.test(c.mimeType)));
        }
      }
      w.pc = pc;
      await new w.WHIPClient().publish(pc, url, token);
    },
    { url, token, codec: options.codec ?? null, width: options.width ?? 640, height: options.height ?? 360 },
  );
}

/** WHEPClient plays into the page's video; `window.pc` is its connection, `window.pcs` every one it made. */
export async function whepPlay(page: Page, url: string, count = 1): Promise<void> {
  await page.evaluate(
    async ({ url, count }) => {
      const w = window as unknown as { WHEPClient: new () => { view(pc: RTCPeerConnection, url: string): Promise<void> }; pc: RTCPeerConnection; pcs: RTCPeerConnection[] };
      w.pcs ??= [];
      for (let i = 0; i < count; i++) {
        const pc = new RTCPeerConnection();
        pc.addTransceiver('video', { direction: 'recvonly' });
        pc.addTransceiver('audio', { direction: 'recvonly' });
        if (w.pcs.length === 0) {
          pc.ontrack = (e) => {
            (document.getElementById('v') as HTMLVideoElement).srcObject = e.streams[0]!;
          };
        }
        w.pc = pc;
        w.pcs.push(pc);
        await new w.WHEPClient().view(pc, url);
      }
    },
    { url, count },
  );
}

export interface Inbound {
  frames: number;
  width: number;
  codec: string;
  audioBytes: number;
}

/** What each of the page's WHEP connections (or its one `pc`) has decoded. */
export async function inbound(page: Page): Promise<Inbound[]> {
  return page.evaluate(async () => {
    const w = window as unknown as { pc: RTCPeerConnection; pcs?: RTCPeerConnection[] };
    const out: { frames: number; width: number; codec: string; audioBytes: number }[] = [];
    for (const pc of w.pcs ?? [w.pc]) {
      const stats = [...(await pc.getStats()).values()] as Record<string, unknown>[];
      const video = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
      const audio = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
      const codec = stats.find((s) => s.type === 'codec' && s.id === video?.codecId);
      out.push({ frames: Number(video?.framesDecoded ?? 0), width: Number(video?.frameWidth ?? 0), codec: String(codec?.mimeType ?? ''), audioBytes: Number(audio?.bytesReceived ?? 0) });
    }
    return out;
  });
}
