// Test networks built from Linux network namespaces: each "host" is a
// namespace with its own interfaces and routes, joined by veth pairs; a router
// namespace forwards between networks and carries the nftables rules that
// block paths. Everything has a per-run unique name and is removed by
// destroy(), which also runs at process exit, so a failed test leaves nothing.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const TOOLS: [string, string][] = [
  ['ip', 'iproute2'],
  ['nft', 'nftables'],
  ['turnserver', 'coturn'],
];

/** The topology tests need root and three Debian packages: say so loudly instead of skipping. */
export function requireTopologyTools(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the network-topology tests build network namespaces and must run as root (.ci/run does)');
  }
  const missing = TOOLS.filter(([bin]) => !whichSync(bin)).map(([, pkg]) => pkg);
  if (missing.length) throw new Error(`the network-topology tests need: apt-get install ${missing.join(' ')}`);
}

function whichSync(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin'])) {
    try {
      execFileSync('test', ['-x', path.join(dir, bin)]);
      return path.join(dir, bin);
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Namespaces left by a test process that was killed outright (no exit hook
 * ran): their name carries the pid, so those of dead processes can go.
 */
export function removeStaleTopologies(): void {
  const names = execFileSync('ip', ['netns', 'list']).toString().split('\n').map((l) => l.split(' ')[0]!);
  for (const name of names) {
    const m = /^lr([0-9a-z]+)[0-9a-f]{4}-/.exec(name);
    if (!m || isAlive(parseInt(m[1]!, 36))) continue;
    try {
      execFileSync('ip', ['netns', 'del', name]);
    } catch {
      // someone else removed it
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class Topology {
  /** Short and unique per run: namespace names carry it, so parallel runs never meet. */
  readonly id = `lr${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  readonly dir = mkdtempSync(path.join(tmpdir(), `${this.id}-`));
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly onExit = () => this.destroySync();

  constructor() {
    process.once('exit', this.onExit);
  }

  ns(name: string): string {
    return `${this.id}-${name}`;
  }

  /** A new host: a namespace with loopback up. */
  addHost(name: string): string {
    const ns = this.ns(name);
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A cable between two hosts: `a`'s end is `ifA` with `addrA` (CIDR), likewise `b`. */
  link(a: string, ifA: string, addrA: string | null, b: string, ifB: string, addrB: string | null): void {
    sh('ip', ['link', 'add', ifA, 'netns', a, 'type', 'veth', 'peer', 'name', ifB, 'netns', b]);
    for (const [ns, dev, addr] of [
      [a, ifA, addrA],
      [b, ifB, addrB],
    ] as const) {
      if (addr) this.exec(ns, ['ip', 'addr', 'add', addr, 'dev', dev]);
      this.exec(ns, ['ip', 'link', 'set', dev, 'up']);
    }
  }

  exec(ns: string, argv: string[], input?: string): string {
    return sh('ip', ['netns', 'exec', ns, ...argv], input);
  }

  nft(ns: string, script: string): void {
    this.exec(ns, ['nft', '-f', '-'], script);
  }

  /** A long-running process inside a namespace; stopped by destroy(). */
  spawn(ns: string, argv: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  /**
   * An executable that runs Chromium inside `ns`, for playwright's
   * executablePath: `ip netns exec` switches namespace and execs, so the
   * DevTools pipe on fds 3 and 4 passes through.
   */
  chromiumWrapper(ns: string, chromium: string): string {
    const file = path.join(this.dir, `chromium-${ns}.sh`);
    writeFileSync(file, `#!/bin/sh\nexec ip netns exec ${ns} ${chromium} "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  }

  async destroy(): Promise<void> {
    await Promise.all(
      this.children.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    this.destroySync();
  }

  private destroySync(): void {
    for (const child of this.children.splice(0)) child.kill('SIGKILL');
    for (const ns of this.namespaces.splice(0)) {
      // Deleting a namespace also removes its veth ends (and their peers).
      try {
        // Anything still running inside (a browser's helper) would keep it alive.
        execFileSync('ip', ['netns', 'pids', ns]).toString().split(/\s+/).filter(Boolean).forEach((pid) => {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        });
        execFileSync('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    process.off('exit', this.onExit);
  }
}

function sh(cmd: string, argv: string[], input?: string): string {
  try {
    return execFileSync(cmd, argv, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new Error(`${cmd} ${argv.join(' ')} failed: ${e.stderr?.toString().trim() ?? String(err)}`);
  }
}

/** Resolve when a child's output matches, or fail with what it printed. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what}: nothing matched ${pattern} within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${out}`));
    });
  });
}
