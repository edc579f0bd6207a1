import { describe, expect, it } from 'vitest';
import { decodeRelayHeader, FrameKind, relayPayload, type RelayFrameHeader } from '../../../../src/protocol/relay-frame.js';
import { RelayTransmuxer } from '../../../../src/server/sfu/relay-transmux.js';
import type { InboundTrackInfo } from '../../../../src/server/sfu/types.js';
import { loadFixture, transmux, type FixtureName } from '../../../helpers/rtp-fixtures.js';
import { rtp } from '../../../helpers/rtp-build.js';

const VP8: InboundTrackInfo = { kind: 'video', codec: 'VP8', payloadType: 96, clockRate: 90_000 };
const OPUS: InboundTrackInfo = { kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48_000, channels: 2 };

const vp8Key = (width: number, height: number) => Uint8Array.of(0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, width & 0xff, width >> 8, height & 0xff, height >> 8, 1, 2);
const vp8Inter = Uint8Array.of(0x10, 0x11, 0x01, 0x00, 5);

class Harness {
  clock = 1_700_000_000_000;
  readonly out: { header: RelayFrameHeader; payload: Uint8Array }[] = [];
  keyframeRequests = 0;
  readonly transmuxer = new RelayTransmuxer(
    (frame) => this.out.push({ header: decodeRelayHeader(frame)!, payload: relayPayload(frame) }),
    () => this.keyframeRequests++,
    () => this.clock,
  );
  private sequence = 0;

  push(track: InboundTrackInfo, payload: Uint8Array, timestamp: number, o: { ssrc?: number; payloadType?: number; skip?: boolean } = {}): this {
    const packet = rtp(payload, { sequence: this.sequence++, timestamp, marker: true, payloadType: o.payloadType ?? track.payloadType, ...(o.ssrc ? { ssrc: o.ssrc } : {}) });
    if (!o.skip) this.transmuxer.push(track, packet);
    return this;
  }

  kinds(): string[] {
    const names = { [FrameKind.video]: 'video', [FrameKind.audio]: 'audio', [FrameKind.videoConfig]: 'videoConfig', [FrameKind.audioConfig]: 'audioConfig' };
    return this.out.map((f) => names[f.header.kind] + (f.header.keyframe && f.header.kind === FrameKind.video ? '(key)' : ''));
  }

  configs(): unknown[] {
    return this.out.filter((f) => f.header.kind === FrameKind.videoConfig || f.header.kind === FrameKind.audioConfig).map((f) => JSON.parse(Buffer.from(f.payload).toString()));
  }
}

