// The SFU as the rest of the server sees it: rooms' feeds, the WHIP and WHEP
// sessions (by the id in their resource URL), use_sfu tickets, and the
// bookkeeping every session shares — its place in the room, its count against
// the client address, and its end. HTTP lives in whip.ts / whep.ts; media in
// feed.ts, publisher.ts and subscriber.ts.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { IpLimits } from '../ip-limits.js';
import type { ServerMetrics } from '../metrics.js';
import type { Member } from '../room.js';
import type { RoomRegistry } from '../rooms.js';
import { SfuEngine } from './engine.js';
import { SfuFeed } from './feed.js';
import { FeedMember, WhepMember } from './members.js';
import { chooseViewerTracks, describeTrack, type ParsedOffer, type TrackChoice } from './offer.js';
import type { EndReason, PeerTimeouts, SfuPeer } from './peer.js';
import { SfuPublisher } from './publisher.js';
import { rejectSections } from './sdp-text.js';
import { SfuSubscriber } from './subscriber.js';
import { SfuTickets } from './tickets.js';

/** What the signalling routes need of the SFU. */
export interface SfuRouting {
  isLive(roomId: string): boolean;
  /** A use_sfu ticket for this viewer. */
  ticketFor(roomId: string, viewerId: string): string;
  /** The viewer left the room: its WHEP session ends. */
  release(roomId: string, viewerId: string): void;
}

/** A WHIP or WHEP resource, addressed by the id in its Location. */
export interface SfuSession {
  readonly id: string;
  readonly kind: 'whip' | 'whep';
  readonly roomId: string;
  readonly etag: string;
  readonly peer: SfuPeer;
  close(reason: EndReason): void;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; status: number; code: string; message: string };

const fail = (status: number, code: string, message: string): { ok: false; status: number; code: string; message: string } => ({ ok: false, status, code, message });

/** libdatachannel would not take the offer (it checks more than parseOffer does). */
function refused(err: unknown): { ok: false; status: number; code: string; message: string } {
  return fail(400, 'bad_sdp', `the offer could not be used: ${err instanceof Error ? err.message : String(err)}`);
}

function midsOf(choice: { video?: { mid: string }; audio?: { mid: string } }): Set<string> {
  return new Set([choice.video?.mid, choice.audio?.mid].filter((m): m is string => m !== undefined));
}

/**
 * How a WHEP viewer got in: with a use_sfu ticket (a signalling viewer), as a
 * standard player, or as the room's owner (its token: the broadcast page's own
 * preview of an OBS stream, which is no viewer).
 */
export type WhepAccess = { ticketViewerId: string } | { ticketViewerId: null; owner?: boolean };

/**
 * `publisher` is emitted for every WHIP publisher that starts feeding a room
 * (the first, and each that replaces one): whoever else consumes a room's RTP
 * (the relay transmuxer) listens to its `rtp` events until it is `closed`.
 */
export class SfuService extends EventEmitter<{ publisher: [roomId: string, publisher: SfuPublisher] }> implements SfuRouting {
  readonly engine: SfuEngine;
  private readonly feeds = new Map<string, SfuFeed>();
  private readonly sessions = new Map<string, SfuSession>();
  /** WHEP sessions by the room member they are (standard players) or belong to (ticket holders). */
  private readonly viewing = new Map<string, { subscriber: SfuSubscriber; member: WhepMember | null }>();
  private readonly tickets: SfuTickets;
  private readonly timeouts: PeerTimeouts;
  private readonly tick: ReturnType<typeof setInterval>;

  constructor(
    private readonly config: Config,
    private readonly rooms: RoomRegistry,
    private readonly ipLimits: IpLimits,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
  ) {
    super();
    const { sfu } = config;
    this.engine = new SfuEngine({ udpPort: sfu.udpPort, ...(sfu.announcedIp ? { announcedIp: sfu.announcedIp } : {}), stunUrls: config.stunUrls }, log);
    this.tickets = new SfuTickets(sfu.ticketMs);
    this.timeouts = { connectMs: sfu.connectTimeoutMs, disconnectedMs: sfu.disconnectedMs, idleMs: sfu.idleMs };
    rooms.onRoomRemoved((room) => this.feeds.get(room.id)?.end('room_closed'));
    // Once a second: abandoned sessions end, and standard players (which send no stats_report) are reported.
    this.tick = setInterval(() => {
      const now = Date.now();
      for (const s of this.sessions.values()) s.peer.checkIdle(now);
      this.reportPlayers();
    }, 1_000);
    this.tick.unref();
  }

