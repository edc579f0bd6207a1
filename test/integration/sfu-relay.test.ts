// The server relay fed from a WHIP publisher (src/server/sfu/relay-bridge.ts):
// a viewer with no WebRTC path asks for the relay in a WHIP room and gets relay
// frames made from the publisher's RTP — the decoder config, key and delta
// frames, sound — and the publisher is asked for a keyframe for it. The
// broadcaster is not asked to encode for the relay.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FrameKind } from '../../src/protocol/relay-frame.js';
import { ClientPool, createRoom, eventually, joinRoom } from '../helpers/client.js';
import { RelayViewerPeer } from '../helpers/relay.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { TestPublisher } from '../helpers/sfu-peers.js';

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

describe('the server relay of a WHIP room', () => {
  it('a relay viewer gets the publisher VP8 and Opus as relay frames, starting on a keyframe', async () => {
    const room = await createRoom(await pool.connect());
    const publisher = new TestPublisher();
    peers.push(publisher);
    expect((await publisher.publish(`${srv.httpUrl}/api/whip/${room.roomId}`, room.token)).status).toBe(201);
    publisher.startAudio();
    // A live publisher is already sending: its first packets tell the server its SSRC, which a PLI names.
    publisher.sendFrame(false, 1_200);

    const asked = publisher.keyframeRequests;
    const viewer = await pool.connect();
    await joinRoom(viewer, room.roomId, room.broadcaster);
    viewer.send({ type: 'request_relay', room_id: room.roomId, codecs: ['VP8'] });
    const { ticket } = await viewer.next('relay_ready');
    const relay = await RelayViewerPeer.connect(srv.httpUrl.replace(/^http/, 'ws'), ticket!);
    peers.push(relay);

    // The relay's first viewer makes the bridge ask the publisher for a keyframe (a PLI).
    await eventually(async () => expect(publisher.keyframeRequests).toBeGreaterThan(asked));
    publisher.sendFrame(true, 3_000, 0x42, { width: 320, height: 240 });
    for (let i = 0; i < 5; i++) publisher.sendFrame(false, 1_200);
    publisher.sendFrame(true, 3_000, 0x42, { width: 320, height: 240 });
    await eventually(async () => expect(relay.frames.filter((f) => f.kind === FrameKind.video).length).toBeGreaterThanOrEqual(6));

    const video = relay.frames.filter((f) => f.kind === FrameKind.video);
    expect(relay.frames.find((f) => f.kind === FrameKind.videoConfig), 'a decoder config before the video').toBeDefined();
    expect(relay.frames.findIndex((f) => f.kind === FrameKind.videoConfig)).toBeLessThan(relay.frames.findIndex((f) => f.kind === FrameKind.video));
    expect(video[0]!.keyframe).toBe(true);
    expect(video.slice(1, 6).every((f) => !f.keyframe)).toBe(true);
    await eventually(async () => expect(relay.frames.some((f) => f.kind === FrameKind.audio)).toBe(true));
    expect(relay.frames.some((f) => f.kind === FrameKind.audioConfig)).toBe(true);
    // The WebSocket broadcaster was not asked to publish to the relay: the SFU feeds it.
    expect(room.broadcaster.log.filter((m) => m.type === 'relay_requested')).toEqual([]);
  });
});