describe('RelayTransmuxer', () => {
  it('a video config before the first keyframe, with codecName; the chunks; µs from the RTP clock; capture time from the wall clock; layer 0', () => {
    const h = new Harness().push(VP8, vp8Key(320, 240), 1000);
    h.clock += 40;
    h.push(VP8, vp8Inter, 1000 + 3000);
    expect(h.kinds()).toEqual(['videoConfig', 'video(key)', 'video']);
    expect(h.configs()).toEqual([{ codec: 'vp8', codedWidth: 320, codedHeight: 240, codecName: 'VP8' }]);
    expect(h.out.map((f) => f.header.timestampUs)).toEqual([0, 0, 33_333]);
    expect(h.out.map((f) => f.header.captureMs)).toEqual([h.clock - 40, h.clock - 40, h.clock]);
    expect(h.out.every((f) => f.header.layer === 0 && f.header.stream === 0)).toBe(true);
    expect(Buffer.from(h.out[1]!.payload)).toEqual(Buffer.from(vp8Key(320, 240).subarray(1)));
  });

  it('timestamps keep counting across the 32-bit RTP wrap', () => {
    const h = new Harness().push(VP8, vp8Key(320, 240), 2 ** 32 - 45_000).push(VP8, vp8Inter, 45_000);
    expect(h.out.map((f) => f.header.timestampUs)).toEqual([0, 0, 1_000_000]);
  });

  it('the config goes out again only when it changes, right before the keyframe that brings the change', () => {
    const h = new Harness().push(VP8, vp8Key(320, 240), 0).push(VP8, vp8Key(320, 240), 3000).push(VP8, vp8Key(640, 480), 6000).push(VP8, vp8Inter, 9000);
    expect(h.kinds()).toEqual(['videoConfig', 'video(key)', 'video(key)', 'videoConfig', 'video(key)', 'video']);
    expect(h.configs()).toEqual([
      { codec: 'vp8', codedWidth: 320, codedHeight: 240, codecName: 'VP8' },
      { codec: 'vp8', codedWidth: 640, codedHeight: 480, codecName: 'VP8' },
    ]);
  });

  it('asks for a keyframe when frames are lost, at most once a second while it waits, and not at a clean start', () => {
    const h = new Harness().push(VP8, vp8Key(320, 240), 0);
    expect(h.keyframeRequests).toBe(0);
    h.push(VP8, vp8Inter, 3000, { skip: true });
    for (let i = 2; i < 20; i++) {
      h.clock += 100;
      h.push(VP8, vp8Inter, i * 3000);
    }
    expect(h.keyframeRequests).toBe(2);
    h.push(VP8, vp8Key(320, 240), 20 * 3000).push(VP8, vp8Inter, 21 * 3000);
    h.clock += 5_000;
    h.push(VP8, vp8Inter, 22 * 3000);
    expect(h.keyframeRequests).toBe(2);
    expect(h.kinds()).toEqual(['videoConfig', 'video(key)', 'video(key)', 'video', 'video']);
  });

  it('audio: one config, then every packet as a chunk with its duration', () => {
    const h = new Harness().push(OPUS, Uint8Array.of(0xf8, 1), 0).push(OPUS, Uint8Array.of(0xf8, 2), 960);
    expect(h.kinds()).toEqual(['audioConfig', 'audio', 'audio']);
    expect(h.configs()).toEqual([{ codec: 'opus', sampleRate: 48_000, numberOfChannels: 2 }]);
    expect(h.out.slice(1).map((f) => [f.header.timestampUs, f.header.durationUs, f.header.keyframe])).toEqual([[0, 20_000, true], [20_000, 20_000, true]]);
  });

  it('packets of another payload type (RTX, FEC) are left alone', () => {
    const h = new Harness().push(VP8, vp8Key(320, 240), 0, { payloadType: 97 });
    expect(h.out).toEqual([]);
  });

  it('a new SSRC starts the track over: timestamps carry on from the wall clock, the same config is not sent again', () => {
    const h = new Harness().push(VP8, vp8Key(320, 240), 0);
    h.clock += 2_000;
    h.push(VP8, vp8Key(320, 240), 777_000, { ssrc: 99 }).push(VP8, vp8Inter, 780_000, { ssrc: 99 });
    expect(h.kinds()).toEqual(['videoConfig', 'video(key)', 'video(key)', 'video']);
    expect(h.out.map((f) => f.header.timestampUs)).toEqual([0, 0, 2_000_000, 2_033_333]);
  });

  it('after reset(), the configs go out again', () => {
    const h = new Harness().push(VP8, vp8Key(320, 240), 0).push(OPUS, Uint8Array.of(0xf8, 1), 0);
    h.transmuxer.reset();
    h.push(VP8, vp8Key(320, 240), 3000).push(OPUS, Uint8Array.of(0xf8, 1), 960);
    expect(h.kinds()).toEqual(['videoConfig', 'video(key)', 'audioConfig', 'audio', 'videoConfig', 'video(key)', 'audioConfig', 'audio']);
  });
});

describe('RelayTransmuxer on the RTP captured from Chromium', () => {
  const names: FixtureName[] = ['h264', 'vp8', 'vp9', 'av1', 'opus'];
  const payloads = (name: FixtureName, packets = loadFixture(name).packets) => transmux({ ...loadFixture(name), packets }).frames.map((f) => Buffer.from(f.subarray(4, 12)).toString('hex') + Buffer.from(relayPayload(f)).toString('hex'));

  it.each(names)('%s: packets swapped in pairs (after the first) come out as the same frames', (name) => {
    const packets = loadFixture(name).packets;
    const swapped = packets.map((p, i) => (i === 0 ? p : i % 2 === 1 ? (packets[i + 1] ?? p) : packets[i - 1]!));
    expect(payloads(name, swapped)).toEqual(payloads(name));
  });

  it.each(names)('%s: sequence numbers and timestamps that wrap mid-capture change nothing', (name) => {
    const { packets } = loadFixture(name);
    const first = packets[0]!.data;
    // Shift both so the wrap falls a third of the way in.
    const seqShift = 65_536 - Math.floor(packets.length / 3) - first.readUInt16BE(2);
    const tsShift = 2 ** 32 - (packets[Math.floor(packets.length / 3)]!.data.readUInt32BE(4) - first.readUInt32BE(4)) - first.readUInt32BE(4);
    const wrapped = packets.map((p) => {
      const data = Buffer.from(p.data);
      data.writeUInt16BE((data.readUInt16BE(2) + seqShift + 65_536) % 65_536, 2);
      data.writeUInt32BE((data.readUInt32BE(4) + tsShift + 2 ** 32) % 2 ** 32, 4);
      return { ...p, data };
    });
    expect(wrapped.some((p, i) => i > 0 && p.data.readUInt16BE(2) < wrapped[i - 1]!.data.readUInt16BE(2))).toBe(true);
    expect(payloads(name, wrapped)).toEqual(payloads(name));
  });
});
