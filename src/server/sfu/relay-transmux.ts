// From a publisher's RTP to the server relay's framing: the SFU hands each
// inbound packet here, and relay frames come out for the relay's viewers, who
// decode them with WebCodecs exactly as they decode a browser publisher's
// relay feed (src/web/relay/player.ts, unchanged). This is how a viewer with
// neither UDP nor TURN watches a WHIP stream.
//
// Per track kind: one depacketizer (made afresh when the codec, payload type
// or SSRC changes, since sequence numbers and timestamps start over); a
// decoder config frame before the first keyframe and before any keyframe whose
// config differs from the last one sent (the player builds a new decoder on
// each); timestamps in µs from the RTP clock, unwrapped; capture time = when
// the packet that completed the frame arrived, which is what the player's
// latency estimate measures from.
import { encodeRelayFrame, FrameKind } from '../../protocol/relay-frame.js';
import { Av1Depacketizer } from './depacketize/av1.js';
import type { Depacketizer, Frame } from './depacketize/depacketizer.js';
import { H264Depacketizer } from './depacketize/h264.js';
import { OpusDepacketizer } from './depacketize/opus.js';
import { Vp8Depacketizer } from './depacketize/vp8.js';
import { Vp9Depacketizer } from './depacketize/vp9.js';
import { parseRtp } from './rtp.js';
import type { InboundTrackInfo } from './types.js';

/** While frames are being dropped for want of a keyframe, it is asked for at most this often. */
const KEYFRAME_REQUEST_MS = 1_000;

function depacketizerFor(track: InboundTrackInfo): Depacketizer {
  switch (track.codec) {
    case 'H264':
      return new H264Depacketizer(track.clockRate, track.fmtp);
    case 'VP8':
      return new Vp8Depacketizer(track.clockRate);
    case 'VP9':
      return new Vp9Depacketizer(track.clockRate);
    case 'AV1':
      return new Av1Depacketizer(track.clockRate);
    case 'opus':
      return new OpusDepacketizer(track.clockRate, track.channels ?? 2);
  }
}

class TrackState {
  readonly depacketizer: Depacketizer;
  /**
   * The track's first frame: its unwrapped RTP timestamp, and when it came on
   * the transmuxer's clock (µs), so that tracks that start together stay
   * together and a track that starts over carries on from where it stopped.
   */
  private origin: { timestamp: number; us: number } | null = null;

  constructor(
    readonly track: InboundTrackInfo,
    readonly ssrc: number,
  ) {
    this.depacketizer = depacketizerFor(track);
  }

  serves(track: InboundTrackInfo, ssrc: number): boolean {
    return this.ssrc === ssrc && this.track.codec === track.codec && this.track.payloadType === track.payloadType && this.track.clockRate === track.clockRate;
  }

  timestampUs(frame: Frame, arrivalUs: number): number {
    this.origin ??= { timestamp: frame.timestamp, us: arrivalUs };
    return this.origin.us + ((frame.timestamp - this.origin.timestamp) * 1_000_000) / this.track.clockRate;
  }
}

export class RelayTransmuxer {
  private tracks: Partial<Record<'audio' | 'video', TrackState>> = {};
  /** The decoder configs last sent, as JSON. */
  private sent: Partial<Record<'audio' | 'video', string>> = {};
  private epochMs: number | null = null;
  private lastKeyframeRequest = -Infinity;

  constructor(
    private readonly send: (frame: Uint8Array) => void,
    private readonly requestKeyframe: () => void,
    /** Wall clock, ms since the epoch (a parameter for tests). */
    private readonly now: () => number = Date.now,
  ) {}

  push(track: InboundTrackInfo, packet: Buffer): void {
    const rtp = parseRtp(packet);
    // Another payload type on the track (RTX, FEC) is not ours to decode.
    if (!rtp || rtp.payloadType !== track.payloadType) return;
    const now = this.now();
    this.epochMs ??= now;
    let state = this.tracks[track.kind];
    if (!state?.serves(track, rtp.ssrc)) state = this.tracks[track.kind] = new TrackState(track, rtp.ssrc);
    const { frames, needKeyframe } = state.depacketizer.push(rtp);
    for (const frame of frames) this.emit(state, frame, state.timestampUs(frame, (now - this.epochMs) * 1000), now);
    if (needKeyframe && track.kind === 'video' && now - this.lastKeyframeRequest >= KEYFRAME_REQUEST_MS) {
      this.lastKeyframeRequest = now;
      this.requestKeyframe();
    }
  }

  /** Forget every track and config: the next frames start afresh, with their configs. */
  reset(): void {
    this.tracks = {};
    this.sent = {};
    this.epochMs = null;
    this.lastKeyframeRequest = -Infinity;
  }

  private emit(state: TrackState, frame: Frame, timestampUs: number, captureMs: number): void {
    const { kind, codec } = state.track;
    // codecName: what the player shows as the codec, as a browser publisher's config says it.
    const json = frame.config && JSON.stringify(kind === 'video' ? { ...frame.config, codecName: codec } : frame.config);
    if (json && json !== this.sent[kind]) {
      this.sent[kind] = json;
      const configKind = kind === 'video' ? FrameKind.videoConfig : FrameKind.audioConfig;
      this.send(encodeRelayFrame({ kind: configKind, keyframe: false, layer: 0, stream: 0, timestampUs, durationUs: 0, captureMs }, new TextEncoder().encode(json)));
    }
    const frameKind = kind === 'video' ? FrameKind.video : FrameKind.audio;
    this.send(encodeRelayFrame({ kind: frameKind, keyframe: frame.keyframe, layer: 0, stream: 0, timestampUs, durationUs: frame.durationUs ?? 0, captureMs }, frame.data));
  }
}
