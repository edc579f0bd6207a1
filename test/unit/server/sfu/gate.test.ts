// The keyframe gate of one viewer: nothing before a keyframe, and sequence
// numbers with no holes where packets were held back.
import { describe, expect, it } from 'vitest';
import { KeyframeGate, REQUEST_OVERTAKEN_MS } from '../../../../src/server/sfu/gate.js';

/** Feed packets [seq, keyframeStart] through the gate; the sequence numbers sent (-1 held). */
function run(gate: KeyframeGate, packets: [number, boolean][]): number[] {
  return packets.map(([seq, key]) => gate.pass(seq, key));
}

describe('KeyframeGate', () => {
  it('a new viewer gets nothing until a keyframe starts, then every packet, numbered without a hole', () => {
    const gate = new KeyframeGate(() => 0);
    expect(run(gate, [[100, false], [101, false], [102, true], [103, false], [104, false]])).toEqual([-1, -1, 100, 101, 102]);
  });

  it('closed again (a new source, a failed send), it holds back until the next keyframe and hides the gap', () => {
    const gate = new KeyframeGate(() => 0);
    run(gate, [[10, true], [11, false]]);
    gate.close();
    expect(run(gate, [[12, false], [13, false], [14, true], [15, false]])).toEqual([-1, -1, 12, 13]);
  });

  it('numbers wrap at 65536', () => {
    const gate = new KeyframeGate(() => 0);
    expect(run(gate, [[65535, false], [0, true], [1, false]])).toEqual([-1, 65535, 0]);
  });

  it('a viewer that lost the picture (PLI) waits for a keyframe, unless one began reaching it just now', () => {
    let now = 1_000;
    const gate = new KeyframeGate(() => now);
    run(gate, [[1, true]]);
    now += REQUEST_OVERTAKEN_MS - 1;
    expect(gate.pictureLost()).toBe(false);
    expect(run(gate, [[2, false]])).toEqual([2]);
    now += 2;
    expect(gate.pictureLost()).toBe(true);
    expect(run(gate, [[3, false], [4, true]])).toEqual([-1, 3]);
  });

  it('a waiting gate stays waiting when the viewer asks again', () => {
    const gate = new KeyframeGate(() => 0);
    expect(gate.pictureLost()).toBe(true);
    expect(gate.waiting).toBe(true);
  });
});
