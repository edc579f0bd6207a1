import { describe, expect, it } from 'vitest';
import { normalizeRoomCode } from '../../../../src/web/ui/room-code.js';

describe('normalizeRoomCode', () => {
  it('keeps six ASCII digits from what people paste or type', () => {
    expect(normalizeRoomCode('123456')).toBe('123456');
    expect(normalizeRoomCode('123 456')).toBe('123456');
    expect(normalizeRoomCode('１２３４５６')).toBe('123456');
    expect(normalizeRoomCode(' １２３ ４５６\n')).toBe('123456');
    expect(normalizeRoomCode('code: 654-321')).toBe('654321');
    expect(normalizeRoomCode('1234567')).toBe('123456');
    expect(normalizeRoomCode('abc')).toBe('');
  });
});
