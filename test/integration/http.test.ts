// The HTTP half of the contract on a real server: the web app, /api/rooms,
// /api/ice-servers, /healthz, unknown API routes, path traversal, headers.
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClientPool, createRoom, freeRoomId, getJson, joinRoom, listedRooms, type RoomListing } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const INDEX_HTML = '<!doctype html><html><head><title>LiveRoom test</title></head><body><div id="app">liveroom-index-marker</div></body></html>';
const SECRET_TEXT = 'top-secret-outside-the-web-root';

let tmp: string;
let webRoot: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'liveroom-http-'));
  webRoot = path.join(tmp, 'web');
  await mkdir(path.join(webRoot, 'assets'), { recursive: true });
  await writeFile(path.join(webRoot, 'index.html'), INDEX_HTML);
  await writeFile(path.join(webRoot, 'assets', 'app-1234.js'), 'console.log("app");');
  await writeFile(path.join(webRoot, 'assets', 'style.css'), 'body{}');
  await writeFile(path.join(tmp, 'secret.txt'), SECRET_TEXT);
  // A sibling directory whose name starts like the web root's.
  await mkdir(path.join(tmp, 'web-private'));
  await writeFile(path.join(tmp, 'web-private', 'secret.txt'), SECRET_TEXT);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A raw GET that sends the path exactly as given (fetch and URL would normalise it). */
