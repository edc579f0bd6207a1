// RoomRegistry and Room: ids, tokens, reclaiming, the grace period, membership
// notifications. Members are fakes that record what they are sent.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerMessage } from '../../../src/protocol/messages.js';
import type { Member, Room } from '../../../src/server/room.js';
import { RoomRegistry } from '../../../src/server/rooms.js';

// randomInt passes through to the real CSPRNG unless a test queues values.
const forced = vi.hoisted(() => ({ values: [] as number[] }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const randomInt = ((...args: Parameters<typeof actual.randomInt>) =>
    forced.values.length ? forced.values.shift()! : (actual.randomInt as (...a: unknown[]) => number)(...args)) as typeof actual.randomInt;
  return { ...actual, randomInt, default: { ...actual, randomInt } };
});

class FakeMember implements Member {
  room: Room | null = null;
  readonly sent: ServerMessage[] = [];
  constructor(readonly id: string) {}
  send(message: ServerMessage): void {
    this.sent.push(structuredClone(message));
  }
  sendText(text: string): void {
    this.sent.push(JSON.parse(text) as ServerMessage);
  }
  types(): string[] {
    return this.sent.map((m) => m.type);
  }
  of<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.sent.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }
  clear(): void {
    this.sent.length = 0;
  }
}

let n = 0;
const member = (prefix = 'm') => new FakeMember(`${prefix}-${++n}`);

afterEach(() => {
  forced.values.length = 0;
  vi.useRealTimers();
});

