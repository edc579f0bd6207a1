// The broadcaster's camera and microphone: one MediaStream for the preview,
// whose tracks change in place when the person picks another device or
// quality. Every change goes through `onTrack` first, so whoever sends the
// stream (peer links, the relay publisher) swaps the track before the old one
// stops: viewers never renegotiate and never see a stopped track.
import { audioConstraints, PRESETS, resizeIgnored, videoConstraints, type Quality } from './media.js';

export type TrackKind = 'audio' | 'video';

export class Capture {
  stream: MediaStream | null = null;

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

  async switchCamera(deviceId: string): Promise<void> {
    const fresh = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(this.quality, deviceId) });
    this.cameraId = deviceId;
    await this.swap('video', forMotion(fresh.getVideoTracks()[0]!));
  }

  /** Switch the microphone, or (null) send no sound. */
  async switchMicrophone(deviceId: string | null): Promise<void> {
    const fresh = deviceId ? await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(deviceId) }) : null;
    this.microphoneId = deviceId ?? undefined;
    await this.swap('audio', fresh?.getAudioTracks()[0] ?? null);
  }

  /** Capture at another preset's size. */
  async setQuality(quality: Quality): Promise<void> {
    this.quality = quality;
    await this.resize(quality);
  }

  stop(): void {
    this.stream?.getTracks().forEach((t) => t.stop());
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

  private async swap(kind: TrackKind, track: MediaStreamTrack | null): Promise<void> {
    const stream = this.stream;
    if (!stream) {
      track?.stop();
      return;
    }
    await this.onTrack(kind, track);
    for (const old of kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks()) {
      stream.removeTrack(old);
      old.stop();
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
