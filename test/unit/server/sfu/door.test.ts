// What the WHIP and WHEP doors share: failed POSTs count against the address
// like failed joins, the Location as the client reached the server, and the
// ICE servers as Link headers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../../src/server/config.js';
import { IpLimits } from '../../../../src/server/ip-limits.js';
import { absoluteUrl, bearer, iceLinks, refuse, type DoorRequest, type SfuHttpDeps } from '../../../../src/server/sfu/door.js';

/** Just enough of a response to see what was written. */
function response(): ServerResponse & { status: number; headers: Record<string, unknown>; body: string } {
  const res = {
    status: 0,
    headers: {} as Record<string, unknown>,
    body: '',
    writeHead(status: number, headers: Record<string, unknown>) {
      res.status = status;
      res.headers = headers;
      return res;
    },
    end(text?: string) {
      res.body = text ?? '';
      return res;
    },
  };
  return res as unknown as ServerResponse & { status: number; headers: Record<string, unknown>; body: string };
}

function request(headers: Record<string, string>, encrypted = false): IncomingMessage {
  return { headers, socket: { encrypted } } as unknown as IncomingMessage;
}

describe('refuse: the per-address limit on failed POSTs', () => {
  it('counts bad requests like failed joins, and past the limit the address may not try again', () => {
    let now = 0;
    const ipLimits = new IpLimits({ ...defaultConfig().limits, failedJoinsPerMinute: 3 }, () => now);
    const deps = { ipLimits } as unknown as SfuHttpDeps;
    const at = (ip: string): DoorRequest => ({ req: request({}), res: response(), ip, roomId: '123456', deps });
    for (const status of [401, 400, 415]) {
      expect(ipLimits.mayTryJoin('192.0.2.1')).toBe(true);
      const r = at('192.0.2.1');
      refuse(r, status, 'x', 'y');
      expect((r.res as ReturnType<typeof response>).status).toBe(status);
    }
    expect(ipLimits.mayTryJoin('192.0.2.1')).toBe(false);
    expect(ipLimits.mayTryJoin('192.0.2.2')).toBe(true);
    // One try comes back every 60 s / 3.
    now += 20_000;
    expect(ipLimits.mayTryJoin('192.0.2.1')).toBe(true);
  });

  it('does not count answers that are no one’s fault: not live yet, full, over a limit, draining', () => {
    const ipLimits = new IpLimits({ ...defaultConfig().limits, failedJoinsPerMinute: 1 });
    const deps = { ipLimits } as unknown as SfuHttpDeps;
    for (const status of [409, 429, 503]) refuse({ req: request({}), res: response(), ip: '192.0.2.3', roomId: '123456', deps }, status, 'x', 'y');
    expect(ipLimits.mayTryJoin('192.0.2.3')).toBe(true);
  });

  it('answers JSON with the code and message, CORS headers included', () => {
    const res = response();
    refuse({ req: request({}), res, ip: '192.0.2.4', roomId: '123456', deps: { ipLimits: new IpLimits(defaultConfig().limits) } as unknown as SfuHttpDeps }, 422, 'no_common_codec', 'say which');
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'no_common_codec', message: 'say which' } });
    expect(res.headers).toMatchObject({ 'Content-Type': 'application/json; charset=utf-8', 'Access-Control-Allow-Origin': '*' });
    expect(String(res.headers['Access-Control-Expose-Headers'])).toMatch(/Location.*ETag.*Link/);
  });
});

describe('absoluteUrl', () => {
  it('the scheme of the socket and the Host header', () => {
    expect(absoluteUrl(request({ host: 'live.example.com:8080' }), false, '/api/whip/1/2')).toBe('http://live.example.com:8080/api/whip/1/2');
    expect(absoluteUrl(request({ host: '[2001:db8::1]:443' }, true), false, '/x')).toBe('https://[2001:db8::1]:443/x');
  });

  it("believes X-Forwarded-Proto/-Host only with TRUST_PROXY, and then the proxy's own (last) value", () => {
    const req = request({ host: 'internal:8080', 'x-forwarded-proto': 'http, https', 'x-forwarded-host': 'evil.example, live.example.com' });
    expect(absoluteUrl(req, false, '/x')).toBe('http://internal:8080/x');
    expect(absoluteUrl(req, true, '/x')).toBe('https://live.example.com/x');
  });

  it('a Host that is not a host name falls back to localhost', () => {
    expect(absoluteUrl(request({ host: 'a b/<script>' }), false, '/x')).toBe('http://localhost/x');
  });
});

describe('iceLinks', () => {
  it('one Link per URL; TURN with its username and credential', () => {
    expect(
      iceLinks([
        { urls: ['stun:stun.example.org:3478'] },
        { urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'], username: '1700000000:abc', credential: 'c2VjcmV0' },
      ]),
    ).toEqual([
      '<stun:stun.example.org:3478>; rel="ice-server"',
      '<turn:turn.example.org:3478?transport=udp>; rel="ice-server"; username="1700000000:abc"; credential="c2VjcmV0"; credential-type="password"',
      '<turns:turn.example.org:5349>; rel="ice-server"; username="1700000000:abc"; credential="c2VjcmV0"; credential-type="password"',
    ]);
  });
});

it('bearer reads the credentials of an Authorization header', () => {
  expect(bearer(request({ authorization: 'Bearer abc.def' }))).toBe('abc.def');
  expect(bearer(request({ authorization: 'bearer   spaced out password ' }))).toBe('spaced out password');
  expect(bearer(request({ authorization: 'Basic xyz' }))).toBeNull();
  expect(bearer(request({}))).toBeNull();
});
