// The viewer's connection ladder, as a small state machine without WebRTC in
// it: first every ICE server (a host/srflx pair wins when it works), then an
// ICE restart over TURN only, then the server relay. It climbs on ICE failure
// and on timers: a browser that cannot use UDP may gather nothing and stay in
// 'new' forever, so waiting for 'failed' alone would wait for ever.
import type { IceTimeouts } from '../../protocol/messages.js';
import { Emitter } from '../emitter.js';

export type Rung = 'direct' | 'turn' | 'relay';

/** Why a rung was left: it did not connect in time, ICE said failed, or there was nothing to try. */
export type ClimbReason = 'timeout' | 'failed' | 'no_turn';

export interface RungRecord {
  rung: Rung;
  /** ms from the start of the ladder to the start of this rung. */
  startedMs: number;
  /** ms this rung took to connect, when it did. */
  connectedMs?: number;
  /** Why it was left, when it was. */
  leftBecause?: ClimbReason;
}

export interface LadderEvents {
  /** Start this rung now: restart ICE with TURN only ('turn') or ask for the server relay ('relay'). */
  climb: { to: Rung; reason: ClimbReason; history: RungRecord[] };
  connected: { rung: Rung; ms: number; history: RungRecord[] };
}

export interface LadderClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: LadderClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class ConnectionLadder extends Emitter<LadderEvents> {
  readonly history: RungRecord[] = [];
  private startedAt = 0;
  private rungStartedAt = 0;
  private timer: unknown = null;
  private isConnected = false;
  private stopped = false;

  constructor(
    private readonly timeouts: IceTimeouts,
    /** Whether any TURN server is configured; without one the second rung is skipped. */
    private readonly hasTurn: boolean,
    private readonly clock: LadderClock = realClock,
  ) {
    super();
  }

  get rung(): Rung {
    return this.history.at(-1)?.rung ?? 'direct';
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /**
   * Start climbing. 'turn' starts on the second rung (`?via=turn`: the viewer's
   * address is never offered to the broadcaster); without a TURN server that
   * goes straight on to the relay, which hides it too.
   */
  start(from: 'direct' | 'turn' = 'direct'): void {
    this.startedAt = this.clock.now();
    if (from === 'turn' && !this.hasTurn) {
      this.history.push({ rung: 'turn', startedMs: 0, leftBecause: 'no_turn' });
      this.enter('relay');
      this.emit('climb', { to: 'relay', reason: 'no_turn', history: this.history });
      return;
    }
    this.enter(from);
  }

  /** ICE reached 'connected' (or 'completed'). */
  onConnected(): void {
    if (this.stopped || this.isConnected) return;
    this.isConnected = true;
    this.disarm();
    const record = this.history.at(-1)!;
    record.connectedMs = Math.round(this.clock.now() - this.rungStartedAt);
    this.emit('connected', { rung: record.rung, ms: record.connectedMs, history: this.history });
  }

  /** ICE went to 'failed': climb at once, connected before or not. */
  onFailed(): void {
    if (this.stopped) return;
    this.isConnected = false;
    this.climb('failed');
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  private climb(reason: ClimbReason): void {
    const from = this.rung;
    if (from === 'relay') return;
    this.history.at(-1)!.leftBecause = reason;
    if (from === 'direct' && !this.hasTurn) {
      this.history.push({ rung: 'turn', startedMs: this.elapsed(), leftBecause: 'no_turn' });
    }
    const to: Rung = from === 'direct' && this.hasTurn ? 'turn' : 'relay';
    this.enter(to);
    this.emit('climb', { to, reason, history: this.history });
  }

  private enter(rung: Rung): void {
    this.disarm();
    this.rungStartedAt = this.clock.now();
    this.history.push({ rung, startedMs: this.elapsed() });
    if (rung === 'relay') return;
    const ms = rung === 'direct' ? this.timeouts.direct_ms : this.timeouts.turn_ms;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      if (!this.isConnected && !this.stopped) this.climb('timeout');
    }, ms);
  }

  private disarm(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private elapsed(): number {
    return Math.round(this.clock.now() - this.startedAt);
  }
}

/** Whether an ICE server list has a TURN server to fall back on. */
export function hasTurnServer(servers: readonly { urls: string | string[] }[]): boolean {
  return servers.some((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]).some((u) => /^turns?:/i.test(u)));
}
