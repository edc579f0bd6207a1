import { afterEach, describe, expect, it, vi } from 'vitest';
import { PeerLink, type LocalSignal } from '../../../../src/web/rtc/peer-link.js';
import { FakePeerConnection } from './fake-peer-connection.js';

function link(options: { answerTimeoutMs?: number; turnOnly?: boolean } = {}) {
  let pc: FakePeerConnection | null = null;
  const peer = new PeerLink({
    iceServers: [],
    direction: 'outbound',
    ...options,
    createPeerConnection: (config) => (pc = new FakePeerConnection(config)) as unknown as RTCPeerConnection,
  });
  const signals: LocalSignal[] = [];
  peer.on('signal', (s) => signals.push(s));
  return { peer, pc: pc! as FakePeerConnection, signals };
}

const kinds = (signals: LocalSignal[]) => signals.map((s) => (s.type === 'candidate' ? `candidate ${s.candidate.candidate}` : s.type));
const answerSdp = 'v=0\r\no=- 77 1 IN IP4 127.0.0.1\r\ns=answer\r\n';
const offerSdp = (session = 88, version = 1) => `v=0\r\no=- ${session} ${version} IN IP4 127.0.0.1\r\ns=offer\r\n`;
/** Let every queued step run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('PeerLink as the offerer (the broadcaster)', () => {
  it('a prepared offer goes out only when sent, with the candidates gathered so far in it; later ones trickle', async () => {
    const { peer, pc, signals } = link();
    await peer.prepareOffer();
    pc.gather('early');
    expect(signals).toEqual([]);
    await peer.sendOffer();
    pc.gather('late');
    expect(kinds(signals)).toEqual(['offer', 'candidate late']);
    expect((signals[0] as { sdp: string }).sdp).toContain('a=candidate:early');
  });

  it('remote candidates that come before the answer are held, then added after it, in order', async () => {
    const { peer, pc } = link();
    await peer.sendOffer();
    peer.addRemoteCandidate({ candidate: 'c1' });
    peer.addRemoteCandidate({ candidate: 'c2' });
    const answered = peer.acceptAnswer(answerSdp);
    peer.addRemoteCandidate({ candidate: 'c3' });
    await answered;
    await settle();
    expect(pc.log.filter((l) => l.startsWith('setRemote') || l.startsWith('addIce'))).toEqual(['setRemote answer', 'addIce c1', 'addIce c2', 'addIce c3']);
  });

  it('glare: renegotiations asked for while an offer is out wait for its answer and merge into one offer', async () => {
    const { peer, pc, signals } = link();
    await peer.sendOffer();
    void peer.renegotiate(); // a codec change
    void peer.renegotiate({ iceRestart: true }); // and the viewer's ladder climbing
    void peer.renegotiate();
    await settle();
    expect(kinds(signals)).toEqual(['offer']);
    expect(pc.signalingState).toBe('have-local-offer');
    await peer.acceptAnswer(answerSdp);
    await settle();
    expect(kinds(signals)).toEqual(['offer', 'offer']);
    expect(pc.log.filter((l) => l.startsWith('createOffer'))).toEqual(['createOffer', 'createOffer restart']);
    // Never an offer set on top of one that was sent and not answered.
    expect(pc.log.indexOf('setRemote answer')).toBeLessThan(pc.log.lastIndexOf('setLocal offer'));
  });

  it('restart while negotiating: the TURN-only policy applies at once, the restart offer follows the answer', async () => {
    const { peer, pc, signals } = link();
    await peer.sendOffer();
    void peer.restartIce(true);
    expect(pc.getConfiguration().iceTransportPolicy).toBe('relay');
    expect(peer.turnOnly).toBe(true);
    await settle();
    expect(kinds(signals)).toEqual(['offer']);
    await peer.acceptAnswer(answerSdp);
    await settle();
    expect(kinds(signals)).toEqual(['offer', 'offer']);
    expect(pc.log.at(-2)).toBe('createOffer restart');
  });

  it('an answer that never comes: after the wait, the renegotiation replaces the offer that is out', async () => {
    vi.useFakeTimers();
    const { peer, signals } = link({ answerTimeoutMs: 5_000 });
    void peer.sendOffer();
    await vi.advanceTimersByTimeAsync(10);
    void peer.restartIce(false);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(kinds(signals)).toEqual(['offer']);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(kinds(signals)).toEqual(['offer', 'offer']);
  });

  it('renegotiating with no offer out makes a new offer at once', async () => {
    const { peer, signals } = link();
    await peer.sendOffer();
    await peer.acceptAnswer(answerSdp);
    await peer.renegotiate();
    expect(kinds(signals)).toEqual(['offer', 'offer']);
  });

  it('a step that fails is logged and the queue carries on', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { peer, pc, signals } = link();
    // An answer with no offer out: the browser refuses it.
    await peer.acceptAnswer(answerSdp);
    expect(warn).toHaveBeenCalledOnce();
    await peer.sendOffer();
    expect(kinds(signals)).toEqual(['offer']);
    expect(pc.signalingState).toBe('have-local-offer');
  });

  it('a bandwidth cap goes on the answer: set again at once without sending anything, and on every later answer', async () => {
    const { peer, pc, signals } = link();
    const videoAnswer = (bw = '') => `v=0\r\no=- 77 1 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n${bw}a=mid:1\r\n`;
    await peer.sendOffer();
    await peer.acceptAnswer(videoAnswer('b=AS:9000\r\n'));
    expect(pc.remoteDescription!.sdp).toContain('b=AS:9000');
    await peer.setBandwidthCap(244);
    expect(pc.remoteDescription!.sdp).toMatch(/m=video [^\n]*\r\nc=IN IP4 0.0.0.0\r\nb=AS:244\r\na=mid:1/);
    expect(pc.remoteDescription!.sdp).not.toContain('b=AS:9000');
    expect(pc.signalingState).toBe('stable');
    expect(kinds(signals)).toEqual(['offer']);
    // The same cap again changes nothing; a renegotiation's answer comes capped.
    const before = pc.log.length;
    await peer.setBandwidthCap(244);
    expect(pc.log.length).toBe(before);
    await peer.renegotiate();
    await peer.acceptAnswer(videoAnswer());
    expect(pc.remoteDescription!.sdp).toContain('b=AS:244');
  });

  it('after close, failing steps are quiet', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { peer } = link();
    peer.close();
    await peer.sendOffer();
    await peer.acceptAnswer(answerSdp);
    expect(warn).not.toHaveBeenCalled();
    expect(peer.isClosed).toBe(true);
  });
});

describe('PeerLink as the answerer (the viewer)', () => {
  it('answers an offer, shaping the transceivers between the two descriptions', async () => {
    const { peer, pc, signals } = link();
    const answer = await peer.acceptOffer(offerSdp(), () => pc.log.push('shape'));
    expect(pc.log).toEqual(['setRemote offer', 'shape', 'createAnswer', 'setLocal answer']);
    expect(kinds(signals)).toEqual(['answer']);
    expect(answer).toBe((signals[0] as { sdp: string }).sdp);
  });

  it('candidates before the offer wait for it; an unusable one does not cost the answer', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { peer, pc, signals } = link();
    pc.refuse.add('bad');
    peer.addRemoteCandidate({ candidate: 'bad' });
    peer.addRemoteCandidate({ candidate: 'good' });
    await peer.acceptOffer(offerSdp());
    expect(pc.log).toEqual(['setRemote offer', 'addIce good', 'createAnswer', 'setLocal answer']);
    expect(kinds(signals)).toEqual(['answer']);
  });

  it('two offers in a row (a renegotiation landing while the first is answered) are answered in order', async () => {
    const { peer, pc, signals } = link();
    const first = peer.acceptOffer(offerSdp(88, 1));
    peer.addRemoteCandidate({ candidate: 'for-first' });
    const second = peer.acceptOffer(offerSdp(88, 2));
    peer.addRemoteCandidate({ candidate: 'for-second' });
    await Promise.all([first, second]);
    await settle();
    // Each candidate goes to the description it came after, never to the one before it.
    expect(pc.log).toEqual([
      'setRemote offer',
      'createAnswer',
      'setLocal answer',
      'addIce for-first',
      'setRemote offer',
      'createAnswer',
      'setLocal answer',
      'addIce for-second',
    ]);
    expect(kinds(signals)).toEqual(['answer', 'answer']);
  });

  it('a TURN-only link is made with the relay transport policy', () => {
    const { pc } = link({ turnOnly: true });
    expect(pc.getConfiguration()).toMatchObject({ iceTransportPolicy: 'relay', bundlePolicy: 'max-bundle' });
  });
});
