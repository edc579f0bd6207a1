import { describe, expect, it } from 'vitest';
import { codecsIn, offeredCodecs, parseCodecList, preferenceOrder } from '../../../../src/web/rtc/codecs.js';

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
describe('codec choice', () => {
  it('reads codecs from capabilities, best first, without rtx/red/fec', () => {
    expect(codecsIn(CHROMIUM)).toEqual(['AV1', 'VP9', 'VP8', 'H264']);
    expect(codecsIn([{ mimeType: 'video/h264' }, { mimeType: 'video/vp8' }])).toEqual(['VP8', 'H264']);
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
