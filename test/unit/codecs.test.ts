import { describe, expect, it } from 'vitest';
import { chooseCodec, codecBelow, codecsIn, CpuStepDown, offeredCodecs, parseCodecList, preferenceOrder } from '../../src/web/codecs.js';

// A capability list in the shape and order Chromium 156 gives it (trimmed).
const CHROMIUM = [
  { mimeType: 'video/VP8', clockRate: 90000 },
  { mimeType: 'video/rtx', clockRate: 90000 },
  { mimeType: 'video/VP9', clockRate: 90000, sdpFmtpLine: 'profile-id=0' },
  { mimeType: 'video/VP9', clockRate: 90000, sdpFmtpLine: 'profile-id=2' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'profile-level-id=42001f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'profile-level-id=42e01f' },
  { mimeType: 'video/AV1', clockRate: 90000 },
  { mimeType: 'video/red', clockRate: 90000 },
  { mimeType: 'video/ulpfec', clockRate: 90000 },
];
const ALL = ['AV1', 'VP9', 'VP8', 'H264'] as const;

describe('codec choice', () => {
  it('reads codecs from capabilities, best first, without rtx/red/fec', () => {
    expect(codecsIn(CHROMIUM)).toEqual(['AV1', 'VP9', 'VP8', 'H264']);
    expect(codecsIn([{ mimeType: 'video/h264' }, { mimeType: 'video/vp8' }])).toEqual(['VP8', 'H264']);
  });

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

  it('orders preferences with the chosen codec first and keeps rtx, red and fec last', () => {
    const order = preferenceOrder(CHROMIUM, 'VP8').map((c) => `${c.mimeType}${c.sdpFmtpLine ? ` ${c.sdpFmtpLine}` : ''}`);
    expect(order).toEqual([
      'video/VP8',
      'video/AV1',
      'video/VP9 profile-id=0',
      'video/VP9 profile-id=2',
      'video/H264 profile-level-id=42001f',
      'video/H264 profile-level-id=42e01f',
      'video/rtx',
      'video/red',
      'video/ulpfec',
    ]);
  });

  it('leaves out what is not allowed (a viewer restricted to VP8 and H.264)', () => {
    const order = preferenceOrder(CHROMIUM, null, ['VP8', 'H264']).map((c) => c.mimeType);
    expect(order).toEqual(['video/VP8', 'video/H264', 'video/H264', 'video/rtx', 'video/red', 'video/ulpfec']);
  });

  it('parses URL codec lists', () => {
    expect(parseCodecList('vp8,h.264')).toEqual(['VP8', 'H264']);
    expect(parseCodecList(' H264 , av1 ')).toEqual(['AV1', 'H264']);
    expect(parseCodecList('theora')).toBeNull();
    expect(parseCodecList('')).toBeNull();
    expect(parseCodecList(null)).toBeNull();
  });

  it('reads the offered order from an SDP video section', () => {
    const sdp = [
      'v=0',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=rtpmap:111 opus/48000/2',
      'm=video 9 UDP/TLS/RTP/SAVPF 98 99 96 97 45 46',
      'a=rtpmap:96 VP8/90000',
      'a=rtpmap:97 rtx/90000',
      'a=rtpmap:98 VP9/90000',
      'a=rtpmap:99 rtx/90000',
      'a=rtpmap:45 AV1/90000',
      'a=rtpmap:46 rtx/90000',
      '',
    ].join('\r\n');
    expect(offeredCodecs(sdp)).toEqual(['VP9', 'VP8', 'AV1']);
    expect(offeredCodecs('v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n')).toEqual([]);
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