function rawGet(port: number, rawPath: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: rawPath, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function expectSecurityHeaders(headers: Headers): void {
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  const csp = headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  expect(headers.get('referrer-policy')).toBe('no-referrer');
}

describe('web app and headers', () => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServer({ staticDir: webRoot });
  });
  afterAll(async () => {
    await srv.close();
  });

  it('GET / serves the web app as HTML with security headers', async () => {
    const res = await fetch(srv.httpUrl + '/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toBe(INDEX_HTML);
    expectSecurityHeaders(res.headers);
  });

  it('a deep link path without a file extension serves the app too', async () => {
    for (const p of ['/watch/123456', '/broadcast', '/index.html']) {
      const res = await fetch(srv.httpUrl + p);
      expect(res.status, p).toBe(200);
      expect(await res.text()).toContain('liveroom-index-marker');
    }
  });

  it('assets are served with their content types', async () => {
    const js = await fetch(srv.httpUrl + '/assets/app-1234.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(await js.text()).toBe('console.log("app");');
    const css = await fetch(srv.httpUrl + '/assets/style.css');
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expectSecurityHeaders(css.headers);
  });

  it('a missing file is 404, not the app', async () => {
    const res = await fetch(srv.httpUrl + '/assets/missing.js');
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('liveroom-index-marker');
  });

  it('HEAD / answers headers only', async () => {
    const res = await rawGet(srv.port, '/', 'HEAD');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(INDEX_HTML));
  });

  it('path traversal never leaves the web root', async () => {
    const attempts = [
      '/../secret.txt',
      '/../../secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e/secret.txt',
      '/%2e%2e%2fsecret.txt',
      '/assets/../../secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/%2e%2e%5csecret.txt',
      '/....//secret.txt',
      '/../web-private/secret.txt',
      '/..%2fweb-private%2fsecret.txt',
      '/%2fetc%2fpasswd',
      '//etc/passwd',
      '/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/%00',
      '/secret.txt%00.html',
    ];
    for (const p of attempts) {
      const res = await rawGet(srv.port, p);
      expect(res.body, p).not.toContain(SECRET_TEXT);
      expect(res.body, p).not.toMatch(/root:.*:0:0:/);
      expect(res.status, p).toBeLessThan(500);
    }
  });

  it('a malformed percent-encoding is a 400, and the server keeps serving', async () => {
    const res = await rawGet(srv.port, '/%E0%A4%A');
    expect(res.status).toBe(400);
    expect((await fetch(srv.httpUrl + '/healthz')).status).toBe(200);
  });

  it('JSON answers carry the security headers and no-store', async () => {
    for (const p of ['/api/rooms', '/api/ice-servers', '/healthz', '/api/nope']) {
      const res = await fetch(srv.httpUrl + p);
      expect(res.headers.get('content-type'), p).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control'), p).toBe('no-store');
      expectSecurityHeaders(res.headers);
    }
  });

  it('without a built web app, GET / says so instead of serving something else', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'liveroom-empty-'));
    const bare = await startServer({ staticDir: empty });
    try {
      // (For "/" itself the server answers 404 "no file /"; for other app paths 500 not_built.)
      const root = await fetch(bare.httpUrl + '/');
      expect(root.status).toBeGreaterThanOrEqual(400);
      expect(((await root.json()) as { error: { code: string } }).error.code).toBeTypeOf('string');
      const deep = await fetch(bare.httpUrl + '/watch/123456');
      expect(deep.status).toBe(500);
      expect(((await deep.json()) as { error: { code: string } }).error.code).toBe('not_built');
      // The API is unaffected.
      expect((await fetch(bare.httpUrl + '/healthz')).status).toBe(200);
    } finally {
      await bare.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('API routes', () => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServer({ staticDir: webRoot });
  });
  afterAll(async () => {
    await srv.close();
  });

  it('GET /healthz -> {"status":"ok"}', async () => {
    const { status, body } = await getJson(srv.httpUrl, '/healthz');
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ok' });
  });

  it('unknown /api/* -> 404 {"error":{"code":"not_found","message":...}}', async () => {
    for (const p of ['/api', '/api/', '/api/nope', '/api/rooms/123456', '/api/rooms/', '/api/ice-servers/x', '/api/ROOMS', '/api/rooms.json', '/api/../api/nope']) {
      const res = await rawGet(srv.port, p);
      expect(res.status, p).toBe(404);
      const body = JSON.parse(res.body) as { error: { code: string; message: string } };
      expect(body.error.code, p).toBe('not_found');
      expect(typeof body.error.message).toBe('string');
      expect(body.error.message.length).toBeGreaterThan(0);
    }
  });

  it('an unknown API route is 404 whatever the method', async () => {
    const res = await fetch(srv.httpUrl + '/api/nope', { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('other methods on known routes are refused without side effects', async () => {
    const res = await fetch(srv.httpUrl + '/api/rooms', { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toContain('GET');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBeTypeOf('string');
    expect((await getJson<{ rooms: unknown[] }>(srv.httpUrl, '/api/rooms')).body.rooms).toEqual([]);
  });

  it('the WebSocket lives only at /ws', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/not-ws`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(404);
  });
});

describe('/api/rooms', () => {
  let srv: RunningServer;
  let pool: ClientPool;
  beforeEach(async () => {
    srv = await startServer({ statsIntervalMs: 600_000 });
    pool = new ClientPool(() => srv.wsUrl);
  });
  afterEach(async () => {
    expect(await pool.closeAll()).toEqual([]);
    await srv.close();
  });

  it('is empty without rooms', async () => {
    const { status, body } = await getJson(srv.httpUrl, '/api/rooms');
    expect(status).toBe(200);
    expect(body).toEqual({ rooms: [] });
  });

  it('lists exactly the live rooms with their viewer counts, at every moment', async () => {
    const before = Date.now();
    const b1 = await pool.connect();
    const b2 = await pool.connect();
    const r1 = await createRoom(b1);
    const r2 = await createRoom(b2);
    const { body } = await getJson<{ rooms: RoomListing[] }>(srv.httpUrl, '/api/rooms');
    expect(body.rooms.map((r) => r.room_id).sort()).toEqual([r1.roomId, r2.roomId].sort());
    for (const r of body.rooms) {
      expect(r.room_id).toMatch(/^\d{6}$/);
      expect(r.viewer_count).toBe(0);
      expect(new Date(r.created_at).toISOString()).toBe(r.created_at);
      expect(Date.parse(r.created_at)).toBeGreaterThanOrEqual(before - 1_000);
      expect(Date.parse(r.created_at)).toBeLessThanOrEqual(Date.now() + 1_000);
    }

    const viewers = await pool.connectMany(3);
    await joinRoom(viewers[0]!, r1.roomId, b1);
    expect(await listedRooms(srv.httpUrl)).toEqual(new Map([[r1.roomId, 1], [r2.roomId, 0]]));
    await joinRoom(viewers[1]!, r1.roomId, b1);
    await joinRoom(viewers[2]!, r2.roomId, b2);
    expect(await listedRooms(srv.httpUrl)).toEqual(new Map([[r1.roomId, 2], [r2.roomId, 1]]));

    // A viewer leaving, and a viewer's connection dying.
    viewers[0]!.send({ type: 'leave_room' });
    await b1.next('viewer_left');
    expect(await listedRooms(srv.httpUrl)).toEqual(new Map([[r1.roomId, 1], [r2.roomId, 1]]));
    await viewers[2]!.terminate();
    await b2.next('viewer_left');
    expect(await listedRooms(srv.httpUrl)).toEqual(new Map([[r1.roomId, 1], [r2.roomId, 0]]));

    // A refused join changes nothing.
    viewers[0]!.send({ type: 'join_room', room_id: '12345' });
    await viewers[0]!.nextError('invalid_room_id');
    const full = await pool.connect();
    full.send({ type: 'join_room', room_id: freeRoomId(srv.server.rooms) });
    await full.nextError('room_not_found');
    expect(await listedRooms(srv.httpUrl)).toEqual(new Map([[r1.roomId, 1], [r2.roomId, 0]]));

    // Ending a room removes it at once.
    b1.send({ type: 'end_room' });
    await viewers[1]!.next('room_closed');
    expect(await listedRooms(srv.httpUrl)).toEqual(new Map([[r2.roomId, 0]]));
    b2.send({ type: 'end_room' });
    await b2.roundTrip();
    expect(await listedRooms(srv.httpUrl)).toEqual(new Map());
  });
});

describe('/api/ice-servers', () => {
  it('without STUN or TURN: an empty list, the same as welcome', async () => {
    const srv = await startServer({ stunUrls: [] });
    const pool = new ClientPool(() => srv.wsUrl);
    try {
      const { status, body } = await getJson(srv.httpUrl, '/api/ice-servers');
      expect(status).toBe(200);
      expect(body).toEqual({ ice_servers: [] });
      expect((await pool.connect()).welcome.ice_servers).toEqual([]);
    } finally {
      await pool.closeAll();
      await srv.close();
    }
  });

  it('STUN and static TURN credentials, the same list as welcome', async () => {
    const stunUrls = ['stun:stun.example.org:3478'];
    const turn = { urls: ['turn:turn.example.org:3478?transport=udp'], username: 'user', credential: 'pass', ttlSeconds: 3600 };
    const srv = await startServer({ stunUrls, turn });
    const pool = new ClientPool(() => srv.wsUrl);
    try {
      const expected = [{ urls: stunUrls }, { urls: turn.urls, username: 'user', credential: 'pass' }];
      expect((await getJson(srv.httpUrl, '/api/ice-servers')).body).toEqual({ ice_servers: expected });
      expect((await pool.connect()).welcome.ice_servers).toEqual(expected);
    } finally {
      await pool.closeAll();
      await srv.close();
    }
  });

  it('with a TURN secret: username "<expiry>:<id>" and credential base64(HMAC-SHA1(secret, username))', async () => {
    const secret = 'coturn-shared-secret';
    const ttl = 900;
    const stunUrls = ['stun:stun.example.org:3478', 'stun:stun2.example.org:3478'];
    const turnUrls = ['turn:turn.example.org:3478', 'turns:turn.example.org:5349?transport=tcp'];
    const srv = await startServer({ stunUrls, turn: { urls: turnUrls, secret, ttlSeconds: ttl } });
    const pool = new ClientPool(() => srv.wsUrl);
    try {
      const checkTurn = (entry: { urls: string[]; username?: string; credential?: string }, clientId?: string) => {
        expect(entry.urls).toEqual(turnUrls);
        const match = /^(\d+):(.+)$/.exec(entry.username ?? '');
        expect(match, entry.username).not.toBeNull();
        const expiry = Number(match![1]);
        const nowSeconds = Math.floor(Date.now() / 1000);
        expect(expiry).toBeGreaterThanOrEqual(nowSeconds + ttl - 5);
        expect(expiry).toBeLessThanOrEqual(nowSeconds + ttl + 1);
        if (clientId !== undefined) expect(match![2]).toBe(clientId);
        expect(entry.credential).toBe(createHmac('sha1', secret).update(entry.username!).digest('base64'));
        return match![2]!;
      };

      const { status, body } = await getJson<{ ice_servers: { urls: string[]; username?: string; credential?: string }[] }>(
        srv.httpUrl,
        '/api/ice-servers',
      );
      expect(status).toBe(200);
      expect(body.ice_servers).toHaveLength(2);
      expect(body.ice_servers[0]).toEqual({ urls: stunUrls });
      const id1 = checkTurn(body.ice_servers[1]!);
      expect(JSON.stringify(body)).not.toContain(secret);
      // Each REST caller gets its own username.
      const again = await getJson<typeof body>(srv.httpUrl, '/api/ice-servers');
      expect(checkTurn(again.body.ice_servers[1]!)).not.toBe(id1);

      // welcome carries the same list, with the client's own id in the username.
      const c = await pool.connect();
      expect(c.welcome.ice_servers[0]).toEqual({ urls: stunUrls });
      checkTurn(c.welcome.ice_servers[1]!, c.id);
    } finally {
      await pool.closeAll();
      await srv.close();
    }
  });
});

describe('/healthz while shutting down', () => {
  it('is ok while accepting, and the server stops answering after close', async () => {
    const srv = await startServer();
    expect((await getJson(srv.httpUrl, '/healthz')).body).toEqual({ status: 'ok' });
    await srv.close();
    await expect(fetch(srv.httpUrl + '/healthz')).rejects.toThrow();
  });
});
