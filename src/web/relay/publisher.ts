// The broadcaster's half of the server relay: encode the camera once with
// WebCodecs and send each chunk over the /relay WebSocket. It encodes only
// while the server reports relay viewers, in the best codec all of them decode,
// with temporal layers (L1T3) where the encoder has them, so the server can
// thin the stream for a slow viewer without asking us.
import type { VideoCodec } from '../../protocol/messages.js';
import { encodeRelayFrame, FrameKind, type RelayControl } from '../../protocol/relay-frame.js';
import { Emitter } from '../emitter.js';
import { PRESETS, type Quality } from '../broadcast/media.js';
import { VIDEO_CODEC_ORDER } from '../rtc/codecs.js';
import { AUDIO_CODEC, CODEC_STRINGS } from './codecs.js';

/** A keyframe at least this often, so a viewer that lost one is never stuck long. */
const KEYFRAME_INTERVAL_MS = 2_000;
/** Above this much unsent data, frames are skipped rather than queued: latency beats completeness. */
const MAX_SEND_BACKLOG = 1_000_000;
const AUDIO_BITRATE = 64_000;

export interface RelayPublisherStats {
  viewers: number;
  codec: VideoCodec | null;
  bitrate: number; // kbit/s sent
  fps: number;
  framesSkipped: number;
}

export interface RelayPublisherEvents {
  stats: RelayPublisherStats;
  viewers: number;
  error: { message: string };
}

type Reader = ReadableStreamDefaultReader<VideoFrame | AudioData>;

/**
 * Whether this browser can publish to the server relay: it reads raw frames
 * from the camera with MediaStreamTrackProcessor (Chrome's "breakout box") and
 * encodes them with WebCodecs. Firefox (153 ESR) has WebCodecs but no
 * MediaStreamTrackProcessor on the main thread, so a Firefox broadcaster serves
 * every viewer by P2P or TURN.
 */
export function relayPublishSupported(): boolean {
  return typeof MediaStreamTrackProcessor !== 'undefined' && typeof VideoEncoder !== 'undefined' && typeof AudioEncoder !== 'undefined';
}

