// The relay's per-viewer pacing decision and the frame header, alone.
import { describe, expect, it } from 'vitest';
import { decodeRelayHeader, encodeRelayFrame, FrameKind, relayPayload } from '../../../src/protocol/relay-frame.js';
import { decideDelivery, DEFAULT_RELAY_LIMITS as L, type ViewerPacing } from '../../../src/server/relay-pacing.js';

const fresh = (): ViewerPacing => ({ waitingForKeyframe: false, maxLayer: 2, stalledSince: 0 });
/** A video frame arriving while the viewer is backlogMs behind. */
const video = (backlogMs: number, layer = 0, keyframe = false, now = 0) => ({ backlogMs, backlogBytes: backlogMs * 100, now, kind: FrameKind.video, keyframe, layer });

describe('decideDelivery', () => {
  it('a viewer keeping up gets every layer', () => {
    const v = fresh();
    for (const layer of [0, 2, 1, 2]) expect(decideDelivery(v, video(0, layer), L)).toBe('send');
  });

  it('a growing backlog sheds the top layer, then all but the base layer, switching only at base-layer frames', () => {
    const v = fresh();
    // Between base frames the ceiling holds, so a T2 frame never loses its T1 reference mid-way.
    expect(decideDelivery(v, video(L.dropTopLayerMs + 1, 2), L)).toBe('send');
    expect(decideDelivery(v, video(L.dropTopLayerMs + 1, 0), L)).toBe('send');
    expect(v.maxLayer).toBe(1);
    expect(decideDelivery(v, video(L.dropTopLayerMs + 1, 2), L)).toBe('drop');
    expect(decideDelivery(v, video(L.dropTopLayerMs + 1, 1), L)).toBe('send');
    expect(decideDelivery(v, video(L.baseLayerOnlyMs + 1, 0), L)).toBe('send');
    expect(v.maxLayer).toBe(0);
    expect(decideDelivery(v, video(L.baseLayerOnlyMs + 1, 1), L)).toBe('drop');
    // Recovered: full rate again from the next base frame.
    expect(decideDelivery(v, video(0, 0), L)).toBe('send');
    expect(decideDelivery(v, video(0, 2), L)).toBe('send');
  });

  it('far behind, video stops until a keyframe arrives with the backlog drained; audio goes on meanwhile', () => {
    const v = fresh();
    expect(decideDelivery(v, video(L.waitForKeyframeMs + 1, 0), L)).toBe('drop');
    expect(v.waitingForKeyframe).toBe(true);
    expect(decideDelivery(v, video(0, 0), L)).toBe('drop');
    expect(decideDelivery(v, { ...video(0), kind: FrameKind.audio }, L)).toBe('send');
    expect(decideDelivery(v, video(L.waitForKeyframeMs + 1, 0, true), L)).toBe('drop');
    expect(decideDelivery(v, video(100, 0, true), L)).toBe('send');
    expect(v.waitingForKeyframe).toBe(false);
  });

  it('cuts off a viewer over the cut-off, or stalled too long', () => {
    expect(decideDelivery(fresh(), { ...video(0), backlogBytes: L.cutOffBytes + 1 }, L)).toBe('cut_off');
    const v = fresh();
    expect(decideDelivery(v, video(L.waitForKeyframeMs + 1, 0, false, 1_000), L)).toBe('drop');
    expect(decideDelivery(v, video(L.waitForKeyframeMs + 1, 0, false, 1_000 + L.stallMs - 1), L)).toBe('drop');
    expect(decideDelivery(v, video(L.waitForKeyframeMs + 1, 0, false, 1_000 + L.stallMs + 1), L)).toBe('cut_off');
  });

  it('decoder configs always go through', () => {
    const v = { ...fresh(), waitingForKeyframe: true };
    expect(decideDelivery(v, { ...video(L.waitForKeyframeMs), kind: FrameKind.videoConfig }, L)).toBe('send');
  });
});

describe('relay frame header', () => {
  it('round-trips every field', () => {
    const header = { kind: FrameKind.video, keyframe: true, layer: 2, stream: 0, timestampUs: 12_345_678_901, durationUs: 33_333, captureMs: 1_764_000_000_123.5 };
    const frame = encodeRelayFrame(header, new Uint8Array([1, 2, 3]));
    expect(frame.byteLength).toBe(27);
    expect(decodeRelayHeader(frame)).toEqual(header);
    expect([...relayPayload(frame)]).toEqual([1, 2, 3]);
  });

  it('rejects short frames, other versions and unknown kinds', () => {
    expect(decodeRelayHeader(new Uint8Array(10))).toBeNull();
    const frame = encodeRelayFrame({ kind: FrameKind.audio, keyframe: false, layer: 0, stream: 0, timestampUs: 0, durationUs: 0, captureMs: 0 }, new Uint8Array());
    frame[0] = 2;
    expect(decodeRelayHeader(frame)).toBeNull();
    frame[0] = 1;
    frame[1] = 9;
    expect(decodeRelayHeader(frame)).toBeNull();
  });
});
