// The per-connection token bucket, driven by an injected clock.
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/server/ratelimit.js';

function bucket(burst: number, perSecond: number) {
  const clock = { t: 1_000_000 };
  const b = new TokenBucket(burst, perSecond, () => clock.t);
  const takeMany = (n: number) => Array.from({ length: n }, () => b.take()).filter(Boolean).length;
  return { b, clock, takeMany };
}

describe('TokenBucket', () => {
  it('allows a full burst at once, then refuses', () => {
    const { b, takeMany } = bucket(5, 1);
    expect(takeMany(5)).toBe(5);
    expect(b.take()).toBe(false);
    expect(b.take()).toBe(false);
  });

  it('refills at the given rate', () => {
    const { b, clock, takeMany } = bucket(3, 10);
    expect(takeMany(3)).toBe(3);
    clock.t += 99;
    expect(b.take()).toBe(false);
    clock.t += 1; // 100 ms at 10/s: one token
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
    clock.t += 250; // 2.5 tokens
    expect(takeMany(5)).toBe(2);
    clock.t += 50; // the half token left plus half a token
    expect(b.take()).toBe(true);
  });

  it('never holds more than the burst after a long idle', () => {
    const { clock, takeMany } = bucket(4, 100);
    expect(takeMany(4)).toBe(4);
    clock.t += 3_600_000;
    expect(takeMany(10)).toBe(4);
  });

  it('refused attempts do not use tokens', () => {
    const { b, clock, takeMany } = bucket(1, 1);
    expect(b.take()).toBe(true);
    expect(takeMany(100)).toBe(0);
    clock.t += 1_000;
    expect(b.take()).toBe(true);
  });

  it('a steady rate at the limit is always allowed', () => {
    const { b, clock } = bucket(2, 20);
    for (let i = 0; i < 200; i++) {
      clock.t += 50;
      expect(b.take()).toBe(true);
    }
  });
});
