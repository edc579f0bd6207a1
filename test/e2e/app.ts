// Driving the LiveRoom web app the way a person does, through its data-testid hooks.
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import type { VideoCodec } from '../../src/protocol/messages.js';
import { codecsIn, VIDEO_CODEC_ORDER } from '../../src/web/rtc/codecs.js';

/** Records every RTCPeerConnection a page creates, so tests can read getStats and count reconnections. */
export function instrumentPeerConnections(): void {
  const Native = window.RTCPeerConnection;
  const created: RTCPeerConnection[] = [];
  (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs = created;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      created.push(this);
    }
  } as typeof RTCPeerConnection;
}

/**
 * Taps every audio graph that reaches the speakers (the relay player's
 * AudioContext), so tests can measure the sound a canvas-rendered relay plays.
 */
export function instrumentAudioOutput(): void {
  const taps: AnalyserNode[] = [];
  (window as unknown as { __audioTaps: AnalyserNode[] }).__audioTaps = taps;
  const connect = AudioNode.prototype.connect as (this: AudioNode, ...args: unknown[]) => unknown;
  AudioNode.prototype.connect = function (this: AudioNode, ...args: unknown[]) {
    if (args[0] instanceof AudioDestinationNode) {
      // Chromium pulls an AnalyserNode even when it leads nowhere.
      const tap = this.context.createAnalyser();
      connect.call(this, tap);
      taps.push(tap);
    }
    return connect.apply(this, args);
  } as typeof AudioNode.prototype.connect;
}

/** Records the wall-clock time of every video frame a page presents, so tests can time when video comes back. */
export function instrumentVideoFrames(): void {
  const w = window as unknown as { __lastFrameAt: number };
  w.__lastFrameAt = 0;
  const watchVideo = (video: HTMLVideoElement) => {
    const onFrame = () => {
      w.__lastFrameAt = Date.now();
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  new MutationObserver(() => {
    for (const v of document.querySelectorAll<HTMLVideoElement>('video:not([data-frames-watched])')) {
      v.dataset.framesWatched = '1';
      watchVideo(v);
    }
  }).observe(document, { childList: true, subtree: true });
}

/** Wait for a video frame presented after `since` (epoch ms, this machine's clock); returns when it came. */
export async function frameAfter(page: Page, since: number, timeout = 20_000): Promise<number> {
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { __lastFrameAt?: number }).__lastFrameAt ?? 0), { timeout, interval: 50 })
    .toBeGreaterThan(since);
  return page.evaluate(() => (window as unknown as { __lastFrameAt: number }).__lastFrameAt);
}

export async function pcCount(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs?.length ?? 0);
}

export async function roomCode(page: Page): Promise<string> {
  const code = page.getByTestId('room-code');
  await expect.poll(async () => (await code.textContent())?.trim(), { timeout: 15_000 }).toMatch(/^\d{6}$/);
  return (await code.textContent())!.trim();
}

/** Go live from the front page, or with broadcast options (e.g. `topology=p2p`) straight from the URL. */
export async function goLive(page: Page, quality: '480p' | '720p' | '1080p' = '480p', options = ''): Promise<string> {
  if (options) {
    await page.goto(`/#/broadcast?${options}`);
  } else {
    await page.goto('/');
    await page.getByTestId('start-broadcast').click();
  }
  await page.getByTestId('quality-select').selectOption(quality);
  await expect.poll(() => videoHeight(page, 'local-video'), { timeout: 15_000 }).toBe(Number(quality.slice(0, -1)));
  await page.getByTestId('go-live').click();
  return roomCode(page);
}

/** Watch through the front page, typing the code; returns ms from the click on Enter to the first frame. */
export async function watch(page: Page, code: string): Promise<number> {
  await page.goto('/');
  await page.getByTestId('watch-broadcast').click();
  await page.getByTestId('room-input').fill(code);
  await page.evaluate(() => {
    const w = window as unknown as { __firstFrameAt?: number; __joinClickAt?: number };
    document.querySelector('[data-testid=join]')!.addEventListener('click', () => (w.__joinClickAt = performance.now()), { once: true });
    const video = document.querySelector<HTMLVideoElement>('[data-testid=remote-video]')!;
    video.requestVideoFrameCallback(() => (w.__firstFrameAt = performance.now()));
  });
  await page.getByTestId('join').click();
  await waitForFrames(page, 'remote-video');
  return page.evaluate(() => {
    const w = window as unknown as { __firstFrameAt: number; __joinClickAt: number };
    return Math.round(w.__firstFrameAt - w.__joinClickAt);
  });
}

export interface VideoState {
  width: number;
  height: number;
  frames: number;
  time: number;
  audioTracks: number;
  videoTracks: number;
}

/**
 * The picture of a <video>, or of the relay player's <canvas> (frames from
 * the counter it keeps in data-frames; "time" is that count too).
 */
