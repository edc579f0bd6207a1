import { afterEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../../src/web/emitter.js';

class Source extends Emitter<{ tick: number; done: void }> {
  fire(n: number): void {
    this.emit('tick', n);
  }
}

afterEach(() => vi.restoreAllMocks());

describe('Emitter', () => {
  it('a listener that throws is logged and the others still get the event', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const source = new Source();
    const seen: string[] = [];
    source.on('tick', (n) => seen.push(`a${n}`));
    source.on('tick', () => {
      throw new Error('broken view');
    });
    source.on('tick', (n) => seen.push(`c${n}`));
    expect(() => source.fire(1)).not.toThrow();
    source.fire(2);
    expect(seen).toEqual(['a1', 'c1', 'a2', 'c2']);
    expect(error).toHaveBeenCalledTimes(2);
    expect(String(error.mock.calls[0]![0])).toContain('"tick"');
  });

  it('a listener may unsubscribe itself while the event is delivered', () => {
    const source = new Source();
    const seen: number[] = [];
    const off = source.on('tick', (n) => {
      seen.push(n);
      off();
    });
    source.on('tick', (n) => seen.push(n * 10));
    source.fire(1);
    source.fire(2);
    expect(seen).toEqual([1, 10, 20]);
  });

  it('onEach subscribes several handlers and removes them all at once', () => {
    const source = new Source();
    const seen: number[] = [];
    const off = source.onEach({ tick: (n) => seen.push(n) });
    source.fire(1);
    off();
    source.fire(2);
    expect(seen).toEqual([1]);
  });
});
