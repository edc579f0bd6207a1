// One outbound RTP stream per kind, whatever the publisher does underneath.
// A viewer's decoder sees a single stream from the SFU's fixed SSRC; when the
// source changes (a publisher reconnects or is replaced: new SSRC, new random
// sequence numbers and timestamps) the next packet continues where the last one
// left off: sequence number + 1, timestamp advanced by the wall-clock gap. A
// jump back would look like a replay to the viewer's SRTP (and to ours, which
// refuses to protect a packet more than 1024 behind the newest one).

/** Whether sequence number a is after b, modulo 2^16 (RFC 1982 serial arithmetic). */
export function seqNewer(a: number, b: number): boolean {
  const d = (a - b) & 0xffff;
  return d !== 0 && d < 0x8000;
}

export class StreamContinuity {
  private ssrc = -1;
  private seqOffset = 0;
  private tsOffset = 0;
  private started = false;
  private lastSeq = 0;
  private lastTs = 0;
  private lastAt = 0;
  /** The outbound sequence number and timestamp of the packet last mapped. */
  seq = 0;
  timestamp = 0;

  constructor(private readonly clockRate: number) {}

  /** Map one inbound packet (its SSRC, sequence number, timestamp, arrival ms) onto the outbound stream. */
  map(ssrc: number, seq: number, timestamp: number, nowMs: number): void {
    if (ssrc !== this.ssrc) {
      if (this.started) {
        const gap = Math.max(1, Math.round(((nowMs - this.lastAt) * this.clockRate) / 1000));
        this.seqOffset = (this.lastSeq + 1 - seq) & 0xffff;
        this.tsOffset = (this.lastTs + gap - timestamp) >>> 0;
      }
      this.ssrc = ssrc;
    }
    this.seq = (seq + this.seqOffset) & 0xffff;
    this.timestamp = (timestamp + this.tsOffset) >>> 0;
    // A late (reordered) packet keeps its place; only the newest one anchors a later source change.
    if (!this.started || seqNewer(this.seq, this.lastSeq)) {
      this.lastSeq = this.seq;
      this.lastTs = this.timestamp;
      this.lastAt = nowMs;
    }
    this.started = true;
  }

  /** The next packet starts a new source even if it reuses the old SSRC (a replaced publisher). */
  restart(): void {
    this.ssrc = -1;
  }
}
