// The command-line entry (src/server/main.ts) as a real process: the
// environment variables of the contract, flags over them, and a clear exit on
// a bad value.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { run, start } from '../helpers/server-process.js';

describe('liveroom server process', () => {
  it('reads HOST, PORT, STUN_URLS, TURN_URLS, TURN_SECRET and TURN_TTL from the environment', async () => {
    const { port } = await start({
      HOST: '127.0.0.1',
      PORT: '0',
      STUN_URLS: 'stun:stun.example.org:3478',
      TURN_URLS: 'turn:turn.example.org:3478',
      TURN_SECRET: 'env-secret',
      TURN_TTL: '120',
    });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const { ice_servers } = (await (await fetch(`http://127.0.0.1:${port}/api/ice-servers`)).json()) as {
      ice_servers: { urls: string[]; username?: string; credential?: string }[];
    };
    expect(ice_servers[0]).toEqual({ urls: ['stun:stun.example.org:3478'] });
    const turn = ice_servers[1]!;
    expect(turn.urls).toEqual(['turn:turn.example.org:3478']);
    const expiry = Number(turn.username!.split(':')[0]);
    expect(Math.abs(expiry - (Math.floor(Date.now() / 1000) + 120))).toBeLessThanOrEqual(5);
    expect(turn.credential).toBe(createHmac('sha1', 'env-secret').update(turn.username!).digest('base64'));
  });

  it('flags override the environment; STUN_URLS="" means no STUN', async () => {
    const { port } = await start({ HOST: '0.0.0.0', PORT: '1', STUN_URLS: 'stun:env.example.org' }, ['--host', '127.0.0.1', '--port=0', '--stun-urls', '']);
    const res = await fetch(`http://127.0.0.1:${port}/api/ice-servers`);
    expect(await res.json()).toEqual({ ice_servers: [] });
  });

  it('stops cleanly on SIGTERM', async () => {
    const { child, port } = await start({ HOST: '127.0.0.1', PORT: '0' });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('a bad value stops it at start with a message naming the setting', async () => {
    const { child, output } = run({ PORT: 'eighty' }, []);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(output()).toMatch(/port.*"eighty"/);
  });
});
