// use_sfu tickets: a signalling viewer's single-use, short-lived pass to a
// WHEP session, which ties that session to it (so it is not counted twice and
// needs no password). Expired tickets are swept whenever one is issued.
import { randomBytes } from 'node:crypto';

interface Ticket {
  roomId: string;
  viewerId: string;
  expires: number;
}

export class SfuTickets {
  private readonly tickets = new Map<string, Ticket>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(roomId: string, viewerId: string): string {
    const now = this.now();
    for (const [key, t] of this.tickets) if (t.expires < now) this.tickets.delete(key);
    const ticket = randomBytes(18).toString('base64url');
    this.tickets.set(ticket, { roomId, viewerId, expires: now + this.ttlMs });
    return ticket;
  }

  /** The viewer a ticket was issued to, if it is valid for this room; it is used up either way. */
  take(ticket: string, roomId: string): string | null {
    const t = this.tickets.get(ticket);
    if (!t) return null;
    this.tickets.delete(ticket);
    return t.roomId === roomId && t.expires >= this.now() ? t.viewerId : null;
  }
}
