// The server as a real child process (src/server/main.ts through tsx): for the
// command line, signals, restarts, and tests that measure the server's own
// memory or CPU. Every child started here is killed after each test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const main = path.join(root, 'src', 'server', 'main.ts');

export interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
});

/** A fresh data directory, so a test never reads or writes the repository's .liveroom/. */
export function tempDataDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'liveroom-data-'));
}

export function run(env: Record<string, string>, args: string[]) {
  // node itself with tsx's loader, not the tsx wrapper: a signal (and SIGKILL
  // after a test) must reach the server, or its process outlives the test.
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: tempDataDir(), LOG_LEVEL: 'warn', UDP_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Start the server and wait for the line that gives its port. */
export async function start(env: Record<string, string>, args: string[] = []): Promise<Started> {
  const { child, output, exited } = run(env, args);
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
  return { child, port, output, exited };
}
