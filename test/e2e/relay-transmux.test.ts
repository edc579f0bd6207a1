// The SFU's RTP → relay transmuxer against real bitstreams: RTP that Chromium
// sent (test/fixtures/rtp, captured by test/fixtures/capture-rtp.ts) goes
// through RelayTransmuxer, and the relay frames go to WebCodecs in real
// Chromium, configured the way the relay player (src/web/relay/player.ts)
// configures its decoders. Every frame must decode, at the size the config
// announces; with a packet lost, decoding must pick up again at the next
// keyframe, without a decoder error. Last, the H.264 and Opus capture goes,
// in real time, through the relay hub to the app's own relay player.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { FrameKind } from '../../src/protocol/relay-frame.js';
import { RelayTransmuxer } from '../../src/server/sfu/relay-transmux.js';
import { serveBlankPage } from '../helpers/blank-page.js';
import { ClientPool, createRoom } from '../helpers/client.js';
import { RelayPublisherPeer } from '../helpers/relay.js';
import { isVideo, loadFixture, mediaPacketAtQuarter, transmux, type Transmuxed } from '../helpers/rtp-fixtures.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { launchChromium, newPage } from './browser.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let browser: Browser;
let page: Page;
let blank: Awaited<ReturnType<typeof serveBlankPage>>;
let server: RunningServer;
const pool = new ClientPool(() => server.wsUrl);

beforeAll(async () => {
  blank = await serveBlankPage();
  server = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('console', (msg) => msg.type() === 'error' && console.error(`[console] ${msg.text()}`));
  await page.goto(blank.url);
});
afterAll(async () => {
  await pool.closeAll();
  await browser?.close();
  await server?.close();
  await blank?.close();
});

interface Decoded {
  /** Decoded video frames: size and timestamp; decoded audio chunks. */
  pictures: { width: number; height: number; timestamp: number }[];
  audio: { sampleRate: number; frames: number }[];
  configs: Record<string, unknown>[];
  errors: string[];
}

/** Decodes relay frames in the page, in order, as the relay player would; waits for every output. */
function decodeInPage(frames: string[]): Promise<Decoded> {
  return page.evaluate(async (encoded) => {
    const out: Decoded = { pictures: [], audio: [], configs: [], errors: [] };
    const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    let video: VideoDecoder | null = null;
    let audio: AudioDecoder | null = null;
    const error = (e: DOMException) => void out.errors.push(`${e.name}: ${e.message}`);
    for (const frame of encoded.map(bytes)) {
      const view = new DataView(frame.buffer);
      const [kind, flags] = [frame[1]!, frame[2]!];
      const timestamp = Number(view.getBigInt64(4));
      const duration = view.getUint32(12);
      const payload = frame.subarray(24);
      if (kind === 3 || kind === 4) {
        const config = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
        out.configs.push(config);
        // As RelayPlayer.configureVideo / configureAudio do.
        const { codecName: _name, description, ...rest } = config;
        const full = { ...rest, ...(description ? { description: bytes(description as string) } : {}) };
        if (kind === 3) {
          await video?.flush().catch(() => undefined);
          video?.close();
          video = new VideoDecoder({
            output: (f) => {
              out.pictures.push({ width: f.displayWidth, height: f.displayHeight, timestamp: f.timestamp });
              f.close();
            },
            error,
          });
          video.configure({ ...(full as unknown as VideoDecoderConfig), optimizeForLatency: true });
        } else {
          audio = new AudioDecoder({
            output: (d) => {
              out.audio.push({ sampleRate: d.sampleRate, frames: d.numberOfFrames });
              d.close();
            },
            error,
          });
          audio.configure(full as unknown as AudioDecoderConfig);
        }
      } else if (kind === 1) {
        video!.decode(new EncodedVideoChunk({ type: flags & 1 ? 'key' : 'delta', timestamp, duration, data: payload }));
      } else {
        audio!.decode(new EncodedAudioChunk({ type: 'key', timestamp, duration, data: payload }));
      }
    }
    await Promise.all([video?.flush(), audio?.flush()].map((p) => p?.catch(() => undefined)));
    return out;
  }, frames);
}