describe('room ids', () => {
  it('are six-digit strings and the broadcaster is told with its token', () => {
    const registry = new RoomRegistry(60_000);
    const b = member('b');
    const room = registry.create(b);
    expect(room.id).toMatch(/^\d{6}$/);
    expect(b.room).toBe(room);
    expect(b.sent).toEqual([{ type: 'room_created', room_id: room.id, room_token: room.token }]);
    expect(room.token.length).toBeGreaterThanOrEqual(16);
    expect(registry.get(room.id)).toBe(room);
    expect(registry.size).toBe(1);
  });

  it('small random numbers are zero-padded to six digits', () => {
    const registry = new RoomRegistry(60_000);
    forced.values.push(42, 0);
    expect(registry.create(member()).id).toBe('000042');
    expect(registry.create(member()).id).toBe('000000');
  });

  it('are unique among live rooms: a drawn id that is taken is drawn again', () => {
    const registry = new RoomRegistry(60_000);
    forced.values.push(123456);
    const first = registry.create(member());
    expect(first.id).toBe('123456');
    forced.values.push(123456, 123456, 654321);
    const second = registry.create(member());
    expect(second.id).toBe('654321');
    expect(registry.get('123456')).toBe(first);
    // Once the first room is gone its id may be used again.
    registry.close(first, 'ended');
    forced.values.push(123456);
    expect(registry.create(member()).id).toBe('123456');
  });

  it('are unique, well spread and not sequential over many rooms', () => {
    const registry = new RoomRegistry(60_000);
    const ids = Array.from({ length: 5_000 }, () => registry.create(member()).id);
    expect(ids.every((id) => /^\d{6}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(registry.size).toBe(ids.length);
    const numbers = ids.map(Number);
    let consecutive = 0;
    let increasing = 0;
    for (let i = 1; i < numbers.length; i++) {
      if (Math.abs(numbers[i]! - numbers[i - 1]!) <= 1) consecutive++;
      if (numbers[i]! > numbers[i - 1]!) increasing++;
    }
    // Random ids: neighbours almost never differ by one, and go up about half the time.
    expect(consecutive).toBeLessThan(5);
    expect(increasing / (numbers.length - 1)).toBeGreaterThan(0.4);
    expect(increasing / (numbers.length - 1)).toBeLessThan(0.6);
    // Spread over the whole space, leading zeros included.
    expect(Math.min(...numbers)).toBeLessThan(100_000);
    expect(Math.max(...numbers)).toBeGreaterThan(900_000);
    const firstDigits = new Set(ids.map((id) => id[0]));
    expect(firstDigits.size).toBe(10);
  });
});

describe('room tokens', () => {
  it('are signed with the secret: the same secret verifies them after a restart, another does not', () => {
    const before = new RoomRegistry(60_000, 'secret-a');
    const room = before.create(member('b'));
    expect(room.token).not.toContain(room.id);
    // A restarted server with the same secret recreates the room from the token alone.
    const after = new RoomRegistry(60_000, 'secret-a');
    const back = after.reclaim(room.id, room.token, member('b'));
    expect(back.ok && back.room.id).toBe(room.id);
    expect(new RoomRegistry(60_000, 'secret-b').reclaim(room.id, room.token, member('b'))).toEqual({ ok: false, reason: 'bad_token' });
    // Without a configured secret every registry has its own random one.
    expect(new RoomRegistry(60_000).reclaim(room.id, room.token, member('b')).ok).toBe(false);
  });

  it('a token is bound to its room id', () => {
    const registry = new RoomRegistry(60_000, 'secret');
    const room = registry.create(member('b'));
    const otherId = room.id === '123456' ? '654321' : '123456';
    expect(registry.reclaim(otherId, room.token, member('b'))).toEqual({ ok: false, reason: 'bad_token' });
    expect(registry.reclaim(room.id, 'no-dot-here', member('b'))).toEqual({ ok: false, reason: 'bad_token' });
    expect(registry.reclaim(room.id, `.${room.token.split('.')[1]}`, member('b'))).toEqual({ ok: false, reason: 'bad_token' });
  });

  it('the token of an ended room cannot take over a later room that drew the same id', () => {
    forced.values.push(424242, 424242);
    {
      const registry = new RoomRegistry(60_000, 'secret');
      const first = registry.create(member('b'));
      const oldToken = first.token;
      registry.close(first, 'ended');
      const rightful = member('b2');
      const second = registry.create(rightful);
      expect(second.id).toBe(first.id);
      expect(registry.reclaim(second.id, oldToken, member('thief'))).toEqual({ ok: false, reason: 'bad_token' });
      expect(second.broadcaster).toBe(rightful);
    }
  });

  it('the right token reclaims the live room', () => {
    const registry = new RoomRegistry(60_000);
    const b1 = member('b');
    const room = registry.create(b1);
    const b2 = member('b');
    const result = registry.reclaim(room.id, room.token, b2);
    expect(result).toEqual({ ok: true, room });
    expect(room.broadcaster).toBe(b2);
    expect(b2.room).toBe(room);
    expect(b1.room).toBeNull();
    expect(b2.sent).toContainEqual({ type: 'room_created', room_id: room.id, room_token: room.token });
    expect(registry.size).toBe(1);
  });

  it('a wrong token is refused and changes nothing', () => {
    const registry = new RoomRegistry(60_000);
    const b = member('b');
    const room = registry.create(b);
    const other = registry.create(member('b'));
    const intruder = member('x');
    for (const token of ['wrong', room.token.slice(1), room.token + 'x', other.token, room.token.toUpperCase(), '']) {
      if (token === room.token) continue;
      expect(registry.reclaim(room.id, token, intruder)).toEqual({ ok: false, reason: 'bad_token' });
    }
    expect(room.broadcaster).toBe(b);
    expect(intruder.room).toBeNull();
    expect(intruder.sent).toEqual([]);
  });

  it('the token of a forgotten room recreates the room with the same id', () => {
    const registry = new RoomRegistry(60_000, 'fixed');
    const room = registry.create(member('b'));
    const { id, token } = room;
    registry.close(room, 'ended');
    expect(registry.get(id)).toBeUndefined();
    const b = member('b');
    const result = registry.reclaim(id, token, b);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.room).not.toBe(room);
    expect(result.room.id).toBe(id);
    expect(result.room.token).toBe(token);
    expect(registry.get(id)).toBe(result.room);
    expect(b.sent).toEqual([{ type: 'room_created', room_id: id, room_token: token }]);
  });

  it('with the same secret a token survives a restart (a new registry)', () => {
    const before = new RoomRegistry(60_000, 'shared-secret');
    const room = before.create(member('b'));
    const after = new RoomRegistry(60_000, 'shared-secret');
    const result = after.reclaim(room.id, room.token, member('b'));
    expect(result.ok).toBe(true);
    expect(after.get(room.id)?.id).toBe(room.id);
    // And a registry with another secret refuses it.
    expect(new RoomRegistry(60_000, 'other').reclaim(room.id, room.token, member('b')).ok).toBe(false);
  });
});

describe('membership', () => {
  it('a viewer joining gets room_joined, the broadcaster viewer_joined, everyone a stats_summary', () => {
    const registry = new RoomRegistry(60_000);
    const b = member('b');
    const room = registry.create(b);
    b.clear();
    const v1 = member('v');
    room.addViewer(v1);
    expect(v1.room).toBe(room);
    expect(v1.types()).toEqual(['room_joined', 'stats_summary']);
    expect(v1.sent[0]).toEqual({ type: 'room_joined', room_id: room.id, broadcaster_id: b.id });
    expect(b.types()).toEqual(['viewer_joined', 'stats_summary']);
    expect(b.sent[0]).toEqual({ type: 'viewer_joined', viewer_id: v1.id });
    expect(b.of('stats_summary')[0]).toMatchObject({ room_id: room.id, viewer_count: 1, broadcaster_present: true });

    const v2 = member('v');
    room.addViewer(v2);
    expect(v1.of('stats_summary').at(-1)!.viewer_count).toBe(2);
    expect(b.of('stats_summary').at(-1)!.viewer_count).toBe(2);

    b.clear();
    v2.clear();
    room.removeViewer(v1);
    expect(v1.room).toBeNull();
    expect(b.sent).toEqual([{ type: 'viewer_left', viewer_id: v1.id }, expect.objectContaining({ type: 'stats_summary', viewer_count: 1 })]);
    expect(v2.types()).toEqual(['stats_summary']);
    // Removing twice is a no-op.
    b.clear();
    room.removeViewer(v1);
    expect(b.sent).toEqual([]);
  });

  it('signalling peers: only broadcaster <-> its own viewers', () => {
    const registry = new RoomRegistry(60_000);
    const b = member('b');
    const room = registry.create(b);
    const v1 = member('v');
    const v2 = member('v');
    room.addViewer(v1);
    room.addViewer(v2);
    const outsider = member('o');
    expect(room.peerFor(b, v1.id)).toBe(v1);
    expect(room.peerFor(v1, b.id)).toBe(b);
    expect(room.peerFor(v1, v2.id)).toBeNull();
    expect(room.peerFor(b, b.id)).toBeNull();
    expect(room.peerFor(b, outsider.id)).toBeNull();
    expect(room.peerFor(outsider, b.id)).toBeNull();
  });

  it('close tells everyone and forgets the room', () => {
    const registry = new RoomRegistry(60_000);
    const b = member('b');
    const room = registry.create(b);
    const v = member('v');
    room.addViewer(v);
    registry.close(room, 'ended');
    expect(v.sent.at(-1)).toEqual({ type: 'room_closed', room_id: room.id, reason: 'ended' });
    expect(v.room).toBeNull();
    expect(b.room).toBeNull();
    expect(room.closed).toBe(true);
    expect(registry.get(room.id)).toBeUndefined();
    expect(registry.size).toBe(0);
    // Closing again sends nothing more.
    const count = v.sent.length;
    registry.close(room, 'ended');
    expect(v.sent.length).toBe(count);
  });
});

describe('the grace period', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  function roomWithViewers(graceMs: number) {
    const registry = new RoomRegistry(graceMs);
    const b = member('b');
    const room = registry.create(b);
    const viewers = [member('v'), member('v')];
    for (const v of viewers) room.addViewer(v);
    for (const m of [b, ...viewers]) m.clear();
    return { registry, b, room, viewers };
  }

  it('a broadcaster gone: viewers get broadcaster_left, and the room closes after the grace', () => {
    const { registry, b, room, viewers } = roomWithViewers(5_000);
    registry.broadcasterGone(room);
    expect(b.room).toBeNull();
    expect(room.broadcaster).toBeNull();
    for (const v of viewers) expect(v.sent).toEqual([{ type: 'broadcaster_left', room_id: room.id }]);
    expect(room.summary().broadcaster_present).toBe(false);

    vi.advanceTimersByTime(4_999);
    expect(registry.get(room.id)).toBe(room);
    expect(viewers[0]!.types()).toEqual(['broadcaster_left']);

    vi.advanceTimersByTime(1);
    expect(registry.get(room.id)).toBeUndefined();
    for (const v of viewers) {
      expect(v.sent.at(-1)).toEqual({ type: 'room_closed', room_id: room.id, reason: 'broadcaster_timeout' });
      expect(v.room).toBeNull();
    }
  });

  it('a viewer joining during the grace is told the broadcaster is away', () => {
    const { registry, b, room } = roomWithViewers(5_000);
    registry.broadcasterGone(room);
    const late = member('v');
    room.addViewer(late);
    expect(late.types()).toEqual(['room_joined', 'broadcaster_left', 'stats_summary']);
    expect(late.sent[0]).toEqual({ type: 'room_joined', room_id: room.id, broadcaster_id: b.id });
    expect(b.sent).toEqual([]);
  });

  it('a reclaim inside the grace cancels the expiry and tells everyone', () => {
    const { registry, room, viewers } = roomWithViewers(5_000);
    registry.broadcasterGone(room);
    vi.advanceTimersByTime(4_000);
    const b2 = member('b');
    expect(registry.reclaim(room.id, room.token, b2)).toEqual({ ok: true, room });
    for (const v of viewers) {
      expect(v.sent.at(-1)).toEqual({ type: 'broadcaster_returned', room_id: room.id, broadcaster_id: b2.id });
    }
    expect(b2.sent).toEqual([
      { type: 'room_created', room_id: room.id, room_token: room.token },
      ...viewers.map((v) => ({ type: 'viewer_joined', viewer_id: v.id })),
    ]);
    expect(room.broadcasterId).toBe(b2.id);

    vi.advanceTimersByTime(60_000);
    expect(registry.get(room.id)).toBe(room);
    expect(room.closed).toBe(false);
    for (const v of viewers) expect(v.of('room_closed')).toEqual([]);

    // A second departure starts a fresh grace period.
    registry.broadcasterGone(room);
    vi.advanceTimersByTime(4_999);
    expect(registry.get(room.id)).toBe(room);
    vi.advanceTimersByTime(1);
    expect(registry.get(room.id)).toBeUndefined();
  });

  it('the expiry of an old room does not close a newer room with the same id', () => {
    const registry = new RoomRegistry(1_000, 'k');
    const room = registry.create(member('b'));
    registry.broadcasterGone(room);
    registry.close(room, 'ended');
    const again = registry.reclaim(room.id, room.token, member('b'));
    expect(again.ok).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect(registry.get(room.id)).toBeDefined();
  });
});