  start(): Promise<void> {
    return this.engine.start();
  }

  isLive(roomId: string): boolean {
    return this.feeds.has(roomId);
  }

  feed(roomId: string): SfuFeed | undefined {
    return this.feeds.get(roomId);
  }

  session(id: string): SfuSession | undefined {
    return this.sessions.get(id);
  }

  ticketFor(roomId: string, viewerId: string): string {
    return this.tickets.issue(roomId, viewerId);
  }

  release(roomId: string, viewerId: string): void {
    const viewing = this.viewing.get(viewerId);
    if (viewing && this.feeds.get(roomId)?.viewers.has(viewing.subscriber)) viewing.subscriber.close('left');
  }

  /** The signalling viewer a ticket was issued to, if still valid for this room (used up either way). */
  takeTicket(ticket: string, roomId: string): string | null {
    return this.tickets.take(ticket, roomId);
  }

  /** Shutdown: every feed and session (those still being answered too) ends, then the media port closes. */
  close(): void {
    clearInterval(this.tick);
    for (const feed of [...this.feeds.values()]) feed.end('shutdown');
    for (const session of [...this.sessions.values()]) session.close('shutdown');
    this.engine.close();
  }

  /**
   * A WHIP publisher with a token the room accepts: answer its offer, then make it
   * the room's feed, or replace the feed's publisher at once.
   */
  async publish(roomId: string, token: string, sdp: string, choice: { video?: TrackChoice; audio?: TrackChoice }, ip: string): Promise<Outcome<{ session: SfuSession; answer: string }>> {
    if (!this.ipLimits.openConnection(ip)) return fail(429, 'rate_limited', `more than ${this.config.limits.maxConnectionsPerIp} connections from one address`);
    const id = randomBytes(16).toString('base64url');
    let publisher: SfuPublisher;
    try {
      publisher = new SfuPublisher(this.engine, id, choice, this.timeouts);
    } catch (err) {
      this.ipLimits.closeConnection(ip);
      return refused(err);
    }
    const session = this.register({ id, kind: 'whip', roomId, peer: publisher.peer, close: (r) => publisher.close(r) }, ip);
    let answer: string;
    try {
      answer = await publisher.peer.answer(rejectSections(sdp, midsOf(choice)));
    } catch (err) {
      publisher.close('refused');
      return refused(err);
    }
    // The room may have changed while the answer was made.
    let feed = this.feeds.get(roomId);
    if (feed && !this.rooms.acceptsToken(roomId, token)) feed = undefined;
    if (!feed) {
      const created = this.newFeed(roomId, token, ip);
      if (!created) {
        publisher.close('room_closed');
        return fail(401, 'unauthorized', `the token is not valid for room ${roomId}`);
      }
      feed = created;
    }
    feed.setPublisher(publisher);
    this.emit('publisher', roomId, publisher);
    this.log.info({ room: roomId, session: id, tracks: publisher.tracks.map(describeTrack) }, 'whip publisher');
    return { ok: true, value: { session, answer } };
  }

