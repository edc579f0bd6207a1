// Recording the broadcast on the broadcaster's own machine: MediaRecorder,
// WebM. It records what viewers get — the camera or the shared screen, with
// the microphone (and the tab's sound) — through a canvas and a WebAudio
// graph of its own, because the outgoing stream's tracks are swapped in place
// (camera switch, screen share) and MediaRecorder stops or goes blank when the
// tracks of the stream it records change. When it stops, the file gets its
// Duration (webm-duration.ts) so players show its length and can seek.
import { Emitter } from '../emitter.js';
import { withWebmDuration } from './webm-duration.js';

/** Why this browser cannot record here. */
export type RecordingProblem = 'unsupported' | 'no_webm';

const MIME_TYPES = ['video/webm;codecs=vp9,opus', 'video/webm;codecs=vp8,opus', 'video/webm'];
const FPS = 30;

export function recordingMimeType(): string | RecordingProblem {
  if (typeof MediaRecorder === 'undefined' || typeof HTMLCanvasElement.prototype.captureStream !== 'function') return 'unsupported';
  return MIME_TYPES.find((t) => MediaRecorder.isTypeSupported(t)) ?? 'no_webm';
}

export interface Recording {
  blob: Blob;
  durationMs: number;
  /** e.g. liveroom-123456-2026-12-02T09-41-05.webm */
  fileName: string;
}

export interface RecorderEvents {
  recorded: Recording;
  failed: { message: string };
}

export class Recorder extends Emitter<RecorderEvents> {
  private readonly video = document.createElement('video');
  private readonly canvas = document.createElement('canvas');
  private readonly audio = new AudioContext();
  private readonly sound = this.audio.createMediaStreamDestination();
  private source: MediaStreamAudioSourceNode | null = null;
  private recorder: MediaRecorder | null = null;
  private drawTimer: ReturnType<typeof setInterval> | null = null;
  private readonly chunks: Blob[] = [];
  private startedAt = 0;

  constructor(
    /** The broadcaster's outgoing stream: the same object for the whole broadcast, its tracks swapped in place. */
    private readonly stream: MediaStream,
    private readonly label: string,
  ) {
    super();
    this.video.muted = true;
    this.video.playsInline = true;
  }

  get recording(): boolean {
    return this.recorder?.state === 'recording';
  }

  /** ms since start, while recording. */
  get elapsedMs(): number {
    return this.recording ? performance.now() - this.startedAt : 0;
  }

  start(mimeType: string): void {
    if (this.recorder) return;
    this.video.srcObject = this.stream;
    void this.video.play().catch(() => undefined);
    const context = this.canvas.getContext('2d')!;
    // A timer, not requestVideoFrameCallback: the video is not on the page, so it is never composited.
    this.drawTimer = setInterval(() => {
      const { videoWidth: w, videoHeight: h } = this.video;
      if (!w || !h) return;
      if (this.canvas.width !== w || this.canvas.height !== h) Object.assign(this.canvas, { width: w, height: h });
      context.drawImage(this.video, 0, 0, w, h);
    }, 1000 / FPS);
    this.tracksChanged();
    void this.audio.resume();
    const recorded = new MediaStream([...this.canvas.captureStream(FPS).getVideoTracks(), ...this.sound.stream.getAudioTracks()]);
    const recorder = new MediaRecorder(recorded, { mimeType });
    this.recorder = recorder;
    recorder.ondataavailable = (e) => {
      if (e.data.size) this.chunks.push(e.data);
    };
    recorder.onerror = (e) => this.emit('failed', { message: String((e as ErrorEvent).error ?? e.type) });
    recorder.onstop = () => void this.finish(mimeType);
    this.startedAt = performance.now();
    recorder.start(1000);
  }

  stop(): void {
    if (this.recorder?.state === 'recording') this.recorder.stop();
  }

  /** The outgoing audio track changed (microphone switch, screen sound mixed in): record the new one. */
  tracksChanged(): void {
    this.source?.disconnect();
    const track = this.stream.getAudioTracks()[0];
    this.source = track ? this.audio.createMediaStreamSource(new MediaStream([track])) : null;
    this.source?.connect(this.sound);
  }

  /** Stop and let go of everything (the page is leaving). */
  dispose(): void {
    if (this.recorder) this.recorder.onstop = null;
    this.stop();
    this.release();
  }

  private release(): void {
    if (this.drawTimer) clearInterval(this.drawTimer);
    this.drawTimer = null;
    this.video.srcObject = null;
    this.recorder?.stream.getTracks().forEach((t) => t.stop());
    void this.audio.close().catch(() => undefined);
  }

  private async finish(mimeType: string): Promise<void> {
    const durationMs = performance.now() - this.startedAt;
    this.release();
    const raw = new Uint8Array(await new Blob(this.chunks, { type: mimeType }).arrayBuffer());
    let bytes: Uint8Array<ArrayBuffer> = raw;
    try {
      bytes = withWebmDuration(raw, durationMs);
    } catch (err) {
      // Still a playable file, only without its length in the header.
      console.warn('could not write the recording’s duration:', err);
    }
    const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, '-');
    this.emit('recorded', { blob: new Blob([bytes], { type: 'video/webm' }), durationMs, fileName: `liveroom-${this.label}-${stamp}.webm` });
  }
}
