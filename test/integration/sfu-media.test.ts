// Media through the SFU with real peer connections on loopback: a WHIP
// publisher sends RTP (VP8 frames packetized in test/helpers/sfu-peers.ts, and
// Opus-sized audio) and WHEP players get it with their own payload types, the
// SFU's SSRCs and unbroken sequence numbers; a late joiner starts on a
// keyframe; a player's PLI reaches the publisher, merged; a second publisher
// with the same token takes over without the players reconnecting.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SfuPublisher } from '../../src/server/sfu/publisher.js';
import { readRtpHeader } from '../../src/server/sfu/rtp.js';
import { ClientPool, createRoom, eventually, type OpenRoom } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { metric, TestPlayer, TestPublisher, type Received } from '../helpers/sfu-peers.js';

let srv: RunningServer;
const pool = new ClientPool(() => srv.wsUrl);
const peers: { close(): void }[] = [];

beforeAll(async () => {
  srv = await startServer();
});
afterEach(async () => {
  peers.splice(0).forEach((p) => p.close());
  expect(await pool.closeAll()).toEqual([]);
});
afterAll(() => srv.close());

async function publish(room: OpenRoom): Promise<TestPublisher> {
  const pub = new TestPublisher();
  peers.push(pub);
  const res = await pub.publish(`${srv.httpUrl}/api/whip/${room.roomId}`, room.token);
  expect(res.status).toBe(201);
  return pub;
}

async function play(room: OpenRoom, options?: ConstructorParameters<typeof TestPlayer>[0]): Promise<TestPlayer> {
  const p = new TestPlayer(options);
  peers.push(p);
  const res = await p.view(`${srv.httpUrl}/api/whep/${room.roomId}`);
  expect(res.status).toBe(201);
  return p;
}

/** The SSRC the answer gives a kind's track. */
function answeredSsrc(answer: string, kind: 'video' | 'audio'): number {
  const section = answer.split(/^m=/m).find((s) => s.startsWith(kind))!;
  return Number(/^a=ssrc:(\d+) /m.exec(section)![1]);
}

/** Sequence numbers one after the other, modulo 2^16. */
function expectUnbroken(packets: Received[]): void {
  const seqs = packets.map((p) => p.header.sequenceNumber);
  for (let i = 1; i < seqs.length; i++) expect((seqs[i]! - seqs[i - 1]!) & 0xffff, `packet ${i}: ${seqs[i - 1]} then ${seqs[i]}`).toBe(1);
}

const payloadOf = (p: Buffer) => p.subarray(readRtpHeader(p)!.payloadOffset);

/**
 * Keyframes until every player has one: a player's server-side track opens a
 * moment after its own, and video sent before that does not reach it. Then the
 * players' packet lists start empty.
 */
async function primed(pub: TestPublisher, players: TestPlayer[]): Promise<void> {
  await eventually(async () => {
    pub.sendFrame(true, 200);
    await new Promise((r) => setTimeout(r, 30));
    for (const p of players) expect(p.videoPackets.length).toBeGreaterThan(0);
  });
  await new Promise((r) => setTimeout(r, 30));
  for (const p of players) p.videoPackets.length = 0;
}

describe('fan-out', () => {
  it('players get every packet with their own payload type, the SFU’s SSRC and continuous sequence numbers; payloads unchanged', async () => {
    const room = await createRoom(await pool.connect());
    const pub = await publish(room);
    const a = await play(room, { videoPayloadType: 100 });
    const b = await play(room, { videoPayloadType: 120 });
    await primed(pub, [a, b]);
    const sent: Buffer[] = [];
    for (let i = 0; i < 10; i++) sent.push(...pub.sendFrame(i === 0, 2500, 0x30 + i));
    pub.sendAudio();
    for (const p of [a, b]) {
      const got = await p.videoCount(sent.length);
      expect(got.map((g) => g.header.payloadType)).toEqual(Array(sent.length).fill(p === a ? 100 : 120));
      expect(new Set(got.map((g) => g.header.ssrc))).toEqual(new Set([answeredSsrc(p.answer, 'video')]));
      expectUnbroken(got);
      got.forEach((g, i) => expect(payloadOf(g.packet).equals(payloadOf(sent[i]!)), `payload ${i}`).toBe(true));
      expect(got.map((g) => g.header.marker)).toEqual(sent.map((s) => readRtpHeader(s)!.marker));
      await eventually(async () => expect(p.audioPackets.length).toBeGreaterThan(0));
      expect(p.audioPackets[0]!.header).toMatchObject({ payloadType: 109, ssrc: answeredSsrc(p.answer, 'audio') });
    }
    // Two viewers, one stream: the SSRC is the feed's, whoever asks.
    expect(answeredSsrc(a.answer, 'video')).toBe(answeredSsrc(b.answer, 'video'));
    expect(await metric(srv.httpUrl, 'liveroom_sfu_forwarded_packets_total{kind="video"}')).toBeGreaterThanOrEqual(2 * sent.length);
  });

  it('the publisher is asked for REMB at the ceiling with each receiver report', async () => {
    const room = await createRoom(await pool.connect());
    const pub = await publish(room);
    pub.startAudio();
    pub.sendFrame(true);
    // The sender report goes out once a second; the server answers each with RR and REMB.
    await eventually(async () => expect(pub.remb.length).toBeGreaterThan(0), 5_000);
    expect(pub.remb.at(-1)).toBe(2_500_000);
  });
});