export async function videoState(page: Page, testid: string): Promise<VideoState> {
  return page.evaluate((id) => {
    const el = document.querySelector(`[data-testid=${id}]`);
    if (el instanceof HTMLCanvasElement) {
      const frames = Number(el.dataset.frames ?? 0);
      return { width: el.width, height: el.height, frames, time: frames, audioTracks: 0, videoTracks: 1 };
    }
    const v = el as HTMLVideoElement | null;
    const stream = v?.srcObject as MediaStream | null;
    return {
      width: v?.videoWidth ?? 0,
      height: v?.videoHeight ?? 0,
      // Firefox counts nothing in getVideoPlaybackQuality() for a MediaStream
      // (totalVideoFrames stays 0); its mozPaintedFrames counts the frames shown.
      frames: v?.getVideoPlaybackQuality().totalVideoFrames || ((v as { mozPaintedFrames?: number } | null)?.mozPaintedFrames ?? 0),
      time: v?.currentTime ?? 0,
      audioTracks: stream?.getAudioTracks().length ?? 0,
      videoTracks: stream?.getVideoTracks().length ?? 0,
    };
  }, testid);
}

export async function videoHeight(page: Page, testid: string): Promise<number> {
  return (await videoState(page, testid)).height;
}

/** Wait until the video shows frames, then check that they keep advancing. */
export async function waitForFrames(page: Page, testid: string, timeout = 20_000): Promise<VideoState> {
  await expect.poll(async () => (await videoState(page, testid)).frames, { timeout }).toBeGreaterThan(0);
  return expectAdvancing(page, testid);
}

export async function expectAdvancing(page: Page, testid: string, ms = 1_500): Promise<VideoState> {
  const before = await videoState(page, testid);
  await page.waitForTimeout(ms);
  const after = await videoState(page, testid);
  expect(after.frames, `${testid} frames advance`).toBeGreaterThan(before.frames + 5);
  expect(after.time).toBeGreaterThan(before.time);
  return after;
}

/** Audio the viewer received: bytes and the energy of the decoded signal (the fake microphone beeps). */
export async function inboundAudio(page: Page): Promise<{ bytes: number; energy: number }> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter((pc) => pc.connectionState !== 'closed');
    let bytes = 0;
    let energy = 0;
    for (const pc of pcs) {
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          bytes += Number(s.bytesReceived ?? 0);
          energy += Number(s.totalAudioEnergy ?? 0);
        }
      });
    }
    return { bytes, energy };
  });
}

export async function numberIn(page: Page, testid: string): Promise<number> {
  const text = (await page.getByTestId(testid).textContent()) ?? '';
  const match = /\d+/.exec(text);
  return match ? Number(match[0]) : Number.NaN;
}

/**
 * RMS level of the audio that a page's video element plays, measured over ~1 s
 * with an analyser; for the relay's canvas, of what its AudioContext sends to
 * the speakers (needs instrumentAudioOutput).
 */
export async function audioLevel(page: Page, testid: string): Promise<number> {
  return page.evaluate(async (id) => {
    const el = document.querySelector(`[data-testid=${id}]`)!;
    let ctx: AudioContext | null = null;
    let analysers: AnalyserNode[];
    if (el instanceof HTMLCanvasElement) {
      analysers = (window as unknown as { __audioTaps?: AnalyserNode[] }).__audioTaps ?? [];
    } else {
      ctx = new AudioContext();
      await ctx.resume();
      const analyser = ctx.createAnalyser();
      ctx.createMediaStreamSource((el as HTMLVideoElement).srcObject as MediaStream).connect(analyser);
      analysers = [analyser];
    }
    const buf = new Float32Array(2048);
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 50));
      for (const analyser of analysers) {
        analyser.getFloatTimeDomainData(buf);
        peak = Math.max(peak, Math.sqrt(buf.reduce((s, x) => s + x * x, 0) / buf.length));
      }
    }
    await ctx?.close();
    return peak;
  }, testid);
}

/** What a page's browser can send or decode over RTP, by the app's codec names, best first. */
export async function codecCapabilities(page: Page, side: 'send' | 'receive'): Promise<VideoCodec[]> {
  const mimes = await page.evaluate(
    (s) => (s === 'send' ? RTCRtpSender : RTCRtpReceiver).getCapabilities('video')!.codecs.map((c) => c.mimeType),
    side,
  );
  return codecsIn(mimes.map((mimeType) => ({ mimeType })));
}

/** The best codec in the product's order (AV1 > VP9 > VP8 > H.264) that both lists hold. */
export function bestShared(a: readonly VideoCodec[], b: readonly VideoCodec[]): VideoCodec | undefined {
  return VIDEO_CODEC_ORDER.find((c) => a.includes(c) && b.includes(c));
}
