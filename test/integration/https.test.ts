// HTTPS on a LAN: `--https` makes a self-signed certificate for this machine's
// addresses, keeps it for the next start, and the server speaks https and wss
// with it; `--tls-cert/--tls-key` serve given files.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const main = path.join(root, 'src', 'server', 'main.ts');
const work = mkdtempSync(path.join(tmpdir(), 'liveroom-https-'));
const certDir = path.join(work, '.liveroom');

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Start the server in `work` (so .liveroom/ lands there) and wait for its port. */
async function start(args: string[]): Promise<{ port: number; output: () => string }> {
  const child = spawn(tsx, [main, '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: work,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', STATIC_DIR: path.join(root, 'dist/web'), UDP_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 30 s:\n${out}`)), 30_000);
    child.stdout!.on('data', () => {
      const m = /listening on port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
  });
  return { port, output: () => out };
}

function getJson(url: string, ca: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(JSON.parse(body)));
    })
      .on('error', reject)
      .end();
  });
}

function welcomeOverWss(url: string, ca: string): Promise<{ type: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca });
    ws.once('message', (data) => {
      resolve(JSON.parse(data.toString()) as { type: string });
      ws.close();
    });
    ws.once('error', reject);
  });
}

describe('HTTPS', () => {
  it('--https makes a certificate for localhost and the LAN addresses, serves https and wss, and reuses it', async () => {
    const first = await start(['--https']);
    await expect.poll(first.output).toContain(`https://127.0.0.1:${first.port}/`);
    const ca = readFileSync(path.join(certDir, 'tls-cert.pem'), 'utf8');
    const cert = new X509Certificate(ca);
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    // Verified against the generated certificate: no rejectUnauthorized=false anywhere.
    expect(await getJson(`https://localhost:${first.port}/healthz`, ca)).toEqual({ status: 'ok' });
    expect((await welcomeOverWss(`wss://localhost:${first.port}/ws`, ca)).type).toBe('welcome');

    const second = await start(['--https']);
    await expect.poll(second.output).toContain('(reused)');
    expect(readFileSync(path.join(certDir, 'tls-cert.pem'), 'utf8')).toBe(ca);
  });

  it('--tls-cert/--tls-key serve the given files', async () => {
    const certFile = path.join(certDir, 'tls-cert.pem');
    const { port } = await start(['--tls-cert', certFile, '--tls-key', path.join(certDir, 'tls-key.pem')]);
    const ca = readFileSync(certFile, 'utf8');
    expect(await getJson(`https://127.0.0.1:${port}/healthz`, ca)).toEqual({ status: 'ok' });
    expect((await welcomeOverWss(`wss://127.0.0.1:${port}/ws`, ca)).type).toBe('welcome');
  });
});