describe('keyframes', () => {
  it('a late joiner gets nothing until a keyframe, and the publisher is asked for one', async () => {
    const room = await createRoom(await pool.connect());
    const pub = await publish(room);
    const early = await play(room);
    await primed(pub, [early]);
    const late = await play(room);
    const asked = pub.keyframeRequests;
    // Inter frames: held back from the new player, whose gate asks for a keyframe (once its track is open).
    await eventually(async () => {
      pub.sendFrame(false);
      await new Promise((r) => setTimeout(r, 30));
      expect(pub.keyframeRequests).toBeGreaterThan(asked);
    });
    expect(late.videoPackets).toEqual([]);
    const key = pub.sendFrame(true, 2500, 0x77);
    const got = await late.videoCount(key.length);
    expect(payloadOf(got[0]!.packet).equals(payloadOf(key[0]!))).toBe(true);
    expectUnbroken(got);
  });

  it("a player's PLI reaches the publisher, merged: a burst of them is one request now and at most one more a second later", async () => {
    const room = await createRoom(await pool.connect());
    const pub = await publish(room);
    const players = [await play(room), await play(room), await play(room)];
    await primed(pub, players);
    // A request within 500 ms of a keyframe starting is taken as overtaken by it (gate.ts).
    await new Promise((r) => setTimeout(r, 600));
    const before = pub.keyframeRequests;
    for (let i = 0; i < 5; i++) for (const p of players) p.sendPli();
    await eventually(async () => expect(pub.keyframeRequests).toBeGreaterThan(before));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(pub.keyframeRequests - before).toBeLessThanOrEqual(2);
  });

  it('a player that lost the picture (PLI) gets no video until the next keyframe', async () => {
    const room = await createRoom(await pool.connect());
    const pub = await publish(room);
    const p = await play(room);
    await primed(pub, [p]);
    await new Promise((r) => setTimeout(r, 600));
    const asked = pub.keyframeRequests;
    p.sendPli();
    await eventually(async () => expect(pub.keyframeRequests).toBeGreaterThan(asked));
    const count = p.videoPackets.length;
    pub.sendFrame(false);
    pub.sendFrame(false);
    const key = pub.sendFrame(true);
    const got = await p.videoCount(count + key.length);
    expect(got.slice(count).map((g) => payloadOf(g.packet).equals(payloadOf(key[got.indexOf(g) - count]!)))).toEqual(key.map(() => true));
    expectUnbroken(got);
  });
});

describe('other consumers of a room\'s RTP (the relay transmuxer)', () => {
  it('get every publisher as it starts feeding a room, with its tracks, and its packets as they arrive', async () => {
    const room = await createRoom(await pool.connect());
    const seen: { roomId: string; tracks: unknown[]; packets: number[] }[] = [];
    const listener = (roomId: string, publisher: SfuPublisher) => {
      const entry = { roomId, tracks: publisher.tracks, packets: [] as number[] };
      seen.push(entry);
      publisher.on('rtp', (track, packet) => {
        if (track.kind === 'video') entry.packets.push(readRtpHeader(packet)!.sequenceNumber);
      });
    };
    srv.server.sfu.on('publisher', listener);
    try {
      const pub = await publish(room);
      const sent = pub.sendFrame(true);
      await eventually(async () => expect(seen[0]?.packets.length).toBe(sent.length));
      expect(seen[0]).toMatchObject({
        roomId: room.roomId,
        tracks: [
          { kind: 'video', codec: 'VP8', payloadType: 96, clockRate: 90000 },
          { kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2 },
        ],
      });
      // As the publisher sent them: its own sequence numbers, untouched.
      expect(seen[0]!.packets).toEqual(sent.map((p) => readRtpHeader(p)!.sequenceNumber));
      await publish(room);
      expect(seen).toHaveLength(2);
    } finally {
      srv.server.sfu.off('publisher', listener);
    }
  });
});

describe('a publisher that reconnects with the same token', () => {
  it('replaces the old session at once; players keep their peer connection and continue on the new source after its keyframe', async () => {
    const room = await createRoom(await pool.connect());
    const first = await publish(room);
    const p = await play(room);
    await primed(first, [p]);
    const before = first.sendFrame(true);
    await p.videoCount(before.length);
    const ssrc = p.videoPackets[0]!.header.ssrc;
    const second = await publish(room);
    expect(second.videoSsrc).not.toBe(first.videoSsrc);
    expect(srv.server.sfu.feed(room.roomId)?.publisher?.peer.closed).toBe(false);
    // The new source's first inter frame is held back; its keyframe continues the stream.
    second.sendFrame(false);
    const key = second.sendFrame(true);
    const got = await p.videoCount(before.length + key.length);
    expectUnbroken(got);
    expect(new Set(got.map((g) => g.header.ssrc))).toEqual(new Set([ssrc]));
    expect(payloadOf(got[before.length]!.packet).equals(payloadOf(key[0]!))).toBe(true);
    // Still one publisher session for the room.
    expect(srv.server.sfu.feed(room.roomId)?.viewers.size).toBe(1);
  });
});
