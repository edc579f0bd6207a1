// SDP repairs between engines (src/web/sdp.ts), on descriptions captured from
// the real browsers: Firefox 153 ESR's offer after setCodecPreferences kept VP8
// only (orphan a=rtcp-fb lines that Chromium refuses), and its answer to a
// Chromium offer of H.264 alone (video turned down).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sanitizeSdp, videoRejected, withVideoBandwidth } from '../../../../src/web/rtc/sdp.js';

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, 'fixtures', name), 'utf8');
const FIREFOX_OFFER = fixture('firefox-offer-vp8-only.sdp');
const FIREFOX_H264_ANSWER = fixture('firefox-answer-to-h264-only.sdp');

/** Payload types per m= section: those listed on the m= line, and those any codec attribute names. */
function sections(sdp: string): { listed: string[]; attributed: string[]; lines: string[] }[] {
  return sdp
    .split(/\r?\n(?=m=)/)
    .slice(1)
    .map((section) => {
      const lines = section.split(/\r?\n/);
      const listed = lines[0]!.split(' ').slice(3);
      const attributed = lines.map((l) => /^a=(?:rtpmap|rtcp-fb|fmtp):(\d+) /.exec(l)?.[1]).filter((pt): pt is string => !!pt);
      return { listed, attributed, lines };
    });
}

describe('sanitizeSdp', () => {
  it("removes Firefox's rtcp-fb lines for payload types setCodecPreferences took off the m= line", () => {
    const before = sections(FIREFOX_OFFER)[1]!;
    // The quirk itself, as captured: 121 (VP9) and 99 (AV1) are gone from m= but keep rtcp-fb lines.
    expect(before.listed).toEqual(['120', '124', '123', '122', '119']);
    expect(before.attributed).toContain('121');
    expect(before.attributed).toContain('99');

    const clean = sanitizeSdp(FIREFOX_OFFER);
    for (const section of sections(clean)) {
      for (const pt of section.attributed) expect(section.listed, `payload type ${pt}`).toContain(pt);
    }
    const video = sections(clean)[1]!;
    expect(video.listed).toEqual(['120', '124', '123', '122', '119']);
    // VP8's feedback stays, and so does everything that is not a codec line.
    expect(video.lines).toContain('a=rtcp-fb:120 nack pli');
    expect(video.lines).toContain('a=fmtp:124 apt=120');
    expect(video.lines).toContain('a=setup:actpass');
    expect(clean.split('\r\n').length).toBe(FIREFOX_OFFER.split('\r\n').length - 10);
  });

  it('keeps CRLF line endings and the final line break', () => {
    const clean = sanitizeSdp(FIREFOX_OFFER);
    expect(clean.endsWith('\r\n')).toBe(true);
    expect(clean.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it('changes nothing in a description that has no orphan lines', () => {
    const once = sanitizeSdp(FIREFOX_OFFER);
    expect(sanitizeSdp(once)).toBe(once);
    expect(sanitizeSdp(FIREFOX_H264_ANSWER)).toBe(FIREFOX_H264_ANSWER);
  });

  it('drops an rtx payload type whose apt names a codec that is gone, from m= and its attributes', () => {
    const sdp = [
      'v=0',
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98',
      'a=rtpmap:96 VP8/90000',
      'a=rtpmap:97 rtx/90000',
      'a=fmtp:97 apt=96',
      'a=rtpmap:98 rtx/90000',
      'a=fmtp:98 apt=100',
      'a=rtcp-fb:98 nack',
      'a=rtcp-fb:* nack',
      '',
    ].join('\n');
    expect(sanitizeSdp(sdp)).toBe(
      ['v=0', 'm=video 9 UDP/TLS/RTP/SAVPF 96 97', 'a=rtpmap:96 VP8/90000', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96', 'a=rtcp-fb:* nack', ''].join('\n'),
    );
  });

  it('leaves the session part, application sections and rejected sections alone', () => {
    const sdp = [
      'v=0',
      'a=rtcp-fb:5 nack',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'a=sctp-port:5000',
      'm=video 0 UDP/TLS/RTP/SAVPF 120',
      'a=rtpmap:120 VP8/90000',
      'a=inactive',
    ].join('\r\n');
    expect(sanitizeSdp(sdp)).toBe(sdp);
  });
});

describe('videoRejected', () => {
  it("sees Firefox's answer to an H.264-only offer (port 0, inactive)", () => {
    expect(videoRejected(FIREFOX_H264_ANSWER)).toBe(true);
  });

  it('is false for a description whose video is on, or that has no video', () => {
    expect(videoRejected(FIREFOX_OFFER)).toBe(false);
    expect(videoRejected('v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\n')).toBe(false);
  });
});

describe('withVideoBandwidth', () => {
  it('puts one b=AS after c= in the video section only, replacing any b= there, keeping the line endings', () => {
    const capped = withVideoBandwidth(FIREFOX_OFFER, 244);
    const [audio, video] = sections(capped);
    expect(audio!.lines.some((l) => l.startsWith('b='))).toBe(false);
    expect(video!.lines.slice(0, 3)).toEqual(['m=video 9 UDP/TLS/RTP/SAVPF 120 124 123 122 119', 'c=IN IP4 0.0.0.0', 'b=AS:244']);
    expect(capped.split('\r\n').length).toBe(FIREFOX_OFFER.split('\r\n').length + 1);
    // Again with another value: still one line, the new one; the same value changes nothing.
    const again = withVideoBandwidth(capped, 3064);
    expect(sections(again)[1]!.lines.filter((l) => l.startsWith('b='))).toEqual(['b=AS:3064']);
    expect(withVideoBandwidth(again, 3064)).toBe(again);
    expect(withVideoBandwidth(again, 244)).toBe(capped);
  });

  it('without a c= line, goes right after m= (and i=)', () => {
    const sdp = ['v=0', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'i=camera', 'b=TIAS:500000', 'a=rtpmap:96 VP8/90000', ''].join('\n');
    expect(withVideoBandwidth(sdp, 150.4)).toBe(['v=0', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'i=camera', 'b=AS:150', 'a=rtpmap:96 VP8/90000', ''].join('\n'));
  });
});
