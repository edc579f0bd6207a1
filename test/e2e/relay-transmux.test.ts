// The SFU's RTP → relay transmuxer against real bitstreams: RTP that Chromium
// sent (test/fixtures/rtp, captured by test/fixtures/capture-rtp.ts) goes
// through RelayTransmuxer, and the relay frames go to WebCodecs in real
// Chromium, configured the way the relay player (src/web/relay/player.ts)
// configures its decoders. Every frame must decode, at the size the config
// announces; with a packet lost, decoding must pick up again at the next
// keyframe, without a decoder error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { FrameKind } from '../../src/protocol/relay-frame.js';
import { serveBlankPage } from '../helpers/blank-page.js';
import { isVideo, loadFixture, mediaPacketAtQuarter, transmux, type FixtureName, type Transmuxed } from '../helpers/rtp-fixtures.js';
import { launchChromium } from './browser.js';

let browser: Browser;
let page: Page;
let blank: Awaited<ReturnType<typeof serveBlankPage>>;

beforeAll(async () => {
  blank = await serveBlankPage();
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('console', (msg) => msg.type() === 'error' && console.error(`[console] ${msg.text()}`));
  await page.goto(blank.url);
});
afterAll(async () => {
  await browser?.close();
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
