// How fast a 720p camera stream reaches 1280×720 at the receiver, and what
// frame rate it keeps, for each RTCRtpSender degradationPreference: a raw
// RTCPeerConnection pair in one Chromium page (loopback, no bandwidth limit),
// the fake camera at 1280×720/30, maxBitrate 2.5 Mbit/s (the 720p preset).
//
//   npm run build && npx tsx bench/degradation.ts        (~3 minutes)
//
// DEGRADATION_SECONDS (default 20) per case; DEGRADATION_CODECS (default AV1,VP8).
import path from 'node:path';
import { launchChromium, newPage } from '../test/e2e/browser.js';
import { startServer } from '../test/helpers/server.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env.DEGRADATION_SECONDS ?? 20);
const CODECS = (process.env.DEGRADATION_CODECS ?? 'AV1,VP8').split(',');
const PREFS = ['(unset, contentHint motion)', 'maintain-framerate', 'balanced', 'maintain-resolution'];

interface Trace {
  firstFullMs: number | null;
  heights: number[];
  fps: number[];
  sentKbps: number[];
}

async function main(): Promise<void> {
  const server = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
  const browser = await launchChromium();
  try {
    const { context, page } = await newPage(browser, server.httpUrl);
    // tsx compiles with keepNames, which wraps named functions in __name(); page functions need it.
    await context.addInitScript('globalThis.__name = (f) => f;');
    await page.goto('/#/');
    for (const codec of CODECS) {
      for (const pref of PREFS) {
        const t: Trace = await page.evaluate(
          async ({ codec, pref, seconds }) => {
            const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 } });
            const track = stream.getVideoTracks()[0]!;
            track.contentHint = 'motion';
            const a = new RTCPeerConnection();
            const b = new RTCPeerConnection();
            a.onicecandidate = (e) => e.candidate && void b.addIceCandidate(e.candidate);
            b.onicecandidate = (e) => e.candidate && void a.addIceCandidate(e.candidate);
            const tr = a.addTransceiver(track, { direction: 'sendonly', sendEncodings: [{ maxBitrate: 2_500_000 }] });
            const caps = RTCRtpSender.getCapabilities('video')!.codecs;
            tr.setCodecPreferences([...caps.filter((c) => c.mimeType === `video/${codec}`), ...caps.filter((c) => !c.mimeType.startsWith('video/') || /rtx|red|ulpfec/i.test(c.mimeType))]);
            if (!pref.startsWith('(')) {
              const p = tr.sender.getParameters();
              p.degradationPreference = pref as RTCDegradationPreference;
              await tr.sender.setParameters(p);
            }
            await a.setLocalDescription(await a.createOffer());
            await b.setRemoteDescription(a.localDescription!);
            await b.setLocalDescription(await b.createAnswer());
            await a.setRemoteDescription(b.localDescription!);
            const start = performance.now();
            const out = { firstFullMs: null as number | null, heights: [] as number[], fps: [] as number[], sentKbps: [] as number[] };
            let lastBytes = 0;
            for (let i = 0; i < seconds * 4; i++) {
              await new Promise((r) => setTimeout(r, 250));
              let h = 0;
              let fps = 0;
              let bytes = 0;
              (await b.getStats()).forEach((s: Record<string, unknown>) => {
                if (s.type === 'inbound-rtp' && s.kind === 'video') {
                  h = Number(s.frameHeight ?? 0);
                  fps = Number(s.framesPerSecond ?? 0);
                }
              });
              (await a.getStats()).forEach((s: Record<string, unknown>) => {
                if (s.type === 'outbound-rtp' && s.kind === 'video') bytes += Number(s.bytesSent ?? 0);
              });
              if (h >= 720 && out.firstFullMs === null) out.firstFullMs = Math.round(performance.now() - start);
              if (i % 4 === 3) {
                out.heights.push(h);
                out.fps.push(Math.round(fps));
                out.sentKbps.push(Math.round(((bytes - lastBytes) * 8) / 1000));
                lastBytes = bytes;
              }
            }
            a.close();
            b.close();
            track.stop();
            return out;
          },
          { codec, pref, seconds: SECONDS },
        );
        const meanFps = t.fps.slice(2).reduce((s, v) => s + v, 0) / Math.max(1, t.fps.length - 2);
        console.log(
          `${codec} ${pref}: first 1280x720 frame at ${t.firstFullMs ?? 'never'} ms; mean fps (s 3-${SECONDS}) ${meanFps.toFixed(1)}\n` +
            `   height/s ${t.heights.join(' ')}\n   fps/s    ${t.fps.join(' ')}\n   kbit/s   ${t.sentKbps.join(' ')}`,
        );
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
