// ICE servers: STUN as configured, TURN with REST-API (coturn use-auth-secret)
// or static credentials.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IceServerProvider, turnRestCredential } from '../../../src/server/ice.js';

const hmacSha1Base64 = (secret: string, text: string) => createHmac('sha1', secret).update(text).digest('base64');

describe('turnRestCredential', () => {
  it('username is "<expiry>:<client_id>", credential base64(HMAC-SHA1(secret, username))', () => {
    const c = turnRestCredential('north', 'client-7', 1_700_003_600);
    expect(c.username).toBe('1700003600:client-7');
    expect(c.credential).toBe(hmacSha1Base64('north', '1700003600:client-7'));
    // Base64 of a 20-byte SHA-1 digest.
    expect(Buffer.from(c.credential, 'base64')).toHaveLength(20);
  });

  it('matches a fixed vector (RFC 2202 HMAC-SHA1 test case 2 key)', () => {
    // Independent of node:crypto in this file: the digest of this input under "Jefe".
    const c = turnRestCredential('Jefe', 'x', 1);
    expect(c.username).toBe('1:x');
    expect(Buffer.from(c.credential, 'base64').toString('hex')).toBe(createHmac('sha1', 'Jefe').update('1:x').digest('hex'));
    expect(Buffer.from(hmacSha1Base64('Jefe', 'what do ya want for nothing?'), 'base64').toString('hex')).toBe(
      'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79',
    );
  });

  it('differs per secret, client and expiry', () => {
    const base = turnRestCredential('s', 'c', 100).credential;
    expect(turnRestCredential('t', 'c', 100).credential).not.toBe(base);
    expect(turnRestCredential('s', 'd', 100).credential).not.toBe(base);
    expect(turnRestCredential('s', 'c', 101).credential).not.toBe(base);
  });
});

describe('IceServerProvider', () => {
  const stun = ['stun:stun.example.org:3478', 'stun:stun2.example.org:19302'];

  it('with a TURN secret: expiry = now + ttl, credential from the secret, fresh on each call', () => {
    let now = 1_700_000_000_750; // ms; the expiry is in whole seconds
    const provider = new IceServerProvider(stun, { urls: ['turn:turn.example.org:3478', 'turns:turn.example.org:5349'], secret: 'sekrit', ttlSeconds: 600 }, () => now);
    const servers = provider.forClient('abc');
    expect(servers).toHaveLength(2);
    expect(servers[0]).toEqual({ urls: stun });
    const turn = servers[1]!;
    expect(turn.urls).toEqual(['turn:turn.example.org:3478', 'turns:turn.example.org:5349']);
    expect(turn.username).toBe(`${1_700_000_000 + 600}:abc`);
    expect(turn.credential).toBe(hmacSha1Base64('sekrit', `${1_700_000_000 + 600}:abc`));
    expect(JSON.stringify(servers)).not.toContain('sekrit');

    now += 10_000;
    const later = provider.forClient('abc')[1]!;
    expect(later.username).toBe(`${1_700_000_010 + 600}:abc`);
    expect(later.credential).not.toBe(turn.credential);
    expect(provider.forClient('xyz')[1]!.username).toBe(`${1_700_000_010 + 600}:xyz`);
  });

  it('uses Date.now by default', () => {
    const provider = new IceServerProvider([], { urls: ['turn:t.example.org'], secret: 's', ttlSeconds: 3600 });
    const before = Math.floor(Date.now() / 1000);
    const [turn] = provider.forClient('id');
    const expiry = Number(turn!.username!.split(':')[0]);
    expect(expiry).toBeGreaterThanOrEqual(before + 3600);
    expect(expiry).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
  });

  it('static credentials are passed as they are', () => {
    const provider = new IceServerProvider(stun, { urls: ['turn:turn.example.org'], username: 'user', credential: 'pass', ttlSeconds: 3600 });
    expect(provider.forClient('a')).toEqual([{ urls: stun }, { urls: ['turn:turn.example.org'], username: 'user', credential: 'pass' }]);
  });

  it('an empty STUN list and no TURN give an empty list', () => {
    expect(new IceServerProvider([], { urls: [], ttlSeconds: 3600 }).forClient('a')).toEqual([]);
  });

  it('no TURN entry without TURN urls, even with a secret', () => {
    expect(new IceServerProvider(stun, { urls: [], secret: 's', ttlSeconds: 3600 }).forClient('a')).toEqual([{ urls: stun }]);
  });

  it('returns copies: changing a result does not change the next one', () => {
    const provider = new IceServerProvider(stun, { urls: ['turn:t.example.org'], username: 'u', credential: 'p', ttlSeconds: 3600 });
    provider.forClient('a')[0]!.urls.push('stun:evil.example.org');
    expect(provider.forClient('a')[0]!.urls).toEqual(stun);
  });
});
