// The WHIP and WHEP HTTP exchange from Node, against a real server: what a
// good POST gets back (status, headers, an answer with every candidate), every
// error status of the contract with its code and a body that says what to
// change, CORS, PATCH and DELETE of a session, and the per-address limit.
// Offers come from real node-datachannel peer connections (test/helpers/sfu-peers.ts).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/server/config.js';
import { ClientPool, createRoom, type OpenRoom } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { metric, postOffer, TestPlayer, TestPublisher } from '../helpers/sfu-peers.js';

const STUN = 'stun:stun.example.org:3478';
const TURN = 'turn:turn.example.org:3478?transport=udp';
let srv: RunningServer;
const pool = new ClientPool(() => srv.wsUrl);
const peers: { close(): void }[] = [];

beforeAll(async () => {
  // No STUN server is asked for anything here: the server's own gathering uses none of them
  // unless they answer, and these do not resolve (the answer waits at most 2 s for them).
  srv = await startServer({ stunUrls: [STUN], turn: { urls: [TURN], secret: 'turn-secret', ttlSeconds: 600 } });
});
afterEach(async () => {
  peers.splice(0).forEach((p) => p.close());
  expect(await pool.closeAll()).toEqual([]);
});
afterAll(() => srv.close());

const whip = (roomId: string) => `${srv.httpUrl}/api/whip/${roomId}`;
const whep = (roomId: string) => `${srv.httpUrl}/api/whep/${roomId}`;

function publisher(): TestPublisher {
  const p = new TestPublisher();
  peers.push(p);
  return p;
}
function player(options?: ConstructorParameters<typeof TestPlayer>[0]): TestPlayer {
  const p = new TestPlayer(options);
  peers.push(p);
  return p;
}

async function errorOf(res: { status: number; body: string }): Promise<{ code: string; message: string }> {
  return (JSON.parse(res.body) as { error: { code: string; message: string } }).error;
}

async function liveRoom(): Promise<{ room: OpenRoom; pub: TestPublisher }> {
  const room = await createRoom(await pool.connect());
  const pub = publisher();
  const res = await pub.publish(whip(room.roomId), room.token);
  expect(res.status).toBe(201);
  return { room, pub };
}

