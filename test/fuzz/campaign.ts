// A socket-level fuzz campaign against a real server process: many connections
// send hostile frames (see messages.ts) while a real room keeps signalling on
// the same server. Checked: the server never dies, every frame is answered
// (each hostile connection is in no room, so every frame has exactly one
// answer), the room's offers and answers all arrive intact and in order, and
// the heap and the server's counts return to their baseline.
// Used by test/integration/fuzz.test.ts (bounded) and `npm run fuzz` (longer).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { parseClientMessage } from '../../src/protocol/parse.js';
import { TestClient, createRoom, joinRoom } from '../helpers/client.js';
import { FrameGenerator } from './messages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAX_MESSAGE_BYTES = 64 * 1024;

export interface CampaignOptions {
  messages: number;
  connections: number;
  /** Frames in flight per connection before it waits for their answers. */
  window: number;
  /** Pings each connection blasts at the end without waiting (a flood). */
  floodPerConnection: number;
  seed: number;
  log?: (line: string) => void;
}

export interface CampaignReport {
  sent: number;
  answered: number;
  byKind: Record<string, number>;
  skippedValidRoomMessages: number;
  serverExitCode: number | null;
  roomExchanges: number;
  roomFailures: string[];
  roomMaxLatencyMs: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  connectionsAfter: number;
  roomsAfter: number;
  durationMs: number;
}

interface ServerProcess {
  port: number;
  alive: () => boolean;
  exitCode: () => number | null;
  gc: () => Promise<void>;
  stop: () => Promise<void>;
}

async function startServer(): Promise<ServerProcess> {
  // node itself (not the tsx wrapper process), so SIGUSR2 reaches the server.
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(root, 'test/fuzz/gc-server.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      UDP_PORT: '0',
      LOG_LEVEL: 'fatal',
      STUN_URLS: '',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'liveroom-fuzz-')),
      // Every frame must reach the validators: no per-connection or per-IP limit may drop it.
      MESSAGE_RATE: '100000',
      MESSAGE_BURST: '1000000',
      FAILED_JOINS_PER_MINUTE: '1000000',
      MAX_CONNECTIONS_PER_IP: '100000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exit: number | null = null;
  let exited = false;
  const done = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exit = code;
      exited = true;
      resolve();
    }),
  );
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on port (\d+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(Number(m[1]));
      } else if (exited) {
        clearInterval(timer);
        reject(new Error(`the server exited at start: ${out}`));
      }
    }, 20);
  });
  return {
    port,
    alive: () => !exited,
    exitCode: () => exit,
    gc: async () => {
      child.kill('SIGUSR2');
      await new Promise((resolve) => setTimeout(resolve, 300)); // the collection runs on the server's own loop
    },
    stop: async () => {
      if (!exited) child.kill('SIGKILL');
      await done;
    },
  };
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  if (!line) throw new Error(`no metric ${name}`);
  return Number(line.slice(name.length + 1));
}

/** A real room that keeps negotiating while the fuzz runs: offers out, answers back, in order. */
async function keepSignalling(url: string, stop: () => boolean) {
  const broadcaster = await TestClient.connect(url);
  const viewer = await TestClient.connect(url);
  const { roomId } = await createRoom(broadcaster);
  await joinRoom(viewer, roomId, broadcaster);
  const failures: string[] = [];
  let exchanges = 0;
  let maxLatency = 0;
  const run = (async () => {
    while (!stop()) {
      const seq = exchanges;
      const sdp = `v=0\r\no=- ${seq} 2 IN IP4 127.0.0.1\r\n`;
      const sentAt = Date.now();
      broadcaster.send({ type: 'offer', target_id: viewer.id, sdp: { type: 'offer', sdp } });
      const offer = await viewer.next('offer', 10_000);
      if (offer.sdp.sdp !== sdp || offer.from_id !== broadcaster.id) failures.push(`offer ${seq} arrived changed: ${JSON.stringify(offer)}`);
      viewer.send({ type: 'answer', target_id: broadcaster.id, sdp: { type: 'answer', sdp } });
      viewer.send({ type: 'stats_report', bitrate: 1000 + seq, connection_type: 'p2p' });
      const answer = await broadcaster.next('answer', 10_000);
      if (answer.sdp.sdp !== sdp) failures.push(`answer ${seq} arrived changed`);
      maxLatency = Math.max(maxLatency, Date.now() - sentAt);
      exchanges++;
      await new Promise((resolve) => setTimeout(resolve, 10)); // a real negotiation's pace, not a flood
    }
  })().catch((err: unknown) => failures.push(String(err)));
  return {
    roomId,
    finish: async () => {
      await run;
      for (const c of [broadcaster, viewer]) {
        const errors = c.log.filter((m) => m.type === 'error');
        if (errors.length) failures.push(`the room got errors: ${JSON.stringify(errors.slice(0, 3))}`);
        failures.push(...c.violations);
      }
      return { exchanges, failures, maxLatency, close: () => Promise.all([broadcaster.close(), viewer.close()]) };
    },
  };
}

