// The RTP captured from Chromium (test/fixtures/capture-rtp.ts), replayed
// through the transmuxer: what the relay's viewers would get.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { decodeRelayHeader, FrameKind, type RelayFrameHeader } from '../../src/protocol/relay-frame.js';
import { RelayTransmuxer } from '../../src/server/sfu/relay-transmux.js';
import { parseRtp } from '../../src/server/sfu/rtp.js';
import type { InboundTrackInfo } from '../../src/server/sfu/types.js';
import { readRtpdump, type RecordedPacket } from './rtpdump.js';

const DIR = path.resolve(import.meta.dirname, '../fixtures/rtp');

export type FixtureName = 'h264' | 'vp8' | 'vp9' | 'av1' | 'opus';

export interface Fixture {
  track: InboundTrackInfo;
  packets: RecordedPacket[];
}

export function loadFixture(name: FixtureName): Fixture {
  const tracks = JSON.parse(readFileSync(path.join(DIR, 'tracks.json'), 'utf8')) as Record<FixtureName, InboundTrackInfo>;
  return { track: tracks[name], packets: readRtpdump(path.join(DIR, `${name}.rtpdump`)) };
}

export interface Transmuxed {
  frames: Uint8Array[];
  headers: RelayFrameHeader[];
  keyframeRequests: number;
}

/**
 * Every packet through one RelayTransmuxer, in capture order, but for the
 * packets at `drop`; its clock is the capture's, so runs are alike.
 */
export function transmux({ track, packets }: Fixture, drop: number[] = []): Transmuxed {
  const out: Transmuxed = { frames: [], headers: [], keyframeRequests: 0 };
  let clock = 0;
  const transmuxer = new RelayTransmuxer(
    (frame) => {
      out.frames.push(frame);
      out.headers.push(decodeRelayHeader(frame)!);
    },
    () => out.keyframeRequests++,
    () => clock,
  );
  packets.forEach((p, i) => {
    clock = p.offsetMs;
    if (!drop.includes(i)) transmuxer.push(track, p.data);
  });
  return out;
}

/** A packet that carries media (not padding) about a quarter into the capture: inside the first keyframe's GOP. */
export function mediaPacketAtQuarter({ packets }: Fixture): number {
  const at = packets.findIndex((p, i) => i >= packets.length / 4 && parseRtp(p.data)!.payload.length > 0);
  if (at < 0) throw new Error('no media packet');
  return at;
}

export const isVideo = (h: RelayFrameHeader) => h.kind === FrameKind.video;
