import { describe, expect, it } from 'vitest';
import { routeForViewer, uplinkStarved, type TopologyState } from '../../../../src/web/broadcast/topology.js';
import type { Sample } from '../../../../src/web/rtc/stats-sampler.js';

const base: TopologyState = { topology: 'auto', overflow: 'relay', maxP2P: 4, canPublishToRelay: true, sfuAccepts: true, p2pViewers: 0, cpuLimitedFor: 0, starvedFor: 0 };

describe('the route of a new viewer', () => {
  it('auto: P2P up to the cap, then the overflow', () => {
    expect(routeForViewer({ ...base, p2pViewers: 3 })).toBe('p2p');
    expect(routeForViewer({ ...base, p2pViewers: 4 })).toBe('relay');
    expect(routeForViewer({ ...base, maxP2P: 0 })).toBe('relay');
    expect(routeForViewer({ ...base, overflow: 'sfu', p2pViewers: 4 })).toBe('sfu');
  });

  it('auto: the overflow sooner when the encoder or the uplink is already the limit, never for the first viewer', () => {
    expect(routeForViewer({ ...base, p2pViewers: 1, cpuLimitedFor: 4 })).toBe('p2p');
    expect(routeForViewer({ ...base, p2pViewers: 1, cpuLimitedFor: 5 })).toBe('relay');
    expect(routeForViewer({ ...base, p2pViewers: 1, starvedFor: 9 })).toBe('p2p');
    expect(routeForViewer({ ...base, p2pViewers: 1, starvedFor: 10 })).toBe('relay');
    expect(routeForViewer({ ...base, overflow: 'sfu', p2pViewers: 1, starvedFor: 10 })).toBe('sfu');
    expect(routeForViewer({ ...base, p2pViewers: 0, cpuLimitedFor: 50, starvedFor: 50 })).toBe('p2p');
  });

  it('a forced topology wins, except that a route this browser or this viewer cannot use falls back to P2P', () => {
    expect(routeForViewer({ ...base, topology: 'relay' })).toBe('relay');
    expect(routeForViewer({ ...base, topology: 'sfu' })).toBe('sfu');
    expect(routeForViewer({ ...base, topology: 'p2p', p2pViewers: 40 })).toBe('p2p');
    expect(routeForViewer({ ...base, topology: 'relay', canPublishToRelay: false })).toBe('p2p');
    expect(routeForViewer({ ...base, p2pViewers: 40, canPublishToRelay: false })).toBe('p2p');
    expect(routeForViewer({ ...base, topology: 'sfu', sfuAccepts: false })).toBe('p2p');
    expect(routeForViewer({ ...base, overflow: 'sfu', p2pViewers: 40, sfuAccepts: false })).toBe('p2p');
  });
});

describe('a starved uplink', () => {
  const sample = (videoBitrate: number, qualityLimitation?: string): Sample => ({ at: 0, bitrate: videoBitrate, videoBitrate, path: null, ...(qualityLimitation ? { qualityLimitation } : {}) });

  it('is every link held under half the preset by bandwidth', () => {
    expect(uplinkStarved([sample(1000, 'bandwidth'), sample(1200, 'bandwidth')], 2500)).toBe(true);
    expect(uplinkStarved([sample(1000, 'bandwidth'), sample(1300, 'bandwidth')], 2500)).toBe(false);
    expect(uplinkStarved([sample(1000, 'bandwidth'), sample(1000, 'cpu')], 2500)).toBe(false);
    expect(uplinkStarved([], 2500)).toBe(false);
  });
});
