// Edits of SDP text: rejecting sections, ANNOUNCED_IP in host candidates,
// holding back an offer's candidates, and trickle fragments (RFC 8840).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { announceAddress, parseTrickleFragment, rejectSections, splitCandidates } from '../../../../src/server/sfu/sdp-text.js';

const obs = readFileSync(path.join(import.meta.dirname, 'fixtures', 'obs-like-whip.sdp'), 'utf8');

describe('rejectSections', () => {
  it('sets the port of sections not kept to 0 and takes them out of the BUNDLE group', () => {
    const out = rejectSections(obs, new Set(['1']));
    expect(out).toMatch(/^m=audio 0 UDP\/TLS\/RTP\/SAVPF 111$/m);
    expect(out).toMatch(/^m=video \d+ UDP\/TLS\/RTP\/SAVPF 96$/m);
    expect(out).toMatch(/^a=group:BUNDLE 1$/m);
    expect(out).not.toMatch(/^m=video 0 /m);
  });
});

describe('announceAddress', () => {
  it('puts the announced address in host candidates (one per port) and c= lines; other types untouched', () => {
    const answer = [
      'v=0',
      'm=video 40000 UDP/TLS/RTP/SAVPF 96',
      'c=IN IP4 10.0.0.5',
      'a=candidate:1 1 UDP 2114977791 10.0.0.5 40000 typ host',
      'a=candidate:2 1 UDP 2116026111 fd00::5 40000 typ host',
      'a=candidate:3 1 UDP 1686052607 198.51.100.9 40000 typ srflx raddr 10.0.0.5 rport 40000',
      '',
    ].join('\r\n');
    expect(announceAddress(answer, '203.0.113.7').split('\r\n')).toEqual([
      'v=0',
      'm=video 40000 UDP/TLS/RTP/SAVPF 96',
      'c=IN IP4 203.0.113.7',
      'a=candidate:1 1 UDP 2114977791 203.0.113.7 40000 typ host',
      'a=candidate:3 1 UDP 1686052607 198.51.100.9 40000 typ srflx raddr 10.0.0.5 rport 40000',
      '',
    ]);
    expect(announceAddress(answer, '2001:db8::1')).toMatch(/^c=IN IP6 2001:db8::1$/m);
  });
});

describe('splitCandidates', () => {
  it('takes the candidates (with their section mid) and end-of-candidates out of an offer', () => {
    const { sdp, candidates } = splitCandidates(obs);
    expect(sdp).not.toMatch(/a=candidate|a=end-of-candidates/);
    expect(candidates.length).toBeGreaterThan(0);
    expect(candidates.every((c) => c.mid === '0' && c.candidate.startsWith('candidate:'))).toBe(true);
    expect(sdp.split('\r\n').length).toBe(obs.split('\r\n').length - candidates.length - 1);
  });
});

describe('parseTrickleFragment', () => {
  it('reads ICE credentials and candidates per mid, as whip.js sends them', () => {
    const frag = 'a=ice-ufrag:abcd\r\na=ice-pwd:secretsecret\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.10 54321 typ host generation 0\r\na=end-of-candidates\r\n';
    expect(parseTrickleFragment(frag)).toEqual({
      ok: true,
      fragment: { iceUfrag: 'abcd', icePwd: 'secretsecret', candidates: [{ mid: '0', candidate: 'candidate:1 1 udp 2122260223 192.0.2.10 54321 typ host generation 0' }], endOfCandidates: true },
    });
  });

  it('refuses lines that are not SDP, malformed candidates, and candidates without a mid', () => {
    expect(parseTrickleFragment('hello')).toMatchObject({ ok: false, message: expect.stringMatching(/not an SDP fragment line/) });
    expect(parseTrickleFragment('a=mid:0\r\na=candidate:garbage')).toMatchObject({ ok: false, message: expect.stringMatching(/malformed candidate/) });
    expect(parseTrickleFragment('a=candidate:1 1 udp 1 192.0.2.1 5 typ host')).toMatchObject({ ok: false, message: expect.stringMatching(/before the a=mid/) });
  });
});
