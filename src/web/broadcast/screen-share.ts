// The screen (a window, a tab) as the broadcaster's picture. Where the browser
// offers the tab's or the system's sound, it is MIXED with the microphone, not
// put in its place: a streamer showing a video or a game keeps talking over
// it. The mix is one WebAudio graph whose output track stays the same while
// the microphone underneath changes, so viewers never see the audio track swap
// more than once each way.

export interface Screen {
  video: MediaStreamTrack;
  /** The tab's or system's sound, where the browser offered it and the person left it ticked. */
  audio: MediaStreamTrack | null;
}

export function screenShareSupported(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.mediaDevices?.getDisplayMedia === 'function';
}

/** Ask for a screen, window or tab; rejects when the person cancels or the browser refuses. */
export async function openScreen(frameRate: number): Promise<Screen> {
  const stream = await navigator.mediaDevices.getDisplayMedia({
    video: { frameRate: { ideal: frameRate } },
    // Chromium offers "share tab audio" (and system audio on Windows); Firefox offers none.
    audio: true,
  });
  const video = stream.getVideoTracks()[0]!;
  // Text and edges stay sharp; the encoder lowers the frame rate before the resolution.
  video.contentHint = 'detail';
  return { video, audio: stream.getAudioTracks()[0] ?? null };
}

/** The microphone and the screen's sound as one track. */
export class AudioMix {
  private readonly context = new AudioContext();
  private readonly output = this.context.createMediaStreamDestination();
  private micSource: MediaStreamAudioSourceNode | null = null;

  constructor(
    readonly screenAudio: MediaStreamTrack,
    /** The microphone the mix holds (null: the screen's sound alone). */
    public microphone: MediaStreamTrack | null,
  ) {
    this.context.createMediaStreamSource(new MediaStream([screenAudio])).connect(this.output);
    this.setMicrophone(microphone);
    // Made from a click, so the context may run; a suspended one would send silence.
    void this.context.resume();
  }

  get track(): MediaStreamTrack {
    return this.output.stream.getAudioTracks()[0]!;
  }

  /** Another microphone (or none) under the same output track. */
  setMicrophone(track: MediaStreamTrack | null): void {
    this.micSource?.disconnect();
    this.micSource = track ? this.context.createMediaStreamSource(new MediaStream([track])) : null;
    this.micSource?.connect(this.output);
    this.microphone = track;
  }

  /** Stop the mix and the screen's sound; the microphone is the caller's again. */
  close(): void {
    this.micSource?.disconnect();
    this.track.stop();
    this.screenAudio.stop();
    void this.context.close();
  }
}
