// What every codec's depacketizer shares: packets in arrival order go through
// the frame assembler; each whole frame goes to the codec's own parser; and
// after a loss (or a frame the codec could not parse) nothing goes out until a
// keyframe, since every later frame may reference what was lost. Once it has
// had to drop something for want of one, the depacketizer says so
// (needKeyframe), for the caller to ask the publisher for one; at the start of
// a stream, which opens with a keyframe, it does not.
import type { RtpPacket } from '../rtp.js';
import { FrameAssembler, type AssembledFrame } from './assembler.js';

/** WebCodecs VideoDecoderConfig / AudioDecoderConfig fields, as the relay's config frames carry them. */
export interface DecoderConfig {
  codec: string;
  codedWidth?: number;
  codedHeight?: number;
  sampleRate?: number;
  numberOfChannels?: number;
}

export interface CodecFrame {
  /** The encoded chunk as WebCodecs decodes it. */
  data: Uint8Array;
  keyframe: boolean;
  /** The decoder config this frame needs: on keyframes (video), on every frame (audio). */
  config?: DecoderConfig;
  durationUs?: number;
}

export interface Frame extends CodecFrame {
  /** RTP timestamp, unwrapped. */
  timestamp: number;
}

export interface DepacketizeResult {
  frames: Frame[];
  /** Frames are being dropped until a keyframe comes. */
  needKeyframe: boolean;
}

/** A whole frame the codec found broken: it and everything after it until a keyframe is dropped. */
export const BROKEN = 'broken';

export abstract class Depacketizer {
  private readonly assembler: FrameAssembler;
  /** Until a keyframe, nothing goes out. */
  private waiting = true;
  /** Something was lost or dropped since the last keyframe. */
  private dropped = false;

  constructor(clockRate: number, kind: 'audio' | 'video') {
    this.assembler = new FrameAssembler({
      clockRate,
      // Audio: two 20 ms packets; video: one or two frames at 30 fps.
      reorderMs: kind === 'audio' ? 40 : 50,
      packetIsFrame: kind === 'audio',
      startsFrame: (payload) => this.startsFrame(payload),
    });
  }

  push(packet: RtpPacket): DepacketizeResult {
    const { frames, lost } = this.assembler.push(packet);
    if (lost) this.drop();
    const out = frames.flatMap((f) => this.frame(f));
    return { frames: out, needKeyframe: this.waiting && this.dropped };
  }

  private frame(assembled: AssembledFrame): Frame[] {
    const frame = this.depacketize(assembled.payloads);
    if (frame === null) return [];
    if (frame === BROKEN || (this.waiting && !frame.keyframe)) {
      this.drop();
      return [];
    }
    this.waiting = false;
    this.dropped = false;
    return [{ ...frame, timestamp: assembled.timestamp }];
  }

  private drop(): void {
    this.waiting = true;
    this.dropped = true;
  }

  /** Whether this payload begins a frame, from the payload header alone. */
  protected abstract startsFrame(payload: Uint8Array): boolean;

  /** One whole frame's payloads, in order, into a chunk: null when it holds nothing to decode. */
  protected abstract depacketize(payloads: Uint8Array[]): CodecFrame | null | typeof BROKEN;
}
