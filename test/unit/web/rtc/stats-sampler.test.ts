// The connection path from getStats, the way each engine reports the chosen
// candidate pair: Chromium (and Firefox 153) through transport.selectedCandidatePairId,
// older Firefox only by marking the pair itself (selected / nominated).
import { describe, expect, it, vi } from 'vitest';
import { describePath, selectedPair, StatsSampler } from '../../../../src/web/rtc/stats-sampler.js';

type Stat = Record<string, unknown> & { type: string; id: string };
const stats = (...list: Stat[]) => new Map(list.map((s) => [s.id, s]));

const candidates: Stat[] = [
  { type: 'local-candidate', id: 'L1', candidateType: 'host', protocol: 'udp' },
  { type: 'remote-candidate', id: 'R1', candidateType: 'host' },
  { type: 'local-candidate', id: 'L2', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tcp' },
  { type: 'remote-candidate', id: 'R2', candidateType: 'srflx' },
];

describe('selectedPair / describePath', () => {
  it('follows transport.selectedCandidatePairId', () => {
    const s = stats(
      ...candidates,
      { type: 'transport', id: 'T', selectedCandidatePairId: 'P2' },
      { type: 'candidate-pair', id: 'P1', localCandidateId: 'L1', remoteCandidateId: 'R1', nominated: true, state: 'succeeded' },
      { type: 'candidate-pair', id: 'P2', localCandidateId: 'L2', remoteCandidateId: 'R2', state: 'succeeded' },
    );
    expect(selectedPair(s)?.id).toBe('P2');
    expect(describePath(s)).toEqual({ type: 'turn', localCandidate: 'relay', remoteCandidate: 'srflx', protocol: 'udp', turnProtocol: 'tcp' });
  });

  it('without selectedCandidatePairId (Firefox), takes the pair marked selected, else nominated and succeeded', () => {
    const firefox = stats(
      ...candidates,
      { type: 'transport', id: 'T' },
      { type: 'candidate-pair', id: 'P1', localCandidateId: 'L1', remoteCandidateId: 'R1', nominated: true, state: 'in-progress' },
      { type: 'candidate-pair', id: 'P2', localCandidateId: 'L2', remoteCandidateId: 'R2', selected: true, state: 'succeeded' },
    );
    expect(selectedPair(firefox)?.id).toBe('P2');
    const nominatedOnly = stats(
      ...candidates,
      { type: 'candidate-pair', id: 'P1', localCandidateId: 'L1', remoteCandidateId: 'R1', nominated: true, state: 'succeeded' },
    );
    expect(describePath(nominatedOnly)).toEqual({ type: 'p2p', localCandidate: 'host', remoteCandidate: 'host', protocol: 'udp' });
  });

  it('no chosen pair yet: no path', () => {
    expect(describePath(stats(...candidates, { type: 'candidate-pair', id: 'P1', localCandidateId: 'L1', remoteCandidateId: 'R1', state: 'in-progress' }))).toBeNull();
  });
});

describe('network speed', () => {
  /** A peer connection whose getStats gives these reports in turn (a transport and its pair, nothing else). */
  function pcReporting(reports: { pairAvailable?: number; transportBytes: number }[]): RTCPeerConnection {
    let i = 0;
    return {
      getStats: async () => {
        const r = reports[Math.min(i++, reports.length - 1)]!;
        const pair = { id: 'p', type: 'candidate-pair', bytesReceived: r.transportBytes, ...(r.pairAvailable ? { availableIncomingBitrate: r.pairAvailable } : {}) };
        return new Map<string, unknown>([
          ['t', { id: 't', type: 'transport', selectedCandidatePairId: 'p', bytesReceived: r.transportBytes }],
          ['p', pair],
        ]);
      },
      getReceivers: () => [],
    } as unknown as RTCPeerConnection;
  }

  it('is the browser’s estimate where it gives one', async () => {
    const sampler = new StatsSampler(pcReporting([{ pairAvailable: 3_000_000, transportBytes: 0 }]), 'inbound');
    expect(await sampler.sample()).toMatchObject({ availableBitrate: 3000, speedSource: 'estimate' });
  });

  it('else what the whole transport received per second (a P2P viewer in Chromium with transport-cc, or Firefox)', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const sampler = new StatsSampler(pcReporting([{ transportBytes: 1_000 }, { transportBytes: 251_000 }]), 'inbound');
      const first = await sampler.sample();
      expect(first.availableBitrate).toBeUndefined();
      vi.advanceTimersByTime(1_000);
      expect(await sampler.sample()).toMatchObject({ availableBitrate: 2000, speedSource: 'measured' });
    } finally {
      vi.useRealTimers();
    }
  });
});
