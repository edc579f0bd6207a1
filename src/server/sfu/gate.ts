// The keyframe gate of one viewer's video: a viewer that is new, that lost the
// picture (its PLI or FIR), or whose packets could not be sent gets nothing
// until the next keyframe, because its decoder could use none of it. The
// packets it skips are also taken out of its sequence numbers, so it sees an
// unbroken stream and never asks (NACK) for what it was not meant to get.

/**
 * A viewer's request for a keyframe sent before the one now reaching it began
 * (a player asks as soon as it starts) must not cut that keyframe off: requests
 * this soon after the gate opened are taken as already answered.
 */
export const REQUEST_OVERTAKEN_MS = 500;

export class KeyframeGate {
  /** True until a keyframe starts (and again after close()). */
  waiting = true;
  /** Packets held back so far; this viewer's sequence numbers run this far behind the group's. */
  private skipped = 0;
  private openedAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** The sequence number to send this packet with, or -1 to hold it back. */
  pass(seq: number, keyframeStart: boolean): number {
    if (this.waiting) {
      if (!keyframeStart) {
        this.skipped++;
        return -1;
      }
      this.waiting = false;
      this.openedAt = this.now();
    }
    return (seq - this.skipped) & 0xffff;
  }

  /** Hold back video from the next packet until a keyframe (a new source, or a packet that could not go out). */
  close(): void {
    this.waiting = true;
  }

  /** The viewer lost the picture (PLI, FIR): close, unless a keyframe began reaching it just now. Returns whether it closed. */
  pictureLost(): boolean {
    if (!this.waiting && this.now() - this.openedAt < REQUEST_OVERTAKEN_MS) return false;
    this.waiting = true;
    return true;
  }
}
