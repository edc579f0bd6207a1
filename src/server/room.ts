// One room: its broadcaster (or the wait for it to come back), its viewers, and
// their latest measurements. A Room sends the membership notifications itself so
// that every path that changes membership tells the same people the same thing.
// A room may also have an SFU feed (a WHIP publisher, src/server/sfu/): while
// it lives the room stays live without a WebSocket broadcaster, and the feed
// stands in as the broadcaster whenever there is none.
import type { RoomClosedReason, ServerMessage, StatsReport, StatsSummary, VideoCodec } from '../protocol/messages.js';
import { BROADCASTER_NAME, ChatLog, defaultViewerName } from './chat.js';
import type { PasswordHash } from './password.js';
import { summarize } from './stats.js';

/** A connected client as a room sees it. */
export interface Member {
  readonly id: string;
  /** The room this client is in, kept by Room so it can never disagree with the room's own lists. */
  room: Room | null;
  send(message: ServerMessage): void;
  /** Send an already serialized frame (for messages that go to many). */
  sendText(text: string): void;
}

export class Room {
  readonly createdAt = new Date();
  private broadcasterMember: Member | null = null;
  /** The SFU feed's member, while a WHIP publisher feeds this room. */
  private feedMember: Member | null = null;
  /** Id of the current or last broadcaster, so viewers joining during the grace period get one. */
  private lastBroadcasterId: string;
  readonly viewers = new Map<string, Member>();
  /** What each viewer said it decodes (join_room codecs), repeated to a returning broadcaster. */
  private readonly viewerCodecs = new Map<string, VideoCodec[]>();
  /** Viewers that are standard WHEP players: they watch through the SFU and take no offer. */
  private readonly sfuPlayers = new Set<string>();
  private readonly reports = new Map<string, { report: StatsReport; at: number }>();
  /** Each viewer's chat name (join_room name, or a default). */
  private readonly names = new Map<string, string>();
  private readonly chat = new ChatLog();
  /** Connections the broadcaster removed: they may not join this room again. */
  private readonly barred = new WeakSet<Member>();
  private graceTimer: ReturnType<typeof setTimeout> | null = null;
  closed = false;
  /** Viewers must give this password to join; null for an open room. */
  password: PasswordHash | null = null;
  /** The client IP this room counts against (rooms per IP). */
  owner = '';

  constructor(
    readonly id: string,
    readonly token: string,
    broadcaster: Member,
    readonly isPublic = true,
  ) {
    this.lastBroadcasterId = broadcaster.id;
    this.attachBroadcaster(broadcaster);
  }

  get broadcaster(): Member | null {
    return this.broadcasterMember;
  }

  get broadcasterId(): string {
    return this.lastBroadcasterId;
  }

  get feed(): Member | null {
    return this.feedMember;
  }

  /** The broadcaster (re)takes the room: viewers are told, and it gets an offer cue for each. */
  attachBroadcaster(member: Member): void {
    this.clearGrace();
    const previous = this.broadcasterMember;
    // A reclaim can overtake the server noticing that the old connection died. The
    // SFU feed standing in is not taken over: it stays the room's feed.
    if (previous && previous !== member && previous !== this.feedMember) {
      previous.room = null;
      previous.send({ type: 'room_closed', room_id: this.id, reason: 'taken_over' });
    }
    const returning = previous !== member && this.viewers.size > 0;
    this.broadcasterMember = member;
    this.lastBroadcasterId = member.id;
    member.room = this;
    member.send({ type: 'room_created', room_id: this.id, room_token: this.token });
    this.sendHistory(member);
    if (this.feedMember && this.feedMember !== member) member.send({ type: 'sfu_feed', room_id: this.id, live: true });
    if (returning) {
      this.toViewers({ type: 'broadcaster_returned', room_id: this.id, broadcaster_id: member.id });
    }
    for (const viewerId of this.viewers.keys()) member.send(this.viewerJoined(viewerId));
  }

  /**
   * A WHIP publisher feeds the room. With no WebSocket broadcaster the feed
   * becomes the broadcaster (viewers waiting in the grace period are told it
   * returned); otherwise that broadcaster is told, and decides per viewer.
   */
  attachFeed(member: Member): void {
    this.feedMember = member;
    if (!this.broadcasterMember) this.attachBroadcaster(member);
    else if (this.broadcasterMember !== member) this.broadcasterMember.send({ type: 'sfu_feed', room_id: this.id, live: true });
  }

  /** The feed ended. If it stood in as the broadcaster, the room waits graceMs like for any broadcaster. */
  detachFeed(member: Member, graceMs: number, onExpire: () => void): void {
    if (this.feedMember !== member) return;
    this.feedMember = null;
    if (this.broadcasterMember === member) this.detachBroadcaster(graceMs, onExpire);
    else this.broadcasterMember?.send({ type: 'sfu_feed', room_id: this.id, live: false });
  }

  private viewerJoined(viewerId: string): ServerMessage {
    const codecs = this.viewerCodecs.get(viewerId);
    return { type: 'viewer_joined', viewer_id: viewerId, ...(codecs ? { codecs } : {}), ...(this.sfuPlayers.has(viewerId) ? { sfu: true } : {}) };
  }

