// SFU fan-out: one WHIP publisher (node-datachannel) sending the relay bench's
// stream — 30 fps, 1 Mbit/s, a keyframe every 2 s (8 × a frame), packetized
// as VP8 into ≤1,100-byte payloads — and N WHEP viewers spread over child
// processes (bench/sfu-viewers.ts), against the built server in its own
// process. Then the WebSocket relay (bench/relay-fanout.ts) with the same
// stream and N, in the same run.
//
//   npm run bench:sfu -- [N ...] [--runs=K] [--audio] [--profile]     (default N: 50 100 200)
//
// Per N: server CPU (% of one core, its main thread apart), CPU µs per packet
// forwarded, packets lost on the way, server RSS, and the viewers per core the
// CPU figure implies. --audio adds 50 Opus-sized packets a second. --profile
// runs the server once more at the largest N under --cpu-prof and prints
// where its main thread's time goes. --runs=K measures each N K times (SFU
// and relay alternating) and prints the medians. Bounded: ~25 s per N and run.
// On a 2-core machine the viewers' own processes fill both cores from ~200
// viewers on: rows past that measure the clients, not the server.
import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { cpuSeconds, next, open, relayFanout, rssMiB, startServer } from './relay-fanout.js';
import { TestPublisher } from '../test/helpers/sfu-peers.js';

const FPS = 30;
const FRAME_BYTES = Math.round(1_000_000 / 8 / FPS);
const WARM_UP_S = 4;
const MEASURE_S = 10;
/** Viewers per child process: each player costs its process a JS callback and an SRTP decrypt per packet. */
const PER_PROCESS = 50;
const CLK_TCK = 100;

const args = process.argv.slice(2);
const withAudio = args.includes('--audio');
const profile = args.includes('--profile');
const counts = args.map(Number).filter((x) => x > 0);
const runs = Number(/^--runs=(\d+)$/.exec(args.find((a) => a.startsWith('--runs=')) ?? '')?.[1] ?? 1);

/** CPU seconds a process spent in user space and in the kernel (sendto, and on loopback the receivers' UDP input too). */
function userSystem(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
}

/** CPU seconds of the process's main thread and of all its other threads. */
function threadCpu(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const s = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
      if (tid === String(pid)) main += s;
      else others += s;
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return { main, others };
}

