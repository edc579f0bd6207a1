// Relay fan-out: one synthetic 1 Mbit/s, 30 fps stream (L1T3, a keyframe every
// 2 s) published to the server relay and received by N WebSocket viewers that
// acknowledge like the browser player. The server runs in its own process so
// its CPU time and memory are its own.
//
//   npm run build && npx tsx bench/relay-fanout.ts [N ...]      (default: 100 500 1000 2000)
//
// bench/sfu.ts runs relayFanout() beside the SFU, for the same stream.
//
// Prints, per N: server CPU (% of one core), CPU µs per delivered frame,
// frames delivered per viewer per second, drops, server RSS, and the viewers
// per core that the CPU figure implies. Bounded: 8 s of streaming per N.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { FrameKind } from '../src/protocol/relay-frame.js';
import { frame, l1t3Layer, videoConfig } from '../test/helpers/relay.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const STREAM_SECONDS = 8;
const FPS = 30;
const FRAME_BYTES = Math.round(1_000_000 / 8 / FPS);
const CLK_TCK = 100;
/** As the browser player does. */
const ACK_MS = 100;

/** The built server in its own process; `nodeArgs` go to node itself (e.g. --cpu-prof). */
export function startServer(nodeArgs: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'dist/server/main.js'), '--port', '0', '--udp-port', '0', '--host', '127.0.0.1', '--stun-urls', ''], {
    // Every viewer comes from one address and joins one room.
    env: { ...process.env, MAX_VIEWERS: '100000', MAX_CONNECTIONS_PER_IP: '1000000', MAX_FAILED_JOINS_PER_IP: '1000000', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on port (\d+)/i.exec(out) ?? /"port":(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

export function open(url: string, onMessage?: (data: Buffer, isBinary: boolean) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    if (onMessage) ws.on('message', onMessage);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Resolves with the next JSON message of `type` on a signalling socket. */
export function next(ws: WebSocket, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (data: Buffer) => {
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      if (m.type !== type) return;
      ws.off('message', on);
      resolve(m);
    };
    ws.on('message', on);
  });
}

interface Viewer {
  frames: number;
  bytes: number;
  socket: WebSocket;
  signalling: WebSocket;
}

export interface RelayRow {
  viewers: number;
  'server CPU %': string;
  'µs per delivered frame': string;
  'fps per viewer': string;
  'frames dropped': string;
  'RSS MiB': string;
  'viewers per core': number;
}

export async function relayFanout(n: number): Promise<RelayRow> {
  const { child, port } = await startServer();
  const ws = `ws://127.0.0.1:${port}`;
  try {
    const broadcaster = await open(`${ws}/ws`);
    broadcaster.send(JSON.stringify({ type: 'create_room' }));
    const created = await next(broadcaster, 'room_created');
    const roomId = String(created.room_id);
    const publisher = await open(`${ws}/relay?role=publish&room=${roomId}&token=${encodeURIComponent(String(created.room_token))}`);

    const viewers: Viewer[] = [];
    for (let batch = 0; batch < n; batch += 100) {
      const size = Math.min(100, n - batch);
      viewers.push(
        ...(await Promise.all(
          Array.from({ length: size }, async () => {
            const signalling = await open(`${ws}/ws`);
            signalling.send(JSON.stringify({ type: 'join_room', room_id: roomId }));
            await next(signalling, 'room_joined');
            signalling.send(JSON.stringify({ type: 'request_relay', room_id: roomId, codecs: ['VP8'] }));
            const ready = await next(signalling, 'relay_ready');
            const v: Viewer = { frames: 0, bytes: 0, signalling, socket: undefined as unknown as WebSocket };
            v.socket = await open(`${ws}/relay?role=view&ticket=${encodeURIComponent(String(ready.ticket))}`, (data, isBinary) => {
              if (!isBinary) return;
              v.bytes += data.length;
              if (data[1] === FrameKind.video) v.frames++;
            });
            return v;
          }),
        )),
      );
    }
    const acks = setInterval(() => {
      for (const v of viewers) if (v.socket.readyState === WebSocket.OPEN) v.socket.send(`{"type":"ack","bytes":${v.bytes}}`);
    }, ACK_MS);

    publisher.send(videoConfig());
    const cpu0 = cpuSeconds(child.pid!);
    const start = performance.now();
    const frames = STREAM_SECONDS * FPS;
    for (let i = 0; i < frames; i++) {
      const key = i % 60 === 0;
      publisher.send(frame(FrameKind.video, { keyframe: key, layer: l1t3Layer(i), seq: i % 256, size: key ? FRAME_BYTES * 8 : FRAME_BYTES }));
      const due = start + ((i + 1) * 1000) / FPS;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    }
    await new Promise((r) => setTimeout(r, 500));
    const elapsed = (performance.now() - start) / 1000;
    const cpu = cpuSeconds(child.pid!) - cpu0;
    const rss = rssMiB(child.pid!);
    clearInterval(acks);

    const delivered = viewers.reduce((sum, v) => sum + v.frames, 0);
    const perViewerFps = delivered / n / elapsed;
    const cpuShare = cpu / elapsed;
    const row = {
      viewers: n,
      'server CPU %': (cpuShare * 100).toFixed(1),
      'µs per delivered frame': ((cpu * 1e6) / Math.max(1, delivered)).toFixed(1),
      'fps per viewer': perViewerFps.toFixed(1),
      'frames dropped': `${(100 * (1 - delivered / (n * frames))).toFixed(2)} %`,
      'RSS MiB': rss.toFixed(0),
      // What one core sustains at full frame rate, from the cost per delivered frame
      // (the bench's own single client process, not the server, is the first to saturate).
      'viewers per core': Math.round(1e6 / (((cpu * 1e6) / Math.max(1, delivered)) * FPS)),
    };
    for (const v of viewers) {
      v.socket.terminate();
      v.signalling.terminate();
    }
    publisher.terminate();
    broadcaster.terminate();
    return row;
  } finally {
    child.kill('SIGTERM');
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const counts = process.argv.slice(2).map(Number).filter((x) => x > 0);
  console.log(`relay fan-out: ${FPS} fps, ${FRAME_BYTES} B frames (~1 Mbit/s), keyframe every 2 s, ${STREAM_SECONDS} s per run`);
  for (const n of counts.length ? counts : [100, 500, 1000, 2000]) console.log(JSON.stringify(await relayFanout(n)));
}
