import { describe, expect, it } from 'vitest';
import { chooseCodec, codecBelow, CodecPolicy, CpuStepDown } from '../../../../src/web/broadcast/codec-policy.js';

const ALL = ['AV1', 'VP9', 'VP8', 'H264'] as const;

describe('codec choice', () => {
  it('gives each viewer the best codec both sides have', () => {
    expect(chooseCodec(ALL, ['AV1', 'VP9', 'VP8', 'H264'], null)).toBe('AV1');
    expect(chooseCodec(ALL, ['VP9', 'VP8', 'H264'], null)).toBe('VP9');
    expect(chooseCodec(ALL, ['VP8', 'H264'], null)).toBe('VP8');
    expect(chooseCodec(ALL, ['H264'], null)).toBe('H264');
    // Firefox without its OpenH264 download: a broadcaster that cannot send AV1 still finds VP9.
    expect(chooseCodec(['VP9', 'VP8'], ['AV1', 'VP9', 'VP8'], null)).toBe('VP9');
  });

  it('assumes an older viewer that did not say decodes what we send', () => {
    expect(chooseCodec(ALL, undefined, null)).toBe('AV1');
  });

  it('keeps under the ceiling, but never leaves a viewer without a picture', () => {
    expect(chooseCodec(ALL, ['AV1', 'VP9', 'VP8', 'H264'], 'VP9')).toBe('VP9');
    expect(chooseCodec(ALL, ['AV1', 'VP9', 'VP8', 'H264'], 'VP8')).toBe('VP8');
    expect(chooseCodec(ALL, ['AV1', 'VP9'], 'VP8')).toBe('VP9');
    expect(chooseCodec(ALL, ['AV1', 'VP9', 'VP8'], 'H264')).toBe('VP8');
    expect(chooseCodec(ALL, [], null)).toBeNull();
  });

  it('steps down to the next cheaper codec this browser can send', () => {
    expect(codecBelow('AV1', ALL)).toBe('VP9');
    expect(codecBelow('VP9', ['AV1', 'VP8'])).toBe('VP8');
    expect(codecBelow('H264', ALL)).toBeNull();
  });
});

describe('CPU step-down', () => {
  const feed = (rule: CpuStepDown, samples: string) => [...samples].map((c) => (rule.observe(c === 'c') ? 'S' : '.')).join('');

  it('steps after 5 CPU-bound seconds in a row, not on scattered ones', () => {
    expect(feed(new CpuStepDown(), 'cccc.cccc.cccc.')).toBe('...............');
    expect(feed(new CpuStepDown(), 'ccccc')).toBe('....S');
  });

  it('waits out the cooldown before the next step', () => {
    // Steps at the 5th sample, then needs 10 samples since the step and 5 CPU-bound in a row.
    expect(feed(new CpuStepDown(), 'c'.repeat(20))).toBe('....S.........S.....');
    expect(feed(new CpuStepDown(), 'ccccc' + '.....' + 'ccccc')).toBe('....S.........S');
  });
});

describe('the room codec policy', () => {
  const cpuBound = (policy: CodecPolicy, inUse: ('AV1' | 'VP9' | 'VP8' | 'H264')[], samples = 5) => {
    let stepped = false;
    for (let i = 0; i < samples; i++) stepped = policy.observe(true, inUse) || stepped;
    return stepped;
  };

  it('steps below the best codec in use when the encoder is CPU-bound, and says why', () => {
    const policy = new CodecPolicy(null, ALL);
    expect(policy.codecFor(undefined)).toBe('AV1');
    expect(cpuBound(policy, ['AV1', 'VP8'])).toBe(true);
    expect(policy.ceiling).toEqual({ codec: 'VP9', reason: 'cpu' });
    expect(policy.codecFor(['AV1', 'VP9', 'VP8'])).toBe('VP9');
  });

  it('the lower ceiling wins; a new choice by the broadcaster forgets the CPU step-down', () => {
    const policy = new CodecPolicy('VP8', ALL);
    expect(cpuBound(policy, ['AV1'])).toBe(true);
    expect(policy.ceiling).toEqual({ codec: 'VP8', reason: 'user' });
    policy.setUserCeiling(null);
    expect(policy.ceiling).toBeUndefined();
    expect(policy.codecFor(undefined)).toBe('AV1');
  });

  it('does not step with nothing in use or nothing cheaper to send', () => {
    expect(cpuBound(new CodecPolicy(null, ALL), [])).toBe(false);
    expect(cpuBound(new CodecPolicy(null, ['H264']), ['H264'])).toBe(false);
  });
});
