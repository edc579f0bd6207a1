// Per-client-IP abuse limits: open connections, rooms held and failed joins.
// One instance per server (no module state), so tests and several servers in
// one process never share counts. Entries disappear when they fall back to
// zero or to a full bucket, so addresses seen once do not pile up.
import type { Limits } from './config.js';
import { TokenBucket } from './ratelimit.js';

interface Entry {
  connections: number;
  rooms: number;
  failedJoins: TokenBucket | null;
  /** When failedJoins was last drawn from; the bucket is full again a minute later. */
  lastFailure: number;
}

const MINUTE_MS = 60_000;

export class IpLimits {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly limits: Pick<Limits, 'maxConnectionsPerIp' | 'maxRoomsPerIp' | 'failedJoinsPerMinute'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Count a new connection; false (and nothing counted) when the IP is at its limit. */
  openConnection(ip: string): boolean {
    const e = this.entry(ip);
    if (e.connections >= this.limits.maxConnectionsPerIp) return false;
    e.connections++;
    return true;
  }

  closeConnection(ip: string): void {
    const e = this.entries.get(ip);
    if (e && e.connections > 0) e.connections--;
    this.forgetIfIdle(ip);
  }

  canCreateRoom(ip: string): boolean {
    return (this.entries.get(ip)?.rooms ?? 0) < this.limits.maxRoomsPerIp;
  }

  roomOpened(ip: string): void {
    this.entry(ip).rooms++;
  }

  roomClosed(ip: string): void {
    const e = this.entries.get(ip);
    if (e && e.rooms > 0) e.rooms--;
    this.forgetIfIdle(ip);
  }

  /** True while the IP has failed joins left this minute (checked before a join is even looked at). */
  mayTryJoin(ip: string): boolean {
    const bucket = this.entries.get(ip)?.failedJoins;
    return !bucket || bucket.peek() >= 1;
  }

  /** A join failed (unknown room, wrong password): it uses up one of the IP's tries. */
  joinFailed(ip: string): void {
    const e = this.entry(ip);
    const perMinute = this.limits.failedJoinsPerMinute;
    e.failedJoins ??= new TokenBucket(perMinute, perMinute / 60, this.now);
    e.failedJoins.take();
    e.lastFailure = this.now();
  }

  /** Drop failed-join buckets that have refilled (called from the heartbeat). */
  sweep(): void {
    const t = this.now();
    for (const [ip, e] of this.entries) {
      if (e.failedJoins && t - e.lastFailure >= MINUTE_MS) e.failedJoins = null;
      this.forgetIfIdle(ip);
    }
  }

  get trackedIps(): number {
    return this.entries.size;
  }

  private entry(ip: string): Entry {
    let e = this.entries.get(ip);
    if (!e) {
      e = { connections: 0, rooms: 0, failedJoins: null, lastFailure: 0 };
      this.entries.set(ip, e);
    }
    return e;
  }

  private forgetIfIdle(ip: string): void {
    const e = this.entries.get(ip);
    if (e && e.connections === 0 && e.rooms === 0 && e.failedJoins === null) this.entries.delete(ip);
  }
}
