// Opus over RTP (RFC 7587): the payload is the Opus packet, one per RTP
// packet, as WebCodecs decodes it. Its duration comes from the packet's TOC
// byte (RFC 6716 section 3.1), so the relay frame can carry it.
import { BROKEN, Depacketizer, type CodecFrame, type DecoderConfig } from './depacketizer.js';

export class OpusDepacketizer extends Depacketizer {
  private readonly config: DecoderConfig;

  /** `channels`: from the SDP, always 2 for Opus; the decoder mixes a mono packet up, a stereo one down. */
  constructor(clockRate: number, channels: number) {
    super(clockRate, 'audio');
    this.config = { codec: 'opus', sampleRate: clockRate, numberOfChannels: channels };
  }

  protected startsFrame(): boolean {
    return true;
  }

  protected depacketize([packet]: Uint8Array[]): CodecFrame | typeof BROKEN {
    const durationUs = opusDurationUs(packet!);
    if (durationUs === null) return BROKEN;
    return { data: packet!, keyframe: true, config: this.config, durationUs };
  }
}

/** The packet's duration from its TOC byte: frame size by config, frame count by code. */
function opusDurationUs(packet: Uint8Array): number | null {
  const toc = packet[0]!;
  const config = toc >> 3;
  // SILK configs 0–11: 10/20/40/60 ms; hybrid 12–15: 10/20 ms; CELT 16–31: 2.5/5/10/20 ms.
  const frameUs = config < 12 ? [10_000, 20_000, 40_000, 60_000][config % 4]! : config < 16 ? [10_000, 20_000][config % 2]! : [2_500, 5_000, 10_000, 20_000][config % 4]!;
  const code = toc & 3;
  if (code === 3 && packet.length < 2) return null;
  const frames = code === 0 ? 1 : code === 3 ? packet[1]! & 0x3f : 2;
  return frames === 0 ? null : frames * frameUs;
}
