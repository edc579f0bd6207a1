import { describe, expect, it } from 'vitest';
import { levelsFor } from '../../../../src/web/broadcast/adaptive-bitrate.js';
import { broadcastReport, broadcastStats, peerViewerInfo, relayViewerInfo } from '../../../../src/web/broadcast/stats.js';
import type { RelayPublisherStats } from '../../../../src/web/relay/publisher.js';
import type { PathInfo, Sample } from '../../../../src/web/rtc/stats-sampler.js';

const P2P: PathInfo = { type: 'p2p', localCandidate: 'host', remoteCandidate: 'host', protocol: 'udp' };
const sample = (over: Partial<Sample>): Sample => ({ at: 1, bitrate: 0, videoBitrate: 0, path: P2P, ...over });
const relay: RelayPublisherStats = { viewers: 3, codec: 'VP9', bitrate: 900, fps: 29, framesSkipped: 0 };

describe('the broadcaster figures', () => {
  it('upload is every link plus the relay stream once; the bitrate is the median link', () => {
    const samples = [sample({ bitrate: 1000 }), sample({ bitrate: 2000 }), sample({ bitrate: 1600 })];
    const stats = broadcastStats({ samples, relay, viewers: [] });
    expect(stats.upload).toBe(1000 + 2000 + 1600 + 900);
    expect(stats.bitrate).toBe(1600);
  });

  it('encoder figures come from the first link that reports them, else the relay, else the camera', () => {
    const lead = sample({ fps: 30, width: 1280, height: 720, codec: 'AV1', qualityLimitation: 'bandwidth' });
    expect(broadcastStats({ samples: [sample({}), lead], relay, viewers: [] })).toMatchObject({ fps: 30, width: 1280, height: 720, codec: 'AV1', qualityLimitation: 'bandwidth' });
    const onlyRelay = broadcastStats({ samples: [], relay, camera: { frameRate: 30, width: 854, height: 480 }, viewers: [] });
    expect(onlyRelay).toMatchObject({ upload: 900, bitrate: 900, fps: 29, width: 854, height: 480, codec: 'VP9' });
    expect(onlyRelay.qualityLimitation).toBeUndefined();
    const nothing = broadcastStats({ samples: [], relay: null, camera: { frameRate: 30, width: 854, height: 480 }, viewers: [] });
    expect(nothing).toMatchObject({ upload: 0, bitrate: 0, fps: 30 });
    expect(nothing.codec).toBeUndefined();
  });

  it('the network speed is the thinnest link; the ceiling is carried when set', () => {
    const stats = broadcastStats({ samples: [sample({ availableBitrate: 3000 }), sample({ availableBitrate: 1200 }), sample({})], relay: null, ceiling: { codec: 'VP8', reason: 'cpu' }, viewers: [] });
    expect(stats.availableBitrate).toBe(1200);
    expect(stats.codecCeiling).toEqual({ codec: 'VP8', reason: 'cpu' });
  });

  it('the report carries only what was measured, with median RTT and loss', () => {
    const samples = [sample({ bitrate: 1000, rtt: 10, loss: 0 }), sample({ bitrate: 1000, rtt: 30, loss: 4 }), sample({ bitrate: 1000, rtt: 20 })];
    const report = broadcastReport(broadcastStats({ samples, relay: null, viewers: [] }), samples);
    expect(report).toMatchObject({ type: 'stats_report', bitrate: 1000, upload_bitrate: 3000, rtt: 20, loss: 2 });
    expect(JSON.parse(JSON.stringify(report))).not.toHaveProperty('fps');
  });

  it('viewer rows: a P2P link from its sample, a relay viewer from the relay stream', () => {
    const level = levelsFor('720p')[2]!;
    const row = peerViewerInfo({ id: 'v1', state: 'connected', rung: 'turn', codec: 'AV1', level }, sample({ bitrate: 800, rtt: 12, codec: 'AV1' }));
    expect(row).toEqual({ id: 'v1', state: 'connected', rung: 'turn', path: P2P, bitrate: 800, rtt: 12, codec: 'AV1', plannedCodec: 'AV1', level });
    expect(peerViewerInfo({ id: 'v2', state: 'new', rung: 'direct', codec: null, level }, null)).toEqual({ id: 'v2', state: 'new', rung: 'direct', path: null, bitrate: 0, level });
    expect(relayViewerInfo('v3', relay)).toMatchObject({ id: 'v3', rung: 'relay', bitrate: 900, codec: 'VP9', path: { type: 'relay' } });
  });
});
