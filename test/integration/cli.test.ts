// The command-line entry (src/server/main.ts) as a real process: the
// environment variables of the contract, flags over them, and a clear exit on
// a bad value.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const main = path.join(root, 'src', 'server', 'main.ts');

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
}

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
});

function run(env: Record<string, string>, args: string[]) {
  const child = spawn(tsx, [main, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

/** Start the server and wait for the line that gives its port. */
async function start(env: Record<string, string>, args: string[] = []): Promise<Started> {
  const { child, output } = run(env, args);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 20 s; output:\n${output()}`)), 20_000);
    const check = () => {
      const m = /listening on port (\d+)/.exec(output());
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}; output:\n${output()}`));
    });
  });
  return { child, port, output };
}

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