export class RelayPublisher extends Emitter<RelayPublisherEvents> {
  private socket: WebSocket | null = null;
  private video: VideoEncoder | null = null;
  private audio: AudioEncoder | null = null;
  private videoKey = '';
  private readers: Partial<Record<'audio' | 'video', Reader>> = {};
  private viewerCount = 0;
  private allowedCodecs: VideoCodec[] = [];
  private codec: VideoCodec | null = null;
  private forceKeyframe = true;
  private lastKeyframe = 0;
  private bytesSent = 0;
  private framesSent = 0;
  private framesSkipped = 0;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly stream: MediaStream,
    private quality: Quality,
  ) {
    super();
  }

  start(): void {
    if (this.socket) return;
    const socket = new WebSocket(this.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onmessage = (event) => {
      if (typeof event.data === 'string') this.onControl(JSON.parse(event.data) as RelayControl);
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.socket = null;
      this.pause();
      // The server went away or restarted: try again while we are live. Replaced by another
      // publisher (the room's SFU feed now feeds the relay, or another tab took over): stay away.
      if (!this.closed && event.reason !== 'replaced') setTimeout(() => this.start(), 1_000);
    };
    for (const track of this.stream.getTracks()) this.read(track);
    let lastBytes = 0;
    let lastFrames = 0;
    this.statsTimer ??= setInterval(() => {
      this.emit('stats', {
        viewers: this.viewerCount,
        codec: this.codec,
        bitrate: Math.round(((this.bytesSent - lastBytes) * 8) / 1000),
        fps: this.framesSent - lastFrames,
        framesSkipped: this.framesSkipped,
      });
      lastBytes = this.bytesSent;
      lastFrames = this.framesSent;
    }, 1_000);
  }

  /** The camera or microphone changed: read from the new track. */
  replaceTrack(track: MediaStreamTrack | null, kind: 'audio' | 'video'): void {
    void this.readers[kind]?.cancel();
    delete this.readers[kind];
    if (track && this.socket) this.read(track);
    this.forceKeyframe = true;
  }

  setQuality(quality: Quality): void {
    this.quality = quality;
    this.videoKey = ''; // reconfigure at the next frame
  }

  stop(): void {
    this.closed = true;
    if (this.statsTimer) clearInterval(this.statsTimer);
    for (const r of Object.values(this.readers)) void r?.cancel();
    this.readers = {};
    this.pause();
    this.socket?.close();
    this.socket = null;
  }

  private onControl(message: RelayControl): void {
    if (message.type === 'keyframe_request') {
      this.forceKeyframe = true;
    } else if (message.type === 'viewers') {
      this.viewerCount = message.count;
      this.allowedCodecs = message.codecs.filter((c): c is VideoCodec => (VIDEO_CODEC_ORDER as readonly string[]).includes(c));
      this.emit('viewers', message.count);
      if (message.count === 0) this.pause();
      else if (this.codec && !this.allows(this.codec)) this.pause(); // a new viewer cannot decode it: pick again
    }
  }

  private allows(codec: VideoCodec): boolean {
    return this.allowedCodecs.length === 0 || this.allowedCodecs.includes(codec);
  }

  /** Encoders are closed while nobody watches; the next frame with viewers opens them again. */
  private pause(): void {
    if (this.video?.state !== 'closed') this.video?.close();
    if (this.audio?.state !== 'closed') this.audio?.close();
    this.video = null;
    this.audio = null;
    this.videoKey = '';
    this.codec = null;
    this.forceKeyframe = true;
  }

  private read(track: MediaStreamTrack): void {
    const kind = track.kind as 'audio' | 'video';
    const processor = new MediaStreamTrackProcessor({ track });
    const reader = processor.readable.getReader() as Reader;
    this.readers[kind] = reader;
    const pump = async (): Promise<void> => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || !value) return;
        try {
          if (kind === 'video') await this.encodeVideo(value as VideoFrame);
          else this.encodeAudio(value as AudioData);
        } finally {
          value.close();
        }
      }
    };
    pump().catch((err: unknown) => this.emit('error', { message: `relay ${kind}: ${String(err)}` }));
  }

  private busy(): boolean {
    return !this.socket || this.socket.readyState !== WebSocket.OPEN || this.viewerCount === 0;
  }

  private async encodeVideo(frame: VideoFrame): Promise<void> {
    if (this.busy()) return;
    // Skipping a frame before it is encoded breaks no reference: the next one
    // simply predicts from the last frame that was encoded.
    if (this.socket!.bufferedAmount > MAX_SEND_BACKLOG || (this.video && this.video.encodeQueueSize > 2)) {
      this.framesSkipped++;
      return;
    }
    const key = `${frame.displayWidth}x${frame.displayHeight}/${this.quality}`;
    if (!this.video || this.videoKey !== key) await this.configureVideo(frame.displayWidth, frame.displayHeight, key);
    if (!this.video) return;
    const now = performance.now();
    const keyFrame = this.forceKeyframe || now - this.lastKeyframe >= KEYFRAME_INTERVAL_MS;
    if (keyFrame) {
      this.forceKeyframe = false;
      this.lastKeyframe = now;
    }
    this.video.encode(frame, { keyFrame });
  }

  private async configureVideo(width: number, height: number, key: string): Promise<void> {
    const base: VideoEncoderConfig = {
      codec: '',
      width,
      height,
      bitrate: PRESETS[this.quality].maxBitrate,
      framerate: PRESETS[this.quality].frameRate,
      latencyMode: 'realtime',
      bitrateMode: 'variable',
      avc: { format: 'annexb' },
    };
    for (const codec of VIDEO_CODEC_ORDER.filter((c) => this.allows(c))) {
      for (const scalabilityMode of ['L1T3', undefined]) {
        const config = { ...base, codec: CODEC_STRINGS[codec], ...(scalabilityMode ? { scalabilityMode } : {}) };
        const { supported } = await VideoEncoder.isConfigSupported(config).catch(() => ({ supported: false }));
        if (!supported) continue;
        if (this.video?.state !== 'closed') this.video?.close();
        this.video = new VideoEncoder({
          output: (chunk, meta) => this.sendVideo(chunk, meta, codec),
          error: (err) => {
            this.emit('error', { message: `video encoder: ${err.message}` });
            this.videoKey = '';
          },
        });
        this.video.configure(config);
        this.videoKey = key;
        this.codec = codec;
        this.forceKeyframe = true;
        return;
      }
    }
    this.emit('error', { message: 'no video codec that this browser encodes and every relay viewer decodes' });
  }

  private sendVideo(chunk: EncodedVideoChunk, meta: EncodedVideoChunkMetadata | undefined, codec: VideoCodec): void {
    const captureMs = performance.timeOrigin + performance.now();
    if (meta?.decoderConfig) {
      const { description, ...config } = meta.decoderConfig;
      const json = JSON.stringify({ ...config, codecName: codec, ...(description ? { description: toBase64(description) } : {}) });
      this.sendFrame(FrameKind.videoConfig, false, 0, chunk.timestamp, 0, captureMs, new TextEncoder().encode(json));
    }
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    const layer = meta?.svc?.temporalLayerId ?? 0;
    this.sendFrame(FrameKind.video, chunk.type === 'key', layer, chunk.timestamp, chunk.duration ?? 0, captureMs, data);
    this.framesSent++;
  }

  private encodeAudio(data: AudioData): void {
    if (this.busy()) return;
    if (!this.audio) {
      this.audio = new AudioEncoder({
        output: (chunk, meta) => {
          const captureMs = performance.timeOrigin + performance.now();
          if (meta?.decoderConfig) {
            const { description, ...config } = meta.decoderConfig;
            const json = JSON.stringify({ ...config, ...(description ? { description: toBase64(description) } : {}) });
            this.sendFrame(FrameKind.audioConfig, false, 0, chunk.timestamp, 0, captureMs, new TextEncoder().encode(json));
          }
          const bytes = new Uint8Array(chunk.byteLength);
          chunk.copyTo(bytes);
          this.sendFrame(FrameKind.audio, true, 0, chunk.timestamp, chunk.duration ?? 0, captureMs, bytes);
        },
        error: (err) => this.emit('error', { message: `audio encoder: ${err.message}` }),
      });
      this.audio.configure({ codec: AUDIO_CODEC, sampleRate: data.sampleRate, numberOfChannels: data.numberOfChannels, bitrate: AUDIO_BITRATE });
    }
    this.audio.encode(data);
  }

  private sendFrame(kind: FrameKind, keyframe: boolean, layer: number, timestampUs: number, durationUs: number, captureMs: number, payload: Uint8Array): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const frame = encodeRelayFrame({ kind, keyframe, layer, stream: 0, timestampUs, durationUs, captureMs }, payload);
    socket.send(frame);
    this.bytesSent += frame.byteLength;
  }
}

function toBase64(buffer: AllowSharedBufferSource): string {
  const bytes = ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
