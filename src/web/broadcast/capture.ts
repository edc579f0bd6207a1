// The broadcaster's camera and microphone: one MediaStream for the preview,
// whose tracks change in place when the person picks another device or
// quality. Every change goes through `onTrack` first, so whoever sends the
// stream (peer links, the relay publisher) swaps the track before the old one
// stops: viewers never renegotiate and never see a stopped track.
import { audioConstraints, PRESETS, resizeIgnored, videoConstraints, type Quality } from './media.js';
import { AudioMix, type Screen } from './screen-share.js';

export type TrackKind = 'audio' | 'video';

export class Capture {
  stream: MediaStream | null = null;
  /** The screen sent instead of the camera, and the mix of its sound with the microphone. */
  private screen: { video: MediaStreamTrack; mix: AudioMix | null } | null = null;

  constructor(
    public quality: Quality,
    /** Replace a track wherever it is sent (null: send no sound); resolves once every sender has it. */
    private readonly onTrack: (kind: TrackKind, track: MediaStreamTrack | null) => Promise<void>,
    /** The stream to show (the same object after a device switch, its tracks changed). */
    private readonly onPreview: (stream: MediaStream) => void,
    private cameraId?: string,
    private microphoneId?: string,
  ) {}

  get videoTrack(): MediaStreamTrack | undefined {
    return this.stream?.getVideoTracks()[0];
  }

  /** Open the camera (and microphone, if there is one) for the preview. */
  async open(): Promise<MediaStream> {
    const requested = this.quality;
    const video = videoConstraints(requested, this.cameraId);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video, audio: audioConstraints(this.microphoneId) });
    } catch {
      // A missing or refused microphone should not stop a video broadcast;
      // if the camera itself is the problem, this second call says so.
      stream = await navigator.mediaDevices.getUserMedia({ video });
    }
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = stream;
    forMotion(stream.getVideoTracks()[0]);
    // The quality may have changed while the camera was opening.
    if (this.quality !== requested) await this.resize(this.quality);
    this.onPreview(stream);
    return stream;
  }

  get sharingScreen(): boolean {
    return this.screen !== null;
  }

  /** Send a screen instead of the camera. The camera closes (its light goes off) until stopSharing. */
  async shareScreen(screen: Screen): Promise<void> {
    if (!this.stream || this.screen) {
      screen.video.stop();
      screen.audio?.stop();
      return;
    }
    const microphone = this.stream.getAudioTracks()[0] ?? null;
    const mix = screen.audio ? new AudioMix(screen.audio, microphone) : null;
    this.screen = { video: screen.video, mix };
    await this.swap('video', screen.video);
    // The microphone lives on inside the mix: swapped out, not stopped.
    if (mix) await this.swap('audio', mix.track, microphone);
  }

  /** Back to the camera, at the current quality (also when the browser's own "stop sharing" ended the screen). */
  async stopSharing(): Promise<void> {
    const screen = this.screen;
    if (!screen) return;
    this.screen = null;
    const camera = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(this.quality, this.cameraId) });
    await this.swap('video', forMotion(camera.getVideoTracks()[0]!));
    if (screen.mix) {
      await this.swap('audio', screen.mix.microphone);
      screen.mix.close();
    }
  }

  async switchCamera(deviceId: string): Promise<void> {
    // While the screen is shared, the choice waits for the way back.
    if (this.screen) {
      this.cameraId = deviceId;
      return;
    }
    const fresh = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(this.quality, deviceId) });
    this.cameraId = deviceId;
    await this.swap('video', forMotion(fresh.getVideoTracks()[0]!));
  }

  /** Switch the microphone, or (null) send no sound. */
  async switchMicrophone(deviceId: string | null): Promise<void> {
    const fresh = deviceId ? await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(deviceId) }) : null;
    this.microphoneId = deviceId ?? undefined;
    const track = fresh?.getAudioTracks()[0] ?? null;
    const mix = this.screen?.mix;
    if (!mix) return this.swap('audio', track);
    // Mixed with the screen's sound: the new microphone goes under the same output track.
    const old = mix.microphone;
    mix.setMicrophone(track);
    old?.stop();
  }

  /** Capture at another preset's size. */
  async setQuality(quality: Quality): Promise<void> {
    this.quality = quality;
    // A screen keeps its own size (the encoder scales it); the camera comes back at this quality.
    if (!this.screen) await this.resize(quality);
  }

  stop(): void {
    this.stream?.getTracks().forEach((t) => t.stop());
    this.screen?.mix?.microphone?.stop();
    this.screen?.mix?.close();
    this.screen = null;
  }

  /**
   * Resize the live camera track to a preset. Firefox (ESR 153, measured with
   * its fake camera) resolves applyConstraints on a camera track without
   * changing its size, even for exact constraints, so when the size did not
   * move at all the camera is opened again at the new size and swapped in
   * like a camera switch.
   */
  private async resize(quality: Quality): Promise<void> {
    const track = this.videoTrack;
    if (!track) return;
    const before = track.getSettings();
    await track.applyConstraints(videoConstraints(quality));
    if (!resizeIgnored(before, track.getSettings(), PRESETS[quality])) return;
    const fresh = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(quality, this.cameraId ?? before.deviceId) });
    await this.swap('video', forMotion(fresh.getVideoTracks()[0]!));
  }

  /** Put `track` in the stream and on every sender; the old track stops, unless it is `keep`. */
  private async swap(kind: TrackKind, track: MediaStreamTrack | null, keep: MediaStreamTrack | null = null): Promise<void> {
    const stream = this.stream;
    if (!stream) {
      track?.stop();
      return;
    }
    await this.onTrack(kind, track);
    for (const old of kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks()) {
      stream.removeTrack(old);
      if (old !== keep) old.stop();
    }
    if (track) stream.addTrack(track);
    this.onPreview(stream);
  }
}

/** Camera content: motion matters more than fine detail. */
function forMotion<T extends MediaStreamTrack | undefined>(track: T): T {
  if (track) track.contentHint = 'motion';
  return track;
}