  /** A WHEP viewer of a live feed: answer with the feed's tracks in the codecs the viewer decodes. */
  async view(roomId: string, access: WhepAccess, sdp: string, offer: ParsedOffer, ip: string): Promise<Outcome<{ session: SfuSession; answer: string }>> {
    const feed = this.feeds.get(roomId);
    if (!feed) return fail(409, 'not_live', `nothing is published to room ${roomId} yet`);
    const choice = chooseViewerTracks(offer, feed.tracks);
    if (!choice.video && !choice.audio) {
      const sends = [feed.tracks.video, feed.tracks.audio].filter((t) => t !== undefined).map(describeTrack).join(' and ');
      return fail(422, 'no_common_codec', `room ${roomId} sends ${sends}; the offer receives none of these`);
    }
    const room = this.rooms.get(roomId);
    const max = this.config.limits.maxViewersPerRoom;
    if (!room) return fail(404, 'room_not_found', `no live room with code ${roomId}`);
    const counted = access.ticketViewerId === null && !access.owner;
    if (counted && room.viewers.size >= max) return fail(503, 'room_full', `room ${roomId} has the most viewers allowed (${max})`);
    if (access.ticketViewerId !== null && !room.viewers.has(access.ticketViewerId)) return fail(401, 'unauthorized', 'the ticket belongs to a viewer that left the room');
    if (!this.ipLimits.openConnection(ip)) return fail(429, 'rate_limited', `more than ${this.config.limits.maxConnectionsPerIp} connections from one address`);
    const id = randomBytes(16).toString('base64url');
    const member = counted ? new WhepMember() : null;
    const viewerId = access.ticketViewerId ?? member?.id ?? `preview-${id}`;
    let subscriber: SfuSubscriber;
    try {
      subscriber = new SfuSubscriber(this.engine, id, viewerId, choice, feed.ids, this.timeouts);
    } catch (err) {
      this.ipLimits.closeConnection(ip);
      return refused(err);
    }
    const session = this.register({ id, kind: 'whep', roomId, peer: subscriber.peer, close: (r) => subscriber.close(r) }, ip);
    let answer: string;
    try {
      answer = await subscriber.peer.answer(rejectSections(sdp, midsOf(choice)));
    } catch (err) {
      subscriber.close('refused');
      return refused(err);
    }
    // The feed or the room may have ended, or filled up, while the answer was made.
    if (this.feeds.get(roomId) !== feed || this.rooms.get(roomId) !== room) {
      subscriber.close('publisher_gone');
      return fail(409, 'not_live', `room ${roomId} is no longer live`);
    }
    if (member && room.viewers.size >= max) {
      subscriber.close('left');
      return fail(503, 'room_full', `room ${roomId} has the most viewers allowed (${max})`);
    }
    this.viewing.get(viewerId)?.subscriber.close('replaced');
    this.viewing.set(viewerId, { subscriber, member });
    feed.addViewer(subscriber);
    if (member) room.addViewer(member, { sfuPlayer: true });
    subscriber.once('closed', () => {
      if (this.viewing.get(viewerId)?.subscriber === subscriber) this.viewing.delete(viewerId);
      if (member?.room) member.room.removeViewer(member);
    });
    this.log.info({ room: roomId, session: id, viewer: viewerId, ticket: member === null }, 'whep viewer');
    return { ok: true, value: { session, answer } };
  }

  private register(s: Omit<SfuSession, 'etag'>, ip: string): SfuSession {
    const session: SfuSession = { ...s, etag: `"${randomBytes(9).toString('base64url')}"` };
    this.sessions.set(session.id, session);
    session.peer.once('closed', (reason) => {
      this.sessions.delete(session.id);
      this.ipLimits.closeConnection(ip);
      this.log.info({ room: session.roomId, session: session.id, kind: session.kind, reason }, 'sfu session ended');
    });
    return session;
  }

  private newFeed(roomId: string, token: string, ip: string): SfuFeed | null {
    const member = new FeedMember((viewerId) => this.offerSfu(roomId, viewerId));
    const opened = this.rooms.openFeed(roomId, token, member, { owner: ip });
    if (!opened.ok) return null;
    if (opened.created) this.ipLimits.roomOpened(ip);
    const feed = new SfuFeed(roomId, this.metrics, this.config.sfu.publisherGraceMs);
    this.feeds.set(roomId, feed);
    feed.once('ended', (reason) => {
      if (this.feeds.get(roomId) === feed) this.feeds.delete(roomId);
      const room = this.rooms.get(roomId);
      if (room) this.rooms.feedGone(room, member);
      this.log.info({ room: roomId, reason }, 'sfu feed ended');
    });
    return feed;
  }

  /** The feed stands in as the broadcaster: a joining viewer (not already on the SFU) is sent to it. */
  private offerSfu(roomId: string, viewerId: string): void {
    const viewer: Member | undefined = this.rooms.get(roomId)?.viewers.get(viewerId);
    if (!viewer || viewer instanceof WhepMember) return;
    const viewing = this.viewing.get(viewerId);
    if (viewing && !viewing.subscriber.closed) return;
    viewer.send({ type: 'use_sfu', room_id: roomId, ticket: this.tickets.issue(roomId, viewerId) });
  }

  private reportPlayers(): void {
    for (const { subscriber, member } of this.viewing.values()) {
      const room = member?.room;
      if (!member || !room) continue;
      const codec = this.feeds.get(room.id)?.tracks.video?.codec;
      room.recordStats(member, {
        connection_type: 'sfu',
        bitrate: Math.round((subscriber.takeBytesSent() * 8) / 1000),
        ...(subscriber.loss !== null ? { loss: Math.round(subscriber.loss * 1000) / 10 } : {}),
        ...(codec ? { codec } : {}),
      });
    }
  }
}
