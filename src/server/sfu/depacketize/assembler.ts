// Puts a track's RTP packets back in sequence order and groups them into
// frames (all packets of one RTP timestamp, ending at the marker bit), for the
// codec depacketizers. Packets may arrive out of order: a missing one is
// waited for until the packets held behind it span `reorderMs` of RTP time;
// then it is declared lost, the frame it belonged to is dropped, and assembly
// picks up at the next frame boundary. In-order packets are never held back,
// so a clean stream goes through with no added delay. (The stream's first
// packet fixes where it starts: one that overtook it is dropped as late.)
//
// A frame boundary is known from the packet before (it had the marker bit, or
// another timestamp) or, after a gap and at the very start, from the codec's
// own start-of-frame signs: only whole frames ever reach a depacketizer.
import { Unwrapper, type RtpPacket } from '../rtp.js';

export interface AssembledFrame {
  /** RTP timestamp, unwrapped (keeps counting past 2^32). */
  timestamp: number;
  /** The payloads of the frame's packets in sequence order, empty ones (padding) left out. */
  payloads: Uint8Array[];
}

export interface AssemblerOptions {
  clockRate: number;
  /** How long (RTP time) a missing packet is waited for. */
  reorderMs: number;
  /** Every packet is a frame of its own (audio), rather than a frame ending at the marker bit (video). */
  packetIsFrame: boolean;
  /** Whether a (non-empty) payload is the first of a frame, by the codec's payload header. */
  startsFrame: (payload: Uint8Array) => boolean;
}

interface Pending {
  timestamp: number;
  marker: boolean;
  payload: Uint8Array;
}

/** Bounds memory when a gap stays open while one huge frame keeps arriving (its timestamp never moves on). */
const MAX_PENDING = 1024;

export class FrameAssembler {
  private readonly sequences = new Unwrapper(16);
  private readonly timestamps = new Unwrapper(32);
  private readonly window: number;
  private readonly pending = new Map<number, Pending>();
  /** The extended sequence number to release next (null before the first packet). */
  private next: number | null = null;
  /** The last packet released, or null right after a gap: a frame starts cleanly only after a known end. */
  private last: Pending | null = null;
  /** At the start and after a gap: released packets are dropped until a frame boundary. */
  private discarding = true;
  private current: AssembledFrame | null = null;
  /** While packets are held behind a gap: the timestamp of the oldest of them, and the newest timestamp since. */
  private held: { since: number; newest: number } | null = null;

  constructor(private readonly options: AssemblerOptions) {
    this.window = (options.reorderMs * options.clockRate) / 1000;
  }

  /** The frames this packet completes (usually none or one), and whether packets were given up as lost. */
  push(packet: RtpPacket): { frames: AssembledFrame[]; lost: boolean } {
    const frames: AssembledFrame[] = [];
    const sequence = this.sequences.unwrap(packet.sequence);
    const timestamp = this.timestamps.unwrap(packet.timestamp);
    this.next ??= sequence;
    // A duplicate, or a packet we already gave up on.
    if (sequence < this.next || this.pending.has(sequence)) return { frames, lost: false };
    this.pending.set(sequence, { timestamp, marker: packet.marker, payload: packet.payload });
    let lost = false;
    for (;;) {
      for (let p = this.pending.get(this.next); p; p = this.pending.get(this.next)) {
        this.pending.delete(this.next++);
        this.release(p, frames);
      }
      if (this.pending.size === 0) {
        this.held = null;
        break;
      }
      if (this.held) this.held.newest = Math.max(this.held.newest, timestamp);
      else this.held = this.heldSpan();
      if (this.held.newest - this.held.since <= this.window && this.pending.size <= MAX_PENDING) break;
      // The gap is lost: resume at the oldest packet we hold.
      lost = true;
      this.next = Math.min(...this.pending.keys());
      this.last = null;
      this.current = null;
      this.discarding = true;
      this.held = null;
    }
    return { frames, lost };
  }

  /** Oldest and newest timestamp of the packets held (a gap just opened: usually one packet). */
  private heldSpan(): { since: number; newest: number } {
    const timestamps = [...this.pending.values()].map((p) => p.timestamp);
    return { since: Math.min(...timestamps), newest: Math.max(...timestamps) };
  }

  private release(p: Pending, frames: AssembledFrame[]): void {
    const previous = this.last;
    this.last = p;
    // A frame boundary lies before p when the packet before it ended a frame
    // (marker) or belonged to another frame (timestamp).
    const boundary = this.options.packetIsFrame || (previous !== null && (previous.marker || previous.timestamp !== p.timestamp));
    if (this.discarding) {
      if (!boundary && !(p.payload.length > 0 && this.options.startsFrame(p.payload))) return;
      this.discarding = false;
    }
    if (this.current && this.current.timestamp !== p.timestamp) this.emit(frames);
    this.current ??= { timestamp: p.timestamp, payloads: [] };
    if (p.payload.length > 0) this.current.payloads.push(p.payload);
    if (p.marker || this.options.packetIsFrame) this.emit(frames);
  }

  private emit(frames: AssembledFrame[]): void {
    if (this.current && this.current.payloads.length > 0) frames.push(this.current);
    this.current = null;
  }
}