const b64 = (t: Transmuxed) => t.frames.map((f) => Buffer.from(f).toString('base64'));

describe('RTP from Chromium, transmuxed to relay frames, decodes in Chromium', () => {
  for (const [name, codecName] of [['h264', 'H264'], ['vp8', 'VP8'], ['vp9', 'VP9'], ['av1', 'AV1']] as const) {
    it(`${codecName}: every frame decodes at the announced size`, async () => {
      const relay = transmux(loadFixture(name));
      const sent = relay.headers.filter(isVideo);
      const decoded = await decodeInPage(b64(relay));
      console.log(`${codecName}: ${sent.length} frames (${sent.filter((h) => h.keyframe).length} keyframes) sent, ${decoded.pictures.length} decoded; config ${JSON.stringify(decoded.configs)}`);
      expect(decoded.errors).toEqual([]);
      expect(decoded.configs).toEqual([expect.objectContaining({ codecName, codedWidth: 320, codedHeight: 240 })]);
      expect(sent.length).toBeGreaterThan(60); // ~3 s at 30 fps, less what the encoder skipped
      expect(decoded.pictures.length).toBe(sent.length);
      expect(new Set(decoded.pictures.map((p) => `${p.width}x${p.height}`))).toEqual(new Set(['320x240']));
      expect(decoded.pictures.map((p) => p.timestamp)).toEqual(sent.map((h) => h.timestampUs));
      expect(relay.keyframeRequests).toBe(0);
    });

    it(`${codecName}: after a lost packet, frames stop until the next keyframe, and that one decodes`, async () => {
      const fixture = loadFixture(name);
      const whole = transmux(fixture).headers.filter(isVideo);
      const relay = transmux(fixture, [mediaPacketAtQuarter(fixture)]);
      const sent = relay.headers.filter(isVideo);
      const decoded = await decodeInPage(b64(relay));
      // The frames that went out are the undamaged run's, up to the loss and again from the keyframe on.
      const place = new Map(whole.map((h, i) => [h.timestampUs, i]));
      const resumedAt = sent.findIndex((h, i) => i > 0 && place.get(h.timestampUs) !== place.get(sent[i - 1]!.timestampUs)! + 1);
      console.log(`${codecName} with a packet lost: ${sent.length} of ${whole.length} frames sent, resumed at frame ${resumedAt}, ${decoded.pictures.length} decoded, ${relay.keyframeRequests} keyframe request(s)`);
      expect(sent.every((h) => place.has(h.timestampUs))).toBe(true);
      expect(sent.length).toBeLessThan(whole.length);
      expect(resumedAt).toBeGreaterThan(0);
      expect(sent[resumedAt]!.keyframe).toBe(true);
      expect(relay.keyframeRequests).toBeGreaterThanOrEqual(1);
      expect(decoded.errors).toEqual([]);
      expect(decoded.pictures.length).toBe(sent.length);
      expect(decoded.pictures.at(-1)!.timestamp).toBe(sent.at(-1)!.timestampUs);
    });
  }

  it('Opus: every packet decodes, 20 ms at 48 kHz', async () => {
    const relay = transmux(loadFixture('opus'));
    const sent = relay.headers.filter((h) => h.kind === FrameKind.audio);
    const decoded = await decodeInPage(b64(relay));
    console.log(`Opus: ${sent.length} packets sent, ${decoded.audio.length} decoded`);
    expect(decoded.errors).toEqual([]);
    expect(decoded.configs).toEqual([{ codec: 'opus', sampleRate: 48_000, numberOfChannels: 2 }]);
    expect(sent.length).toBeGreaterThan(140);
    expect(decoded.audio.length).toBe(sent.length);
    expect(new Set(sent.map((h) => h.durationUs))).toEqual(new Set([20_000]));
    expect(new Set(decoded.audio.map((a) => `${a.sampleRate}/${a.frames}`))).toEqual(new Set(['48000/960']));
  });
});

