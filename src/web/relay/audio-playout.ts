// The relay's sound: decoded AudioData scheduled on an AudioContext, a small
// fixed distance ahead of its clock. No <audio> element and no track
// generator, so no playout buffer of theirs; the only buffer is TARGET_S.

/**
 * How far ahead of the audio clock a chunk is scheduled. It absorbs the
 * arrival jitter of 20 ms Opus chunks over the relay socket and main-thread
 * stalls; measured by the underruns in `stats` (see docs/BENCHMARKS.md).
 */
const TARGET_S = 0.04;
/** Scheduled further ahead than TARGET_S + this (a burst after a stall), chunks are dropped to get back. */
const SLACK_S = 0.08;

export class AudioPlayout {
  private readonly ctx = new AudioContext({ latencyHint: 'interactive' });
  private readonly gain = this.ctx.createGain();
  private nextTime = 0;
  private started = false;
  /** Chunks that found the schedule already played out (a gap was heard). */
  underruns = 0;
  /** Chunks dropped because the schedule had fallen too far behind real time. */
  dropped = 0;

  constructor(muted: boolean) {
    this.gain.connect(this.ctx.destination);
    this.setMuted(muted);
  }

  /**
   * Muted is a gain of 0, so sound stays scheduled and in step. Unmuting from
   * a click is the user gesture a suspended AudioContext needs to start.
   */
  setMuted(muted: boolean): void {
    this.gain.gain.value = muted ? 0 : 1;
    if (!muted && this.ctx.state === 'suspended') void this.ctx.resume();
  }

  /** Takes ownership of the chunk. */
  play(data: AudioData): void {
    // A suspended context (no gesture yet) has a stopped clock: scheduling would only pile up.
    if (this.ctx.state !== 'running') return data.close();
    const buffer = this.ctx.createBuffer(data.numberOfChannels, data.numberOfFrames, data.sampleRate);
    for (let c = 0; c < data.numberOfChannels; c++) data.copyTo(buffer.getChannelData(c), { planeIndex: c, format: 'f32-planar' });
    data.close();
    const now = this.ctx.currentTime;
    if (!this.started || this.nextTime < now) {
      if (this.started) this.underruns++;
      this.started = true;
      this.nextTime = now + TARGET_S;
    } else if (this.nextTime > now + TARGET_S + SLACK_S) {
      this.dropped++;
      return;
    }
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.gain);
    source.start(this.nextTime);
    this.nextTime += buffer.duration;
  }

  stop(): void {
    void this.ctx.close();
  }
}
