// The connection ladder climbs on timers as well as on ICE failure, skips the
// TURN rung when there is no TURN server, and records how long each rung took.
import { describe, expect, it } from 'vitest';
import { ConnectionLadder, hasTurnServer, type LadderClock, type Rung } from '../../../../src/web/watch/connection-ladder.js';

class FakeClock implements LadderClock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== id);
  };
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

function ladder(hasTurn = true, from: 'direct' | 'turn' = 'direct') {
  const clock = new FakeClock();
  const l = new ConnectionLadder({ direct_ms: 5000, turn_ms: 8000 }, hasTurn, clock);
  const climbs: { to: Rung; reason: string }[] = [];
  l.on('climb', ({ to, reason }) => climbs.push({ to, reason }));
  l.start(from);
  return { l, clock, climbs };
}

describe('ConnectionLadder', () => {
  it('starts on the TURN rung for ?via=turn, with the TURN timeout before the relay', () => {
    const { l, clock, climbs } = ladder(true, 'turn');
    expect(l.rung).toBe('turn');
    clock.advance(7999);
    expect(climbs).toEqual([]);
    clock.advance(1);
    expect(climbs).toEqual([{ to: 'relay', reason: 'timeout' }]);
    expect(l.history.map((r) => [r.rung, r.startedMs, r.leftBecause])).toEqual([
      ['turn', 0, 'timeout'],
      ['relay', 8000, undefined],
    ]);
  });

  it('goes from a ?via=turn start straight to the relay when no TURN server is configured', () => {
    const { l, climbs } = ladder(false, 'turn');
    expect(climbs).toEqual([{ to: 'relay', reason: 'no_turn' }]);
    expect(l.rung).toBe('relay');
    expect(l.history.map((r) => [r.rung, r.leftBecause])).toEqual([
      ['turn', 'no_turn'],
      ['relay', undefined],
    ]);
  });

  it('stays on the direct rung when ICE connects in time, and records the time', () => {
    const { l, clock, climbs } = ladder();
    clock.advance(1200);
    l.onConnected();
    clock.advance(60_000);
    expect(climbs).toEqual([]);
    expect(l.history).toEqual([{ rung: 'direct', startedMs: 0, connectedMs: 1200 }]);
  });

  it('climbs to TURN on a timer even when ICE never leaves new, then to the relay', () => {
    const { l, clock, climbs } = ladder();
    clock.advance(4999);
    expect(climbs).toEqual([]);
    clock.advance(1);
    expect(climbs).toEqual([{ to: 'turn', reason: 'timeout' }]);
    clock.advance(8000);
    expect(climbs).toEqual([
      { to: 'turn', reason: 'timeout' },
      { to: 'relay', reason: 'timeout' },
    ]);
    expect(l.rung).toBe('relay');
    expect(l.history.map((r) => [r.rung, r.startedMs, r.leftBecause])).toEqual([
      ['direct', 0, 'timeout'],
      ['turn', 5000, 'timeout'],
      ['relay', 13000, undefined],
    ]);
  });

  it('climbs at once when ICE fails, and a TURN rung that connects stops the timer', () => {
    const { l, clock, climbs } = ladder();
    clock.advance(800);
    l.onFailed();
    expect(climbs).toEqual([{ to: 'turn', reason: 'failed' }]);
    clock.advance(2000);
    l.onConnected();
    clock.advance(60_000);
    expect(climbs).toHaveLength(1);
    expect(l.history[1]).toEqual({ rung: 'turn', startedMs: 800, connectedMs: 2000 });
  });

  it('without TURN goes from direct straight to the relay and says why', () => {
    const { l, clock, climbs } = ladder(false);
    clock.advance(5000);
    expect(climbs).toEqual([{ to: 'relay', reason: 'timeout' }]);
    expect(l.history.map((r) => [r.rung, r.leftBecause])).toEqual([
      ['direct', 'timeout'],
      ['turn', 'no_turn'],
      ['relay', undefined],
    ]);
  });

  it('a connection that fails later climbs again; stop() silences the timers', () => {
    const { l, clock, climbs } = ladder();
    l.onConnected();
    l.onFailed();
    expect(climbs).toEqual([{ to: 'turn', reason: 'failed' }]);
    l.stop();
    clock.advance(60_000);
    expect(climbs).toHaveLength(1);
  });

  it('finds TURN servers among ICE servers', () => {
    expect(hasTurnServer([{ urls: ['stun:a:3478'] }])).toBe(false);
    expect(hasTurnServer([{ urls: ['stun:a'] }, { urls: ['turns:b:5349'] }])).toBe(true);
    expect(hasTurnServer([{ urls: 'turn:c?transport=tcp' }])).toBe(true);
  });
});