async function metricsOf(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

function ask<T>(child: ChildProcess, command: Serializable, answer: string): Promise<T> {
  return new Promise((resolve, reject) => {
    if (!child.connected) return reject(new Error('viewer process gone'));
    const on = (m: { type: string }) => {
      if (m.type !== answer) return;
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
    child.once('exit', (code) => reject(new Error(`viewer process exited ${code}`)));
    child.send(command);
  });
}

/** Tell a viewer process to close its players and wait for it to exit (at most 5 s, then it is killed). */
async function closeViewers(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (child.connected) child.send({ type: 'close' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

interface SfuRow {
  viewers: number;
  'fps in': number;
  'keyframes/s': number;
  'server CPU %': string;
  'main thread %': string;
  'kernel %': string;
  'µs per packet': string;
  'packets/s out': number;
  lost: string;
  'held back': string;
  'RSS MiB': string;
  'client CPU %': string;
  'viewers per core': number;
}

/** Every process this bench started, ended however it ends. */
const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

async function runSfu(n: number, nodeArgs: string[] = []): Promise<SfuRow> {
  const { child: server, port } = await startServer(nodeArgs);
  started.add(server);
  const viewers: ChildProcess[] = [];
  const publisher = new TestPublisher();
  let streaming = true;
  let stream: Promise<void> = Promise.resolve();
  try {
    const ws = await open(`ws://127.0.0.1:${port}/ws`);
    ws.send(JSON.stringify({ type: 'create_room' }));
    const created = await next(ws, 'room_created');
    const roomId = String(created.room_id);
    const res = await publisher.publish(`http://127.0.0.1:${port}/api/whip/${roomId}`, String(created.room_token));
    if (res.status !== 201) throw new Error(`WHIP POST: ${res.status} ${res.body}`);

    // The stream, paced by the clock: a keyframe every 2 s and whenever the SFU asks (as Chromium answers PLI).
    let asked = 0;
    let framesSent = 0;
    let keyframesSent = 0;
    stream = (async () => {
      const start = performance.now();
      for (let i = 0; streaming; i++, framesSent++) {
        const key = i % (2 * FPS) === 0 || publisher.keyframeRequests > asked;
        asked = publisher.keyframeRequests;
        if (key) keyframesSent++;
        publisher.sendFrame(key, key ? FRAME_BYTES * 8 : FRAME_BYTES, i & 0xff);
        // 50 audio packets a second: 5 every 3 frames.
        if (withAudio) for (let a = 0; a < [2, 2, 1][i % 3]!; a++) publisher.sendAudio(80);
        const due = start + ((i + 1) * 1000) / FPS;
        await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
      }
    })();

    const processes = Math.max(1, Math.ceil(n / PER_PROCESS));
    for (let i = 0; i < processes; i++) {
      const child = fork(path.join(import.meta.dirname, 'sfu-viewers.ts'), [], { execArgv: ['--import', 'tsx'] });
      // A viewer process that died fails its next ask(); its closed channel must not crash the bench.
      child.on('error', () => undefined);
      // Below the server and the publisher: on a small machine the viewers' processes would take the
      // CPU the publisher needs to keep its pace, and the rows would measure them.
      setPriority(child.pid!, 10);
      started.add(child);
      viewers.push(child);
    }
    const url = `http://127.0.0.1:${port}/api/whep/${roomId}`;
    await Promise.all(viewers.map((v, i) => ask(v, { type: 'open', url, count: Math.min(PER_PROCESS, n - i * PER_PROCESS) }, 'opened')));
    await new Promise((r) => setTimeout(r, WARM_UP_S * 1000));

    await Promise.all(viewers.map((v) => ask(v, { type: 'measure' }, 'measuring')));
    // For attaching a profiler to the steady state: perf record -g -p <pid> -- sleep 8
    console.error(`measuring ${MEASURE_S} s: server pid ${server.pid}`);
    // Each end of the window: the packet counter, then at once the server's CPU and the clock.
    const packets0 = await metricsOf(port, 'liveroom_sfu_forwarded_packets_total');
    const held0 = await metricsOf(port, 'liveroom_sfu_dropped_packets_total');
    const cpu0 = cpuSeconds(server.pid!);
    const split0 = userSystem(server.pid!);
    const threads0 = threadCpu(server.pid!);
    const t0 = performance.now();
    const frames0 = framesSent;
    const keyframes0 = keyframesSent;
    await new Promise((r) => setTimeout(r, MEASURE_S * 1000));
    const frames = framesSent - frames0;
    const keyframes = keyframesSent - keyframes0;
    const packets = (await metricsOf(port, 'liveroom_sfu_forwarded_packets_total')) - packets0;
    const held = (await metricsOf(port, 'liveroom_sfu_dropped_packets_total')) - held0;
    const cpu = cpuSeconds(server.pid!) - cpu0;
    const split = userSystem(server.pid!);
    const threads = threadCpu(server.pid!);
    const elapsed = (performance.now() - t0) / 1000;
    const rss = rssMiB(server.pid!);
    const counts = await Promise.all(viewers.map((v) => ask<{ received: number; expected: number; silent: number; cpuShare: number }>(v, { type: 'report' }, 'counts')));
    const received = counts.reduce((s, c) => s + c.received, 0);
    const expected = counts.reduce((s, c) => s + c.expected, 0);
    const silent = counts.reduce((s, c) => s + c.silent, 0);
    const clientCpu = counts.reduce((s, c) => s + c.cpuShare, 0);
    if (silent) console.warn(`  ${silent} of ${n} viewers received no video in the window`);
    ws.terminate();
    const perPacket = (cpu * 1e6) / Math.max(1, packets);
    const perViewer = packets / n / elapsed;
    return {
      viewers: n,
      // The publisher's own rate: below 30 its process was starved, and the row has less to forward.
      'fps in': Number((frames / elapsed).toFixed(1)),
      'keyframes/s': Number((keyframes / elapsed).toFixed(1)),
      'server CPU %': ((cpu / elapsed) * 100).toFixed(1),
      'main thread %': (((threads.main - threads0.main) / elapsed) * 100).toFixed(1),
      'kernel %': (((split.system - split0.system) / elapsed) * 100).toFixed(1),
      'µs per packet': perPacket.toFixed(2),
      'packets/s out': Math.round(packets / elapsed),
      lost: `${(100 * (1 - received / Math.max(1, expected))).toFixed(3)} %`,
      // Not sent on purpose: to a viewer waiting for a keyframe (new, or after a failed send or its PLI).
      'held back': `${((100 * held) / Math.max(1, packets + held)).toFixed(3)} %`,
      'RSS MiB': rss.toFixed(0),
      'client CPU %': (clientCpu * 100).toFixed(0),
      // What one core sustains, from the cost per packet and the packets each viewer gets.
      'viewers per core': Math.round(1e6 / (perPacket * perViewer)),
    };
  } finally {
    streaming = false;
    await stream.catch(() => undefined);
    await Promise.all(viewers.map(closeViewers));
    publisher.close();
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    for (const child of [server, ...viewers]) started.delete(child);
  }
}

/** Where the server's main thread spent its time, by function, from a V8 CPU profile. */
function topFunctions(dir: string): { fn: string; share: string }[] {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return [];
  const prof = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of prof.samples) {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${path.basename(f.url)}`.trim();
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const busy = [...self].filter(([k]) => !k.startsWith('(idle)'));
  const total = busy.reduce((s, [, v]) => s + v, 0);
  return busy
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([fn, v]) => ({ fn, share: `${((100 * v) / total).toFixed(1)} %` }));
}

/** Per column, the median of the runs (numbers, and strings that begin with one). */
function median<T extends object>(rows: T[]): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(rows[0]!)) {
    const values = rows.map((r) => (r as Record<string, unknown>)[key]);
    const nums = values.map((v) => Number.parseFloat(String(v))).sort((a, b) => a - b);
    const mid = nums[(nums.length - 1) >> 1]!;
    out[key] = typeof values[0] === 'number' ? mid : String(values[0]).replace(/^[\d.]+/, String(mid));
  }
  return out as T;
}

const ns = counts.length ? counts : [50, 100, 200];
console.log(`SFU fan-out: ${FPS} fps, ${FRAME_BYTES} B frames (~1 Mbit/s), keyframe every 2 s${withAudio ? ', Opus-sized audio 50/s' : ''}; ${WARM_UP_S} s warm-up, ${MEASURE_S} s measured per N; ${PER_PROCESS} viewers per process; ${runs} run(s)`);
const rows: SfuRow[] = [];
const relay = [];
for (const n of ns) {
  const sfuRuns: SfuRow[] = [];
  const relayRuns = [];
  for (let k = 0; k < runs; k++) {
    sfuRuns.push(await runSfu(n));
    console.log(JSON.stringify(sfuRuns.at(-1)));
    relayRuns.push(await relayFanout(n));
    console.log(JSON.stringify({ relay: relayRuns.at(-1) }));
  }
  rows.push(median(sfuRuns));
  relay.push(median(relayRuns));
}
console.log(runs > 1 ? `SFU, medians of ${runs} runs:` : 'SFU:');
console.table(rows);
console.log(runs > 1 ? `WebSocket relay, same stream (bench/relay-fanout.ts), medians of ${runs} runs:` : 'WebSocket relay, same stream (bench/relay-fanout.ts):');
console.table(relay);
if (profile) {
  const dir = mkdtempSync(path.join(tmpdir(), 'liveroom-sfu-prof-'));
  const n = Math.max(...ns);
  await runSfu(n, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  console.log(`server main thread at ${n} viewers, self time by function (V8 --cpu-prof, idle excluded):`);
  console.table(topFunctions(dir));
}
process.exit(0);
