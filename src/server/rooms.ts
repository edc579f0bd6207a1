// The registry of live rooms: the only place rooms are created, found and
// removed. Room ids are six random digits from a CSPRNG, never the id of a live
// room. A room token is "<nonce>.<HMAC(id, nonce)>" under a server secret: the
// server can check a reclaim without remembering anything (and, with
// ROOM_SECRET set, across a restart), while the nonce keeps the token of an
// ended room from taking over a later room that drew the same id.
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { RoomClosedReason } from '../protocol/messages.js';
import type { PasswordHash } from './password.js';
import { Room, type Member } from './room.js';

/** What the broadcaster chose for its room, and who holds it (for the per-IP room limit). */
export interface RoomOptions {
  isPublic?: boolean;
  password?: PasswordHash | null;
  /** The client IP the room counts against. */
  owner?: string;
}

export type ReclaimResult = { ok: true; room: Room } | { ok: false; reason: 'bad_token' };

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class RoomRegistry {
  private readonly rooms = new Map<string, Room>();
  private readonly secret: Buffer;
  private readonly removedListeners: ((room: Room) => void)[] = [];

  constructor(
    private readonly graceMs: number,
    secret?: string,
  ) {
    this.secret = secret ? Buffer.from(secret) : randomBytes(32);
  }

  get size(): number {
    return this.rooms.size;
  }

  get(id: string): Room | undefined {
    return this.rooms.get(id);
  }

  all(): IterableIterator<Room> {
    return this.rooms.values();
  }

  create(broadcaster: Member, options: RoomOptions = {}): Room {
    if (this.rooms.size >= 900_000) throw new Error('room id space exhausted');
    let id: string;
    do id = randomInt(0, 1_000_000).toString().padStart(6, '0');
    while (this.rooms.has(id));
    return this.add(new Room(id, this.mintToken(id), broadcaster, options.isPublic ?? true), options);
  }

  /** Whether `token` is the token of the live room `id` (constant-time). */
  holdsToken(id: string, token: string): boolean {
    const room = this.rooms.get(id);
    return room !== undefined && sameSecret(room.token, token);
  }

  /** Called once for every room that leaves the registry (ended or timed out). */
  onRoomRemoved(listener: (room: Room) => void): void {
    this.removedListeners.push(listener);
  }

  /**
   * Give a room back to the broadcaster holding its token: the live room if it
   * still exists, or a new one with the same id if the server forgot it.
   */
  reclaim(id: string, token: string, broadcaster: Member, options: RoomOptions = {}): ReclaimResult {
    if (!this.verify(id, token)) return { ok: false, reason: 'bad_token' };
    const room = this.rooms.get(id);
    // A forgotten room (e.g. after a restart) comes back with the options the broadcaster sends again.
    if (!room) return { ok: true, room: this.add(new Room(id, token, broadcaster, options.isPublic ?? true), options) };
    if (!sameSecret(room.token, token)) return { ok: false, reason: 'bad_token' };
    room.attachBroadcaster(broadcaster);
    return { ok: true, room };
  }

  /**
   * Whether a WHIP publisher with `token` may feed room `id`: the live room's
   * own token, or a valid token of a room the server no longer has.
   */
  acceptsToken(id: string, token: string): boolean {
    if (!this.verify(id, token)) return false;
    const room = this.rooms.get(id);
    return !room || sameSecret(room.token, token);
  }

  /**
   * An SFU feed (a WHIP publisher with the room's token) joins its room; a
   * room the server forgot is opened again for it, as a reclaim does.
   */
  openFeed(id: string, token: string, feed: Member, options: RoomOptions = {}): { ok: true; room: Room; created: boolean } | { ok: false } {
    if (!this.acceptsToken(id, token)) return { ok: false };
    let room = this.rooms.get(id);
    const created = !room;
    room ??= this.add(new Room(id, token, feed), options);
    room.attachFeed(feed);
    return { ok: true, room, created };
  }

  /** The SFU feed ended; if it stood in as the broadcaster, the room waits graceMs, then closes. */
  feedGone(room: Room, feed: Member): void {
    room.detachFeed(feed, this.graceMs, () => this.close(room, 'broadcaster_timeout'));
  }

  /** The broadcaster is gone; the room waits graceMs for it, then closes. */
  broadcasterGone(room: Room): void {
    room.detachBroadcaster(this.graceMs, () => this.close(room, 'broadcaster_timeout'));
  }

  close(room: Room, reason: RoomClosedReason): void {
    room.close(reason);
    if (this.rooms.get(room.id) !== room) return;
    this.rooms.delete(room.id);
    for (const listener of this.removedListeners) listener(room);
  }

  private mintToken(id: string): string {
    return this.sign(id, randomBytes(9).toString('base64url'));
  }

  private sign(id: string, nonce: string): string {
    return `${nonce}.${createHmac('sha256', this.secret).update(`room:${id}:${nonce}`).digest('base64url')}`;
  }

  private verify(id: string, token: string): boolean {
    const dot = token.indexOf('.');
    return dot > 0 && sameSecret(this.sign(id, token.slice(0, dot)), token);
  }

  private add(room: Room, options: RoomOptions = {}): Room {
    room.password = options.password ?? null;
    room.owner = options.owner ?? '';
    this.rooms.set(room.id, room);
    return room;
  }
}