describe('WHIP POST', () => {
  it('201 with the answer and every candidate in it, an absolute Location, an ETag, ICE servers as Link headers, CORS', async () => {
    const room = await createRoom(await pool.connect());
    const pub = publisher();
    const res = await pub.publish(whip(room.roomId), room.token);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/sdp');
    expect(res.headers.get('location')).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${srv.port}/api/whip/${room.roomId}/[\\w-]{22}$`));
    expect(res.headers.get('etag')).toMatch(/^"[\w-]+"$/);
    const links = res.headers.get('link')!;
    expect(links).toContain(`<${STUN}>; rel="ice-server"`);
    expect(links).toMatch(new RegExp(`<${TURN.replace(/[?]/g, '\\?')}>; rel="ice-server"; username="\\d+:whip-[\\w-]+"; credential="[^"]+"; credential-type="password"`));
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/Location.*ETag.*Link/);
    // The answer: all of the server's candidates (no trickle from it), on the one UDP port.
    const port = srv.server.sfu.engine.port;
    expect(res.body).toMatch(new RegExp(`^a=candidate:\\S+ 1 UDP \\d+ \\S+ ${port} typ host$`, 'm'));
    expect(res.body).toMatch(/^a=end-of-candidates$/m);
    // Congestion control by REMB: no transport-cc in what the publisher is answered.
    expect(res.body).not.toMatch(/transport-cc|transport-wide-cc/);
    expect(res.body).toMatch(/^a=rtcp-fb:96 goog-remb$/m);
    expect(res.body).toMatch(/^a=recvonly$/m);
  });

  it('the Location follows X-Forwarded-Proto and -Host behind a trusted proxy', async () => {
    const proxied = await startServer({ trustProxy: true });
    try {
      const b = await pool.connect(proxied.wsUrl);
      const room = await createRoom(b);
      const pub = publisher();
      const res = await fetch(`${proxied.httpUrl}/api/whip/${room.roomId}`, {
        method: 'POST',
        body: await pub.offer(),
        headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${room.token}`, 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'live.example.com' },
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toMatch(new RegExp(`^https://live\\.example\\.com/api/whip/${room.roomId}/`));
    } finally {
      await proxied.close();
    }
  });

  it('with ANNOUNCED_IP, the answer\'s host candidates carry that address instead of the server\'s own', async () => {
    const { sfu } = defaultConfig();
    const natted = await startServer({ sfu: { ...sfu, announcedIp: '203.0.113.7' } });
    try {
      const room = await createRoom(await pool.connect(natted.wsUrl));
      const res = await postOffer(`${natted.httpUrl}/api/whip/${room.roomId}`, await publisher().offer(), room.token);
      expect(res.status).toBe(201);
      const hosts = [...res.body.matchAll(/^a=candidate:\S+ 1 UDP \d+ (\S+) (\d+) typ host/gm)];
      expect(hosts.map((m) => m[1])).toEqual(['203.0.113.7']);
      expect(hosts[0]![2]).toBe(String(natted.server.sfu.engine.port));
    } finally {
      await natted.close();
    }
  });

  it('a token for a room the server no longer has opens it again (as a WebSocket reclaim does)', async () => {
    const secret = 'sfu-reopen-secret';
    const first = await startServer({ roomSecret: secret });
    const room = await createRoom(await pool.connect(first.wsUrl));
    await first.close();
    const second = await startServer({ roomSecret: secret });
    try {
      expect(second.server.rooms.get(room.roomId)).toBeUndefined();
      const pub = publisher();
      const res = await pub.publish(`${second.httpUrl}/api/whip/${room.roomId}`, room.token);
      expect(res.status).toBe(201);
      expect(second.server.rooms.get(room.roomId)?.broadcaster?.id).toMatch(/^whip-/);
    } finally {
      await second.close();
    }
  });

  it('401 without a token or with a wrong one, and the body never repeats the token', async () => {
    const room = await createRoom(await pool.connect());
    const offer = await publisher().offer();
    const none = await postOffer(whip(room.roomId), offer);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await errorOf(none)).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/room token/) });
    const wrong = await postOffer(whip(room.roomId), offer, 'nonce.not-the-signature');
    expect(wrong.status).toBe(401);
    expect(wrong.body).not.toContain('not-the-signature');
    // Another room's token is a wrong token too.
    const other = await createRoom(await pool.connect());
    expect((await postOffer(whip(room.roomId), offer, other.token)).status).toBe(401);
  });

  it('404 invalid_room_id for a malformed room code', async () => {
    const res = await postOffer(`${srv.httpUrl}/api/whip/12ab56`, 'v=0', 'x');
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toMatchObject({ code: 'invalid_room_id' });
  });

  it('415 for anything but application/sdp', async () => {
    const room = await createRoom(await pool.connect());
    const res = await postOffer(whip(room.roomId), await publisher().offer(), room.token, 'text/plain');
    expect(res.status).toBe(415);
    expect(await errorOf(res)).toMatchObject({ code: 'unsupported_media_type', message: expect.stringMatching(/application\/sdp/) });
  });

  it('413 for an offer over the limit, saying the limit', async () => {
    const room = await createRoom(await pool.connect());
    const huge = `v=0\r\n${'a=x\r\n'.repeat(20_000)}`;
    const res = await postOffer(whip(room.roomId), huge, room.token);
    expect(res.status).toBe(413);
    expect(await errorOf(res)).toMatchObject({ code: 'too_large', message: expect.stringContaining(String(defaultConfig().sfu.maxSdpBytes)) });
  });

  it('400 bad_sdp for what is not an offer, has no media section, or libdatachannel refuses; no peer connection is left behind', async () => {
    const room = await createRoom(await pool.connect());
    const before = await metric(srv.httpUrl, 'liveroom_sfu_peer_connections');
    const offer = await publisher().offer();
    for (const [sdp, why] of [
      ['hello', /v=0/],
      ['v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n', /no audio or video/],
      [offer.replace(/a=fingerprint:.*\r\n/g, ''), /fingerprint/],
      // Past our own checks: libdatachannel refuses it once the peer connection exists.
      [offer.replace(/a=fingerprint:sha-256 \S+/, 'a=fingerprint:sha-256 not-a-fingerprint'), /could not be used/],
    ] as const) {
      const res = await postOffer(whip(room.roomId), sdp, room.token);
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: 'bad_sdp', message: expect.stringMatching(why) });
    }
    expect(await metric(srv.httpUrl, 'liveroom_sfu_peer_connections')).toBe(before);
  });

  it('422 no_common_codec for an offer with no codec the SFU takes, naming the ones it accepts', async () => {
    const room = await createRoom(await pool.connect());
    const offer = (await publisher().offer()).replace(/VP8\/90000/, 'H265/90000').replace(/opus\/48000\/2/, 'PCMU/8000');
    const res = await postOffer(whip(room.roomId), offer, room.token);
    expect(res.status).toBe(422);
    expect(await errorOf(res)).toMatchObject({ code: 'no_common_codec', message: expect.stringMatching(/AV1.*VP9.*VP8.*H\.264.*Opus/) });
  });

  it('405 for other methods, with Allow', async () => {
    const room = await createRoom(await pool.connect());
    const res = await fetch(whip(room.roomId));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
  });
});

