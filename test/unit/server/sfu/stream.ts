// Feeds one frame's payloads at a time to a depacketizer as RTP packets, and
// keeps what comes out: for the codec depacketizer tests.
import type { Depacketizer, Frame } from '../../../../src/server/sfu/depacketize/depacketizer.js';
import { parseRtp } from '../../../../src/server/sfu/rtp.js';
import { rtp } from '../../../helpers/rtp-build.js';

export class Stream {
  sequence = 1000;
  readonly frames: Frame[] = [];
  needKeyframe = false;

  constructor(readonly depacketizer: Depacketizer) {}

  /** One frame's payloads as packets, the marker bit on the last; `lose` skips some (they still take a sequence number). */
  send(timestamp: number, payloads: Uint8Array[], lose: number[] = []): this {
    payloads.forEach((payload, i) => {
      const packet = rtp(payload, { sequence: this.sequence++, timestamp, marker: i === payloads.length - 1, extension: true });
      if (lose.includes(i)) return;
      const out = this.depacketizer.push(parseRtp(packet)!);
      this.frames.push(...out.frames);
      this.needKeyframe = out.needKeyframe;
    });
    return this;
  }
}