/** Counts what the page's WebCodecs decoders put out, and their errors, around the app's own use of them. */
function instrumentDecoders(): void {
  const counts = { video: 0, audio: 0, errors: [] as string[], sizes: [] as string[] };
  (window as unknown as { __decoded: typeof counts }).__decoded = counts;
  const NativeVideo = window.VideoDecoder;
  window.VideoDecoder = class extends NativeVideo {
    constructor(init: VideoDecoderInit) {
      super({
        output: (frame) => {
          counts.video++;
          counts.sizes.push(`${frame.displayWidth}x${frame.displayHeight}`);
          init.output(frame);
        },
        error: (e) => {
          counts.errors.push(e.message);
          init.error(e);
        },
      });
    }
  } as typeof VideoDecoder;
  const NativeAudio = window.AudioDecoder;
  window.AudioDecoder = class extends NativeAudio {
    constructor(init: AudioDecoderInit) {
      super({
        output: (data) => {
          counts.audio++;
          init.output(data);
        },
        error: (e) => {
          counts.errors.push(e.message);
          init.error(e);
        },
      });
    }
  } as typeof AudioDecoder;
}

describe('through the relay hub to the relay player', () => {
  it('H.264 and Opus from RTP play in the watch page (?via=relay), every video frame decoded, the codec shown', async () => {
    const room = await createRoom(await pool.connect());
    const publisher = await RelayPublisherPeer.connect(`ws://127.0.0.1:${server.port}`, room.roomId, room.token);
    const { context, page: viewer } = await newPage(browser, server.httpUrl);
    try {
      await context.addInitScript(instrumentDecoders);
      await viewer.goto(`/#/watch/${room.roomId}?via=relay`);
      await expect.poll(() => server.server.relay.viewerCount(room.roomId), { timeout: 15_000 }).toBe(1);

      // The capture in real time, video and audio interleaved as they arrived.
      const [video, audio] = [loadFixture('h264'), loadFixture('opus')];
      const packets = [...video.packets.map((p) => ({ ...p, track: video.track })), ...audio.packets.map((p) => ({ ...p, track: audio.track }))].sort((a, b) => a.offsetMs - b.offsetMs);
      let videoFrames = 0;
      const transmuxer = new RelayTransmuxer(
        (frame) => {
          if (frame[1] === FrameKind.video) videoFrames++;
          void publisher.send(Buffer.from(frame));
        },
        () => undefined,
      );
      const start = Date.now();
      for (const p of packets) {
        const wait = start + p.offsetMs - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        transmuxer.push(p.track, p.data);
      }

      const decoded = () => viewer.evaluate(() => (window as unknown as { __decoded: { video: number; audio: number; errors: string[]; sizes: string[] } }).__decoded);
      await expect.poll(async () => (await decoded()).video, { timeout: 10_000 }).toBe(videoFrames);
      const result = await decoded();
      console.log(`relay player: ${result.video} of ${videoFrames} video frames decoded, ${result.audio} audio chunks; hub dropped ${server.server.relay.counters.framesDropped}`);
      expect(result.errors).toEqual([]);
      expect(new Set(result.sizes)).toEqual(new Set(['320x240']));
      expect(result.audio).toBeGreaterThan(0);
      expect(await viewer.getByTestId('remote-video').evaluate((el) => el.tagName)).toBe('CANVAS');
      await expect.poll(() => viewer.getByTestId('stat-codec').textContent(), { timeout: 5_000 }).toBe('H264');
      expect(await viewer.getByTestId('stat-resolution').textContent()).toBe('320×240');
    } finally {
      publisher.close();
      await context.close();
    }
  });
});
