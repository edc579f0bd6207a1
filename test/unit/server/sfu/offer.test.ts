// Offers as real clients send them (fixtures/: Chromium 156's WHIP and WHEP
// offers, captured with its fake camera; an offer built with libdatachannel
// exactly as OBS's WHIP output builds it) and the codec the SFU takes from each.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ACCEPTED_CODECS,
  choosePublisherTracks,
  chooseViewerTracks,
  decodes,
  describeTrack,
  parseOffer,
  sfuCodec,
  type ParsedOffer,
} from '../../../../src/server/sfu/offer.js';
import type { InboundTrackInfo } from '../../../../src/server/sfu/types.js';

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, 'fixtures', name), 'utf8');

function parsed(sdp: string): ParsedOffer {
  const r = parseOffer(sdp);
  if (!r.ok) throw new Error(r.message);
  return r.offer;
}

const chromiumWhip = fixture('chromium-whip-sendonly.sdp');
const chromiumWhep = fixture('chromium-whep-recvonly.sdp');
const chromiumVp8Only = fixture('chromium-whep-vp8-only.sdp');
const obs = fixture('obs-like-whip.sdp');

describe('parseOffer', () => {
  it('reads the sections of a Chromium WHIP offer: mids, kinds, directions, codecs with fmtp, SSRCs', () => {
    const offer = parsed(chromiumWhip);
    expect(offer.sections.map((s) => [s.kind, s.mid, s.direction])).toEqual([
      ['audio', '0', 'sendonly'],
      ['video', '1', 'sendonly'],
    ]);
    const video = offer.sections[1]!;
    expect(video.codecs.find((c) => c.payloadType === 108)).toEqual({ payloadType: 108, name: 'H264', clockRate: 90000, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' });
    expect(video.ssrcs).toEqual([39983771, 3376813931]); // the media SSRC and its RTX
    expect(offer.sections[0]!.codecs[0]).toEqual({ payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' });
  });

  it('reads an OBS offer (libdatachannel: ICE credentials in the first section only, candidates included)', () => {
    const offer = parsed(obs);
    expect(offer.sections.map((s) => [s.kind, s.mid, s.direction, s.ssrcs])).toEqual([
      ['audio', '0', 'sendonly', [2471651453]],
      ['video', '1', 'sendonly', [3059842937]],
    ]);
  });

  it('refuses what is not an offer, saying why', () => {
    const fail = (sdp: string) => {
      const r = parseOffer(sdp);
      return r.ok ? 'ok' : r.message;
    };
    expect(fail('hello')).toMatch(/must start with "v=0"/);
    expect(fail('')).toMatch(/must start with "v=0"/);
    expect(fail('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n')).toMatch(/no audio or video media section/);
    expect(fail('v=0\r\nthis is not sdp\r\n')).toMatch(/not an SDP line/);
    expect(fail(chromiumWhep.replace(/a=ice-ufrag:.*\r\n/g, ''))).toMatch(/no ICE credentials/);
    expect(fail(chromiumWhep.replace(/a=fingerprint:.*\r\n/g, ''))).toMatch(/no DTLS a=fingerprint/);
    expect(fail(chromiumWhep.replace(/a=mid:0\r\n/, ''))).toMatch(/has no a=mid/);
    expect(fail(chromiumWhep.replace('m=video 9 UDP/TLS/RTP/SAVPF 96', 'm=video x UDP/TLS/RTP/SAVPF 96'))).toMatch(/malformed media line/);
    expect(fail(chromiumWhep.replace('a=rtpmap:96 VP8/90000', 'a=rtpmap:96 VP8'))).toMatch(/malformed a=rtpmap/);
  });

  it('a bundle-only section (port 0) still counts as offered', () => {
    const sdp = chromiumWhep.replace('m=audio 9 ', 'm=audio 0 ').replace('a=mid:1\r\n', 'a=mid:1\r\na=bundle-only\r\n');
    const offer = parsed(sdp);
    expect(chooseViewerTracks(offer, { audio: opus(111) }).audio?.mid).toBe('1');
  });
});

describe('choosePublisherTracks', () => {
  it('a browser offering every codec publishes AV1 (the best in AV1 > VP9 > VP8 > H.264) and Opus', () => {
    const choice = choosePublisherTracks(parsed(chromiumWhip));
    expect(choice.video).toEqual({ mid: '1', info: { kind: 'video', codec: 'AV1', payloadType: 45, clockRate: 90000, fmtp: 'level-idx=5;profile=0;tier=0' } });
    expect(choice.audio).toEqual({ mid: '0', info: { kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' } });
  });

  it('OBS: H.264 constrained baseline, packetization-mode 1, as offered', () => {
    const choice = choosePublisherTracks(parsed(obs));
    expect(choice.video?.info).toEqual({ kind: 'video', codec: 'H264', payloadType: 96, clockRate: 90000, fmtp: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1' });
    expect(choice.audio?.info.codec).toBe('opus');
  });

  it('with H.264 only, packetization-mode 1 and the most widely decoded profile win', () => {
    const onlyH264 = chromiumWhip.replace(/m=video (\d+) UDP\/TLS\/RTP\/SAVPF [\d ]+/, 'm=video $1 UDP/TLS/RTP/SAVPF 102 104 108 114 116 39');
    const sdp = onlyH264.replace(/a=rtpmap:(45|96|98|100) .*\r\n/g, '');
    expect(choosePublisherTracks(parsed(sdp)).video?.info.payloadType).toBe(108); // 42e01f, mode 1
  });

  it('VP9 profile 2 and video without a codec it takes are left out; audio alone still publishes', () => {
    const sdp = chromiumWhip.replace(/a=rtpmap:(45|96|98|102|104|108|114|116|39) .*\r\n/g, '');
    const choice = choosePublisherTracks(parsed(sdp));
    expect(choice.video).toBeUndefined();
    expect(choice.audio?.info.payloadType).toBe(111);
  });

  it('a recvonly offer publishes nothing', () => {
    expect(choosePublisherTracks(parsed(chromiumWhep))).toEqual({});
  });
});

function video(codec: InboundTrackInfo['codec'], payloadType: number, fmtp?: string): InboundTrackInfo {
  return { kind: 'video', codec, payloadType, clockRate: 90000, ...(fmtp ? { fmtp } : {}) };
}
function opus(payloadType: number): InboundTrackInfo {
  return { kind: 'audio', codec: 'opus', payloadType, clockRate: 48000, channels: 2 };
}

describe('chooseViewerTracks (WHEP)', () => {
  it("a Chromium player gets the publisher's codec under its own payload type, its other codecs listed after", () => {
    const choice = chooseViewerTracks(parsed(chromiumWhep), { video: video('H264', 96, 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1'), audio: opus(111) });
    expect(choice.video?.mid).toBe('0');
    expect(choice.video?.codecs[0]).toMatchObject({ payloadType: 108, name: 'H264' }); // its 42e01f, mode 1
    const names = choice.video!.codecs.map((c) => sfuCodec(c));
    expect(new Set(names)).toEqual(new Set(['AV1', 'VP9', 'VP8', 'H264']));
    expect(choice.video!.codecs.every((c) => !/rtx|red|ulpfec|flexfec/i.test(c.name))).toBe(true);
    expect(choice.audio).toEqual({ mid: '1', codecs: [expect.objectContaining({ payloadType: 111, name: 'opus' })] });
  });

  it('a player that decodes only VP8 gets nothing of an AV1 room', () => {
    expect(chooseViewerTracks(parsed(chromiumVp8Only), { video: video('AV1', 45, 'level-idx=5;profile=0;tier=0') })).toEqual({});
    expect(chooseViewerTracks(parsed(chromiumVp8Only), { video: video('VP8', 96) }).video?.codecs.map((c) => c.payloadType)).toEqual([96]);
  });

  it('names what the room sends, for the 422 message', () => {
    expect(describeTrack(video('H264', 96, 'profile-level-id=42e01f;packetization-mode=1'))).toBe('H.264 (profile-level-id=42e01f;packetization-mode=1)');
    expect(describeTrack(opus(111))).toBe('Opus');
    expect(ACCEPTED_CODECS).toMatch(/AV1.*VP9.*VP8.*H\.264.*Opus/);
  });
});

describe('decodes (H.264 profiles)', () => {
  const viewer = (fmtp: string) => ({ payloadType: 100, name: 'H264', clockRate: 90000, fmtp });
  const obsTrack = video('H264', 96, 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1');
  it('a constrained-baseline stream decodes as baseline, main or high, in the same packetization mode', () => {
    expect(decodes(viewer('profile-level-id=42e01f;packetization-mode=1'), obsTrack)).toBe(true);
    expect(decodes(viewer('profile-level-id=42001f;packetization-mode=1'), obsTrack)).toBe(true);
    expect(decodes(viewer('profile-level-id=4d001f;packetization-mode=1'), obsTrack)).toBe(true);
    expect(decodes(viewer('profile-level-id=640c1f;packetization-mode=1'), obsTrack)).toBe(true);
    expect(decodes(viewer('profile-level-id=42e01f;packetization-mode=0'), obsTrack)).toBe(false);
    expect(decodes(viewer('profile-level-id=f4001f;packetization-mode=1'), obsTrack)).toBe(false);
  });
  it('a high-profile stream needs a high-profile decoder', () => {
    const high = video('H264', 96, 'profile-level-id=640c1f;packetization-mode=1');
    expect(decodes(viewer('profile-level-id=42e01f;packetization-mode=1'), high)).toBe(false);
    expect(decodes(viewer('profile-level-id=640c34;packetization-mode=1'), high)).toBe(true);
  });
  it('VP9 profile 2 and AV1 profile 1 are not the codecs the SFU forwards', () => {
    expect(sfuCodec({ payloadType: 1, name: 'VP9', clockRate: 90000, fmtp: 'profile-id=2' })).toBeNull();
    expect(sfuCodec({ payloadType: 1, name: 'AV1', clockRate: 90000, fmtp: 'profile=1' })).toBeNull();
    expect(sfuCodec({ payloadType: 1, name: 'H264', clockRate: 90000, fmtp: 'packetization-mode=2' })).toBeNull();
  });
});
