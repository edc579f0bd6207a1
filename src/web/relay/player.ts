// The viewer's half of the server relay: decode the chunks from /relay with
// WebCodecs, draw the pictures on a canvas and schedule the sound on an
// AudioContext. Frames are drawn the moment they are decoded: no buffering
// beyond the decoder's own: a <video> playing track generators holds frames
// for its own playout (82 ms p50 glass-to-glass against 20–40 ms for capture to
// decode, measured: docs/BENCHMARKS.md).
import { decodeRelayHeader, FrameKind, relayPayload } from '../../protocol/relay-frame.js';
import { median } from '../../protocol/stats-math.js';
import { Emitter } from '../emitter.js';
import { AudioPlayout } from './audio-playout.js';
import { CanvasRenderer } from './canvas-renderer.js';

export interface RelayPlayerStats {
  bitrate: number; // kbit/s received
  fps: number;
  width?: number;
  height?: number;
  codec?: string;
  /** Capture to display, ms (exact on one machine; includes clock offset across machines). */
  latency?: number;
  framesDropped: number;
  /** Audio chunks that came too late to play on time, since the start. */
  audioUnderruns: number;
}

export interface RelayPlayerEvents {
  /** The first picture is drawn: the canvas can take the video element's place. */
  picture: HTMLCanvasElement;
  stats: RelayPlayerStats;
  closed: { reason: string };
}

/**
 * Whether this browser can play the relay path: WebCodecs' video decoder is
 * all it needs (Chromium 94+, Safari 16.4+, Firefox 130+); without an
 * AudioDecoder it plays the picture alone.
 */
export function relaySupported(): boolean {
  return typeof VideoDecoder !== 'undefined';
}

interface Config {
  codec: string;
  codecName?: string;
  description?: string;
  [key: string]: unknown;
}

export class RelayPlayer extends Emitter<RelayPlayerEvents> {
  private socket: WebSocket | null = null;
  private readonly renderer = new CanvasRenderer();
  private readonly sound: AudioPlayout | null;
  private video: VideoDecoder | null = null;
  private audio: AudioDecoder | null = null;
  private waitingForKeyframe = true;
  private codec: string | undefined;
  private started = false;
  private readonly captureTimes = new Map<number, number>();
  private latencies: number[] = [];
  private bytes = 0;
  private bytesTotal = 0;
  private ackTimer: ReturnType<typeof setInterval> | null = null;
  private frames = 0;
  private framesDropped = 0;
  private size: { width: number; height: number } | null = null;
  private statsTimer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly url: string,
    options: { muted: boolean },
  ) {
    super();
    this.sound = typeof AudioDecoder === 'undefined' ? null : new AudioPlayout(options.muted);
  }

  setMuted(muted: boolean): void {
    this.sound?.setMuted(muted);
  }

  start(): void {
    const socket = new WebSocket(this.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) this.receive(new Uint8Array(event.data));
    };
    socket.onclose = (event) => this.emit('closed', { reason: event.reason || `closed (${event.code})` });
    this.statsTimer = setInterval(() => this.reportStats(), 1_000);
    // Acknowledgements let the server see how far behind we are long before
    // its socket buffer fills, and thin the stream for us in time.
    this.ackTimer = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send(`{"type":"ack","bytes":${this.bytesTotal}}`);
    }, 100);
  }

  stop(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.ackTimer) clearInterval(this.ackTimer);
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close();
    }
    for (const d of [this.video, this.audio]) if (d && d.state !== 'closed') d.close();
    this.sound?.stop();
  }

  private receive(frame: Uint8Array): void {
    const header = decodeRelayHeader(frame);
    if (!header) return;
    this.bytes += frame.byteLength;
    this.bytesTotal += frame.byteLength;
    const payload = relayPayload(frame);
    switch (header.kind) {
      case FrameKind.videoConfig:
        return this.configureVideo(JSON.parse(new TextDecoder().decode(payload)) as Config);
      case FrameKind.audioConfig:
        if (!this.sound) return;
        return this.configureAudio(JSON.parse(new TextDecoder().decode(payload)) as Config);
      case FrameKind.video: {
        const decoder = this.video;
        if (!decoder || decoder.state !== 'configured') return;
        if (this.waitingForKeyframe && !header.keyframe) return void this.framesDropped++;
        this.waitingForKeyframe = false;
        this.captureTimes.set(header.timestampUs, header.captureMs);
        decoder.decode(new EncodedVideoChunk({ type: header.keyframe ? 'key' : 'delta', timestamp: header.timestampUs, duration: header.durationUs, data: payload }));
        return;
      }
      case FrameKind.audio: {
        if (this.audio?.state !== 'configured' || !this.started) return;
        this.audio.decode(new EncodedAudioChunk({ type: 'key', timestamp: header.timestampUs, duration: header.durationUs, data: payload }));
      }
    }
  }

  private configureVideo(config: Config): void {
    if (this.video?.state !== 'closed') this.video?.close();
    this.codec = config.codecName ?? config.codec;
    this.waitingForKeyframe = true;
    this.video = new VideoDecoder({
      output: (frame) => this.show(frame),
      error: () => {
        // A broken chunk: ask for a keyframe and show nothing until it comes.
        this.waitingForKeyframe = true;
        this.socket?.send(JSON.stringify({ type: 'keyframe_request' }));
      },
    });
    const { codecName: _name, description, ...rest } = config;
    this.video.configure({ ...(rest as unknown as VideoDecoderConfig), ...(description ? { description: fromBase64(description) } : {}), optimizeForLatency: true });
  }

  private configureAudio(config: Config): void {
    if (this.audio?.state !== 'closed') this.audio?.close();
    const sound = this.sound!;
    this.audio = new AudioDecoder({
      output: (data) => sound.play(data),
      error: () => undefined,
    });
    const { description, ...rest } = config;
    this.audio.configure({ ...(rest as unknown as AudioDecoderConfig), ...(description ? { description: fromBase64(description) } : {}) });
  }

  private show(frame: VideoFrame): void {
    const captured = this.captureTimes.get(frame.timestamp);
    if (captured !== undefined) {
      this.latencies.push(performance.timeOrigin + performance.now() - captured);
      this.captureTimes.delete(frame.timestamp);
    }
    if (this.captureTimes.size > 300) this.captureTimes.clear();
    this.size = { width: frame.displayWidth, height: frame.displayHeight };
    this.frames++;
    this.renderer.render(frame);
    if (!this.started) {
      this.started = true;
      this.emit('picture', this.renderer.canvas);
    }
  }

  private reportStats(): void {
    const latency = median(this.latencies);
    this.emit('stats', {
      bitrate: Math.round((this.bytes * 8) / 1000),
      fps: this.frames,
      ...(this.size ? this.size : {}),
      ...(this.codec ? { codec: this.codec } : {}),
      ...(latency !== null ? { latency: Math.round(latency) } : {}),
      framesDropped: this.framesDropped,
      audioUnderruns: this.sound?.underruns ?? 0,
    });
    this.bytes = 0;
    this.frames = 0;
    this.latencies = [];
  }
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