describe('CORS preflight', () => {
  it('OPTIONS on the door and on a session lets a browser WHIP/WHEP client in and read Location, ETag and Link', async () => {
    const { room, pub } = await liveRoom();
    for (const url of [whip(room.roomId), whep(room.roomId), pub.location]) {
      const res = await fetch(url, { method: 'OPTIONS', headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' } });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization.*Content-Type.*If-Match/);
      expect(res.headers.get('access-control-allow-methods')).toMatch(/POST.*PATCH.*DELETE/);
      expect(res.headers.get('access-control-expose-headers')).toMatch(/Location.*ETag.*Link/);
    }
  });
});

describe('WHEP POST', () => {
  it('404 room_not_found for a room that does not exist; 409 not_live with Retry-After before anything is published', async () => {
    const offer = await player().offer();
    const missing = await postOffer(whep('000000'), offer);
    expect(missing.status).toBe(404);
    expect(await errorOf(missing)).toMatchObject({ code: 'room_not_found' });
    const room = await createRoom(await pool.connect());
    const early = await postOffer(whep(room.roomId), offer);
    expect(early.status).toBe(409);
    expect(early.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await errorOf(early)).toMatchObject({ code: 'not_live' });
  });

  it("201 with a sendonly answer whose video and audio share one a=msid stream id", async () => {
    const { room } = await liveRoom();
    const p = player();
    const res = await p.view(whep(room.roomId));
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${srv.port}/api/whep/${room.roomId}/[\\w-]{22}$`));
    expect(res.body).toMatch(/^a=sendonly$/m);
    const msids = [...res.body.matchAll(/^a=msid:(\S+) (\S+)$/gm)].map((m) => m[1]);
    expect(msids).toHaveLength(2);
    expect(new Set(msids).size).toBe(1);
    expect(res.body).toMatch(/^a=end-of-candidates$/m);
  });

  it('422 no_common_codec for a player that cannot decode the room’s video, naming what the room sends', async () => {
    const { room } = await liveRoom();
    const offer = (await player({ h264Only: true }).offer()).replace(/^m=audio .*[\s\S]*$/m, '').replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0');
    const res = await postOffer(whep(room.roomId), offer);
    expect(res.status).toBe(422);
    expect(await errorOf(res)).toMatchObject({ code: 'no_common_codec', message: expect.stringMatching(/sends VP8 and Opus/) });
  });

  it('a password room: 401 without the password or with a wrong one, 201 with it as the Bearer token', async () => {
    const b = await pool.connect();
    b.send({ type: 'create_room', password: 'open sesame' });
    const created = await b.next('room_created');
    const pub = publisher();
    expect((await pub.publish(whip(created.room_id), created.room_token)).status).toBe(201);
    const offer = await player().offer();
    const without = await postOffer(whep(created.room_id), offer);
    expect(without.status).toBe(401);
    expect(await errorOf(without)).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/password/) });
    expect((await postOffer(whep(created.room_id), offer, 'open says me')).status).toBe(401);
    expect((await player().view(whep(created.room_id), 'open sesame')).status).toBe(201);
  });

  it('415 and 400 as for WHIP', async () => {
    const { room } = await liveRoom();
    expect((await postOffer(whep(room.roomId), await player().offer(), undefined, 'application/json')).status).toBe(415);
    const bad = await postOffer(whep(room.roomId), 'v=0\r\nm=video\r\n');
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toMatchObject({ code: 'bad_sdp' });
  });
});

describe('a session: PATCH and DELETE', () => {
  it('PATCH with trickled candidates is 204; a wrong content type 415, a stale If-Match 412, an ICE restart 422', async () => {
    const { pub } = await liveRoom();
    const etag = pub.location && (await fetch(pub.location, { method: 'OPTIONS' })).headers.get('allow');
    expect(etag).toBe('PATCH, DELETE, OPTIONS');
    const ufrag = /a=ice-ufrag:(\S+)/.exec(pub.pc.localDescription()!.sdp)![1]!;
    const frag = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:whatever\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.10 54321 typ host\r\na=end-of-candidates\r\n`;
    const patch = (body: string, headers: Record<string, string> = {}) =>
      fetch(pub.location, { method: 'PATCH', body, headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ...headers } });
    expect((await patch(frag)).status).toBe(204);
    expect((await patch(frag, { 'Content-Type': 'application/sdp' })).status).toBe(415);
    const stale = await patch(frag, { 'If-Match': '"not-the-etag"' });
    expect(stale.status).toBe(412);
    const restart = await patch(frag.replace(`a=ice-ufrag:${ufrag}`, 'a=ice-ufrag:fresh'), { 'If-Match': '*' });
    expect(restart.status).toBe(422);
    expect(JSON.parse(await restart.text())).toMatchObject({ error: { code: 'ice_restart_not_supported', message: expect.stringMatching(/ICE restarts/) } });
    expect((await patch('a=mid:0\r\na=candidate:nonsense')).status).toBe(400);
  });

  it('DELETE ends the session (200) and frees its peer connection, after which it is 404; an unknown session is 404', async () => {
    const { room, pub } = await liveRoom();
    expect(srv.server.sfu.isLive(room.roomId)).toBe(true);
    const before = await metric(srv.httpUrl, 'liveroom_sfu_peer_connections');
    const res = await fetch(pub.location, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(srv.server.sfu.isLive(room.roomId)).toBe(false);
    expect(await metric(srv.httpUrl, 'liveroom_sfu_peer_connections')).toBeLessThan(before);
    expect((await fetch(pub.location, { method: 'DELETE' })).status).toBe(404);
    const unknown = await fetch(`${whip(room.roomId)}/AAAAAAAAAAAAAAAAAAAAAA`, { method: 'PATCH', body: '', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' } });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(await unknown.text())).toMatchObject({ error: { code: 'session_not_found' } });
  });
});

describe('a flood of failed POSTs from one address', () => {
  it('is refused with 429 once it has used up the failed-join allowance, before any work', async () => {
    const limited = await startServer({ limits: { ...defaultConfig().limits, failedJoinsPerMinute: 3 } });
    try {
      const room = await createRoom(await pool.connect(limited.wsUrl));
      const url = `${limited.httpUrl}/api/whip/${room.roomId}`;
      for (let i = 0; i < 3; i++) expect((await postOffer(url, 'v=0', 'wrong-token')).status).toBe(401);
      const refused = await postOffer(url, await publisher().offer(), room.token);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await errorOf(refused)).toMatchObject({ code: 'rate_limited' });
      // The same limit covers the WHEP door and session URLs.
      expect((await postOffer(`${limited.httpUrl}/api/whep/${room.roomId}`, 'v=0')).status).toBe(429);
    } finally {
      await limited.close();
    }
  });
});
