// A coturn on 127.0.0.1 for one run (bench:latency's TURN path): a free port,
// LiveRoom's shared-secret credentials, and a process that dies with the run.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { coturnConfig, findTurnserver, INSTALL_HINT } from '../../src/dev/coturn.js';
import type { TurnConfig } from '../../src/server/config.js';

export interface LoopbackTurn {
  /** What to give startServer({ turn }). */
  turn: TurnConfig;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function listening(child: ChildProcess, port: number): Promise<void> {
  const ready = new RegExp(`UDP listener opened on: ?127\\.0\\.0\\.1:${port}`);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`coturn did not open 127.0.0.1:${port} within 10 s:\n${out}`)), 10_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`coturn exited with ${code}:\n${out}`));
    });
  });
}

/** Start coturn on loopback; throws with the install hint when it is not installed. */
export async function startLoopbackTurn(): Promise<LoopbackTurn> {
  const binary = findTurnserver();
  if (!binary) throw new Error(INSTALL_HINT);
  const dir = mkdtempSync(path.join(tmpdir(), 'liveroom-turn-'));
  const secret = randomBytes(18).toString('base64url');
  const port = await freePort();
  // A relay port range of its own, away from other coturns the machine may run.
  const minPort = 40_000 + (port % 1000) * 20;
  const conf = path.join(dir, 'turnserver.conf');
  writeFileSync(conf, coturnConfig({ secret, port, listeningIps: ['127.0.0.1'], minPort, maxPort: minPort + 19, allowLoopbackPeers: true, verbose: true }));
  // verbose: coturn says when its listeners are open only then.
  const child = spawn(binary, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  await listening(child, port);
  return {
    turn: { urls: [`turn:127.0.0.1:${port}?transport=udp`], secret, ttlSeconds: 600 },
    stop: async () => {
      process.off('exit', kill);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
