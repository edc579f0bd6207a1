import { describe, expect, it } from 'vitest';
import { servesByRelay, uplinkStarved, type TopologyState } from '../../../../src/web/broadcast/topology.js';
import type { Sample } from '../../../../src/web/rtc/stats-sampler.js';

const base: TopologyState = { topology: 'auto', maxP2P: 4, canPublishToRelay: true, p2pViewers: 0, cpuLimitedFor: 0, starvedFor: 0 };

describe('which viewers the server relay serves', () => {
  it('auto: P2P up to the cap, then the relay', () => {
    expect(servesByRelay({ ...base, p2pViewers: 3 })).toBe(false);
    expect(servesByRelay({ ...base, p2pViewers: 4 })).toBe(true);
    expect(servesByRelay({ ...base, maxP2P: 0 })).toBe(true);
  });

  it('auto: the relay sooner when the encoder or the uplink is already the limit, never for the first viewer', () => {
    expect(servesByRelay({ ...base, p2pViewers: 1, cpuLimitedFor: 4 })).toBe(false);
    expect(servesByRelay({ ...base, p2pViewers: 1, cpuLimitedFor: 5 })).toBe(true);
    expect(servesByRelay({ ...base, p2pViewers: 1, starvedFor: 9 })).toBe(false);
    expect(servesByRelay({ ...base, p2pViewers: 1, starvedFor: 10 })).toBe(true);
    expect(servesByRelay({ ...base, p2pViewers: 0, cpuLimitedFor: 50, starvedFor: 50 })).toBe(false);
  });

  it('a forced topology wins, except that a browser that cannot publish to the relay serves everyone P2P', () => {
    expect(servesByRelay({ ...base, topology: 'relay' })).toBe(true);
    expect(servesByRelay({ ...base, topology: 'p2p', p2pViewers: 40 })).toBe(false);
    expect(servesByRelay({ ...base, topology: 'relay', canPublishToRelay: false })).toBe(false);
    expect(servesByRelay({ ...base, p2pViewers: 40, canPublishToRelay: false })).toBe(false);
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