/** One hostile connection: windows of frames, each window fully answered before the next. */
async function fuzzConnection(url: string, gen: FrameGenerator, quota: number, opts: CampaignOptions, report: CampaignReport): Promise<void> {
  const ws = new WebSocket(url);
  let answered = 0;
  let closed: string | null = null;
  let waiter: (() => void) | null = null;
  ws.on('message', () => {
    answered++;
    waiter?.();
  });
  ws.on('close', (code, reason) => {
    closed = `${code} ${reason.toString()}`;
    waiter?.();
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let sent = 0;
  const expect = async (target: number) => {
    const deadline = Date.now() + 15_000;
    while (answered < target) {
      if (closed) throw new Error(`the server closed a fuzz connection after ${sent} frames (${closed})`);
      if (Date.now() > deadline) throw new Error(`${target - answered} frames unanswered after 15 s`);
      await new Promise<void>((resolve) => {
        waiter = resolve;
        setTimeout(resolve, 200);
      });
      waiter = null;
    }
  };
  await expect(1); // welcome
  const base = 1;
  while (sent < quota) {
    const batch = Math.min(opts.window, quota - sent);
    for (let i = 0; i < batch; i++) {
      let frame = gen.next();
      // A frame that would really create or join a room would put this connection in one,
      // where some valid messages are answered by silence; those are the room's test, not this one.
      while (!frame.binary) {
        const parsed = parseClientMessage(frame.data.toString());
        if (!(parsed.ok && (parsed.message.type === 'create_room' || parsed.message.type === 'join_room'))) break;
        report.skippedValidRoomMessages++;
        frame = gen.next();
      }
      report.byKind[frame.kind] = (report.byKind[frame.kind] ?? 0) + 1;
      ws.send(frame.data, { binary: frame.binary });
      sent++;
    }
    await expect(base + sent);
  }
  // A flood: pings as fast as the socket takes them; every one is answered.
  for (let i = 0; i < opts.floodPerConnection; i++) ws.send('{"type":"ping"}');
  sent += opts.floodPerConnection;
  report.byKind.flood = (report.byKind.flood ?? 0) + opts.floodPerConnection;
  await expect(base + sent);
  report.sent += sent;
  report.answered += answered - base;
  ws.close();
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const server = await startServer();
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const report: CampaignReport = {
    sent: 0,
    answered: 0,
    byKind: {},
    skippedValidRoomMessages: 0,
    serverExitCode: null,
    roomExchanges: 0,
    roomFailures: [],
    roomMaxLatencyMs: 0,
    heapBeforeBytes: 0,
    heapAfterBytes: 0,
    connectionsAfter: -1,
    roomsAfter: -1,
    durationMs: 0,
  };
  try {
    let fuzzing = true;
    const room = await keepSignalling(url, () => !fuzzing);
    await server.gc();
    report.heapBeforeBytes = await metric(server.port, 'nodejs_heap_size_used_bytes');
    const perConnection = Math.ceil(opts.messages / opts.connections);
    const progress = setInterval(() => log(`fuzz: ${report.sent} frames done so far, room exchanges continuing`), 5_000);
    try {
      await Promise.all(
        Array.from({ length: opts.connections }, (_, i) =>
          fuzzConnection(url, new FrameGenerator(opts.seed + i, MAX_MESSAGE_BYTES), perConnection, opts, report),
        ),
      );
    } finally {
      clearInterval(progress);
      fuzzing = false;
    }
    const result = await room.finish();
    report.roomExchanges = result.exchanges;
    report.roomFailures = result.failures;
    report.roomMaxLatencyMs = result.maxLatency;
    // Only the room's two connections and its one room are left.
    await new Promise((resolve) => setTimeout(resolve, 300));
    report.connectionsAfter = await metric(server.port, 'liveroom_connections');
    report.roomsAfter = await metric(server.port, 'liveroom_rooms');
    await server.gc();
    report.heapAfterBytes = await metric(server.port, 'nodejs_heap_size_used_bytes');
    await result.close();
  } finally {
    report.serverExitCode = server.alive() ? null : server.exitCode();
    await server.stop();
    report.durationMs = Date.now() - started;
  }
  return report;
}