  /**
   * The broadcaster went away without ending the room: viewers wait, the grace
   * timer runs — unless an SFU feed lives, which then stands in for it.
   */
  detachBroadcaster(graceMs: number, onExpire: () => void): void {
    const member = this.broadcasterMember;
    if (!member) return;
    member.room = null;
    this.broadcasterMember = null;
    this.reports.delete(member.id);
    if (this.feedMember) return this.attachBroadcaster(this.feedMember);
    this.toViewers({ type: 'broadcaster_left', room_id: this.id });
    this.graceTimer = setTimeout(onExpire, graceMs);
    this.graceTimer.unref?.();
  }

  /** A viewer joins; `sfuPlayer` marks a standard WHEP player, which the broadcaster must not send offers. */
  addViewer(member: Member, joined: { codecs?: VideoCodec[]; name?: string; sfuPlayer?: boolean } = {}): void {
    this.viewers.set(member.id, member);
    if (joined.codecs) this.viewerCodecs.set(member.id, joined.codecs);
    this.names.set(member.id, joined.name ?? defaultViewerName());
    if (joined.sfuPlayer) this.sfuPlayers.add(member.id);
    member.room = this;
    member.send({ type: 'room_joined', room_id: this.id, broadcaster_id: this.lastBroadcasterId });
    this.sendHistory(member);
    if (this.broadcasterMember) {
      this.broadcasterMember.send(this.viewerJoined(member.id));
    } else {
      member.send({ type: 'broadcaster_left', room_id: this.id });
    }
    this.sendSummary();
  }

  removeViewer(member: Member, notice?: ServerMessage): void {
    if (!this.viewers.delete(member.id)) return;
    this.viewerCodecs.delete(member.id);
    this.names.delete(member.id);
    this.sfuPlayers.delete(member.id);
    member.room = null;
    if (notice) member.send(notice);
    this.reports.delete(member.id);
    this.broadcasterMember?.send({ type: 'viewer_left', viewer_id: member.id });
    this.sendSummary();
  }

  /** The room is gone for good: everyone still in it is told why and let go. */
  close(reason: RoomClosedReason): void {
    if (this.closed) return;
    this.closed = true;
    this.clearGrace();
    this.feedMember = null;
    const message: ServerMessage = { type: 'room_closed', room_id: this.id, reason };
    const text = JSON.stringify(message);
    for (const viewer of this.viewers.values()) {
      viewer.room = null;
      viewer.sendText(text);
    }
    this.viewers.clear();
    this.viewerCodecs.clear();
    this.names.clear();
    this.sfuPlayers.clear();
    if (this.broadcasterMember) {
      this.broadcasterMember.room = null;
      this.broadcasterMember.sendText(text);
      this.broadcasterMember = null;
    }
    this.reports.clear();
  }

  isBroadcaster(member: Member): boolean {
    return this.broadcasterMember === member;
  }

  /** Signalling may pass only between the broadcaster and one of its viewers. */
  peerFor(sender: Member, targetId: string): Member | null {
    if (this.isBroadcaster(sender)) return this.viewers.get(targetId) ?? null;
    if (this.viewers.get(sender.id) === sender && this.broadcasterMember?.id === targetId) return this.broadcasterMember;
    return null;
  }

  /** The broadcaster removed this connection: it may not come back with it. */
  bar(member: Member): void {
    this.barred.add(member);
  }

  isBarred(member: Member): boolean {
    return this.barred.has(member);
  }

  /** A member's chat message, to everyone in the room (the sender too). */
  say(member: Member, text: string): void {
    const broadcaster = this.isBroadcaster(member);
    const name = broadcaster ? BROADCASTER_NAME : this.names.get(member.id);
    if (name === undefined) return;
    this.toEveryone(this.chat.add({ id: member.id, name, broadcaster }, text));
  }

  /** The kept messages, right after room_joined or room_created; none is sent for an empty chat (clients start empty). */
  private sendHistory(member: Member): void {
    const messages = this.chat.history();
    if (messages.length) member.send({ type: 'chat_history', messages });
  }

  /** Remove a kept message from everyone's chat; false if the room does not keep it. */
  unsay(id: string): boolean {
    if (!this.chat.delete(id)) return false;
    this.toEveryone({ type: 'chat_delete', id });
    return true;
  }

  recordStats(member: Member, report: StatsReport, now = Date.now()): void {
    this.reports.set(member.id, { report, at: now });
  }

  summary(now = Date.now()): StatsSummary {
    return summarize({
      roomId: this.id,
      broadcasterId: this.broadcasterMember?.id ?? null,
      viewerIds: [...this.viewers.keys()],
      reports: this.reports,
      now,
    });
  }

  sendSummary(now = Date.now()): void {
    this.toEveryone(this.summary(now));
  }

  private toViewers(message: ServerMessage): void {
    const text = JSON.stringify(message);
    for (const viewer of this.viewers.values()) viewer.sendText(text);
  }

  private toEveryone(message: ServerMessage): void {
    const text = JSON.stringify(message);
    this.broadcasterMember?.sendText(text);
    for (const viewer of this.viewers.values()) viewer.sendText(text);
  }

  private clearGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }
}
