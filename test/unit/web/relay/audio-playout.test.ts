// The relay's audio playout schedule, against a fake AudioContext whose clock
// the test moves: chunks play back to back a fixed target ahead of the clock,
// a late chunk restarts the schedule (an underrun), a backlog is shed.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AudioPlayout } from '../../../../src/web/relay/audio-playout.js';

class FakeContext {
  static last: FakeContext;
  currentTime = 0;
  state: AudioContextState = 'running';
  readonly destination = {};
  readonly starts: number[] = [];
  gainValue = 1;
  constructor() {
    FakeContext.last = this;
  }
  createGain() {
    const gain = { gain: { value: 1 }, connect: () => undefined };
    Object.defineProperty(gain.gain, 'value', { set: (v: number) => (this.gainValue = v), get: () => this.gainValue });
    return gain;
  }
  createBuffer(_channels: number, length: number, sampleRate: number) {
    return { duration: length / sampleRate, getChannelData: () => new Float32Array(length) };
  }
  createBufferSource() {
    return { buffer: null, connect: () => undefined, start: (at: number) => this.starts.push(at) };
  }
  resume() {
    this.state = 'running';
    return Promise.resolve();
  }
  close() {
    return Promise.resolve();
  }
}

/** A 20 ms Opus-sized chunk at 48 kHz. */
function chunk() {
  return { numberOfChannels: 1, numberOfFrames: 960, sampleRate: 48_000, copyTo: () => undefined, close: vi.fn() } as unknown as AudioData;
}

beforeEach(() => vi.stubGlobal('AudioContext', FakeContext));
afterEach(() => vi.unstubAllGlobals());

describe('AudioPlayout', () => {
  it('plays chunks back to back, the first one 40 ms ahead of the clock', () => {
    const p = new AudioPlayout(false);
    const ctx = FakeContext.last;
    ctx.currentTime = 1;
    for (let i = 0; i < 3; i++) p.play(chunk());
    expect(ctx.starts.map((t) => Math.round(t * 1000))).toEqual([1040, 1060, 1080]);
    expect(p.underruns).toBe(0);
  });

  it('a chunk arriving after the schedule ran dry counts an underrun and starts again 40 ms ahead', () => {
    const p = new AudioPlayout(false);
    const ctx = FakeContext.last;
    p.play(chunk());
    ctx.currentTime = 0.5;
    p.play(chunk());
    expect(p.underruns).toBe(1);
    expect(Math.round(ctx.starts[1]! * 1000)).toBe(540);
  });

  it('sheds chunks once the schedule is more than 80 ms beyond its target (a burst after a stall)', () => {
    const p = new AudioPlayout(false);
    const ctx = FakeContext.last;
    for (let i = 0; i < 10; i++) p.play(chunk());
    // 40 ms target + 80 ms slack: nothing is scheduled to start later than 120 ms; the rest is dropped.
    expect(Math.max(...ctx.starts)).toBeLessThanOrEqual(0.12 + 1e-9);
    expect(ctx.starts.length).toBeGreaterThanOrEqual(4);
    expect(p.dropped).toBe(10 - ctx.starts.length);
  });

  it('muted is a gain of 0 with the schedule kept; a suspended context (no gesture yet) schedules nothing', () => {
    const p = new AudioPlayout(true);
    const ctx = FakeContext.last;
    expect(ctx.gainValue).toBe(0);
    p.play(chunk());
    expect(ctx.starts.length).toBe(1);
    ctx.state = 'suspended';
    const late = chunk();
    p.play(late);
    expect(ctx.starts.length).toBe(1);
    expect(late.close).toHaveBeenCalled();
    p.setMuted(false);
    expect(ctx.gainValue).toBe(1);
    expect(ctx.state).toBe('running');
  });
});
