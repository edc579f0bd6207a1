// What each client message does. One table maps every message type to its
// handler and to what the sender must be for it (in a room, the room's
// broadcaster, naming one of its viewers); dispatch checks that once, so a
// handler starts from a sender it may act for. A message type added to the
// protocol without a route here does not compile.
import type { Logger } from 'pino';
import type { ClientMessage, ClientMessageOf, ClientMessageType, ServerMessage } from '../protocol/messages.js';
import { forwarded, type ForwardedType } from '../protocol/forward.js';
import type { Config } from './config.js';
import type { Connection } from './connection.js';
import type { IpLimits } from './ip-limits.js';
import { hashPassword, passwordMatches, type PasswordHash } from './password.js';
import type { RelayHub } from './relay.js';
import type { Member, Room } from './room.js';
import type { RoomRegistry } from './rooms.js';
import type { SfuRouting } from './sfu/service.js';

type Message<K extends ClientMessageType> = ClientMessageOf<K>;

/**
 * What the sender must be: anyone; a member of a room; the broadcaster of its
 * room; or that broadcaster naming one of its viewers (`viewer_id`).
 */
type Route<K extends ClientMessageType> =
  | { needs: 'anyone'; handle(conn: Connection, msg: Message<K>): void }
  | { needs: 'member' | 'broadcaster'; handle(conn: Connection, msg: Message<K>, room: Room): void }
  | (Message<K> extends { viewer_id: string } ? { needs: 'viewer'; handle(conn: Connection, msg: Message<K>, room: Room, viewer: Member): void } : never);

export type Routes = { [K in ClientMessageType]: Route<K> };

/** A route as dispatch sees it: it pairs each message with its own type's route. */
interface AnyRoute {
  needs: 'anyone' | 'member' | 'broadcaster' | 'viewer';
  handle(conn: Connection, msg: ClientMessage, room?: Room, viewer?: Member): void;
}

export interface RouterDeps {
  config: Config;
  rooms: RoomRegistry;
  relay: RelayHub;
  sfu: SfuRouting;
  ipLimits: IpLimits;
  log: Logger;
}

export class MessageRouter {
  private readonly routes: Routes = {
    create_room: { needs: 'anyone', handle: (c, m) => this.createRoom(c, m) },
    join_room: { needs: 'anyone', handle: (c, m) => this.joinRoom(c, m) },
    leave_room: { needs: 'member', handle: (c, _m, room) => this.leaveRoom(c, room) },
    end_room: { needs: 'broadcaster', handle: (_c, _m, room) => this.deps.rooms.close(room, 'ended') },
    remove_viewer: {
      needs: 'viewer',
      handle: (_c, _m, room, viewer) => {
        // Out of the chat and the room, and this connection may not join the room again.
        room.bar(viewer);
        this.viewerOut(room, viewer, { type: 'removed', room_id: room.id, reason: 'removed_by_broadcaster' });
      },
    },
    chat_send: { needs: 'member', handle: (c, m, room) => this.chat(c, m, room) },
    chat_delete: {
      needs: 'broadcaster',
      handle: (c, m, room) => {
        if (!room.unsay(m.id)) c.error('not_allowed', `room ${room.id} keeps no chat message ${m.id}`, m.type);
      },
    },
    offer: { needs: 'member', handle: (c, m, room) => this.forward(c, m, room) },
    answer: { needs: 'member', handle: (c, m, room) => this.forward(c, m, room) },
    ice_candidate: { needs: 'member', handle: (c, m, room) => this.forward(c, m, room) },
    ice_restart: { needs: 'member', handle: (c, m, room) => this.forward(c, m, room) },
    // Only the broadcaster knows a link's level: a viewer may not send one to anybody.
    quality_level: { needs: 'broadcaster', handle: (c, m, room) => this.forward(c, m, room) },
    request_relay: { needs: 'anyone', handle: (c, m) => this.requestRelay(c, m) },
    assign_relay: { needs: 'viewer', handle: (_c, _m, room, viewer) => viewer.send({ type: 'use_relay', room_id: room.id }) },
    assign_sfu: { needs: 'viewer', handle: (c, m, room, viewer) => this.assignSfu(c, m, room, viewer) },
    // The broadcaster cannot publish to the relay: the viewer is told, and the relay stream it may have opened closes.
    relay_unavailable: {
      needs: 'viewer',
      handle: (_c, _m, room, viewer) => {
        this.deps.relay.release(room.id, viewer.id);
        viewer.send({ type: 'relay_unavailable', room_id: room.id });
      },
    },
    stats_report: { needs: 'member', handle: (c, { type: _type, ...report }, room) => room.recordStats(c, report) },
    ping: { needs: 'anyone', handle: (c) => c.send({ type: 'pong' }) },
  };

  constructor(private readonly deps: RouterDeps) {}

  dispatch(conn: Connection, msg: ClientMessage): void {
    // The table is keyed by the message's own type, so this route takes this message.
    const route = this.routes[msg.type] as AnyRoute;
    if (route.needs === 'anyone') return route.handle(conn, msg);
    const room = conn.room;
    if (!room) return conn.error('not_in_room', `${msg.type} needs a room: join or create one first`, msg.type);
    if (route.needs === 'member') return route.handle(conn, msg, room);
    if (!room.isBroadcaster(conn)) return conn.error('not_allowed', `only the broadcaster sends ${msg.type}`, msg.type);
    if (route.needs === 'broadcaster') return route.handle(conn, msg, room);
    // Only messages with a viewer_id can have this route (see Route).
    const viewerId = (msg as { viewer_id: string }).viewer_id;
    const viewer = room.viewers.get(viewerId);
    if (!viewer) return conn.error('not_allowed', `${viewerId} is not a viewer of room ${room.id}`, msg.type);
    route.handle(conn, msg, room, viewer);
  }

  /** The connection closed or went silent: out of its room (a broadcaster's room waits for it). */
  left(conn: Connection): void {
    const room = conn.room;
    if (!room) return;
    if (room.isBroadcaster(conn)) this.deps.rooms.broadcasterGone(room);
    else this.viewerOut(room, conn);
  }

  private createRoom(conn: Connection, msg: Message<'create_room'>): void {
    const { ipLimits, config, log } = this.deps;
    if (conn.busy) return conn.error('not_allowed', 'the previous create_room or join_room is still being handled', msg.type);
    if (conn.room) {
      // The same broadcaster reclaiming the room it holds (a retry) is answered again.
      if (conn.room.isBroadcaster(conn) && msg.room_id === conn.room.id && msg.room_token === conn.room.token) {
        conn.send({ type: 'room_created', room_id: conn.room.id, room_token: conn.room.token });
        return;
      }
      return conn.error('not_allowed', `already in room ${conn.room.id}; leave it first`, msg.type);
    }
    const reclaim = msg.room_id !== undefined && msg.room_token !== undefined;
    // A reclaim brings back a room the IP already had, so only new rooms count against the limit.
    if (!reclaim && !ipLimits.canCreateRoom(conn.ip)) {
      return conn.error('rate_limited', `one address may hold at most ${config.limits.maxRoomsPerIp} rooms`, msg.type);
    }
    if (msg.password === undefined) return this.openRoom(conn, msg, null);
    conn.busy = true;
    hashPassword(msg.password)
      .then((hash) => {
        conn.busy = false;
        if (conn.open && !conn.room) this.openRoom(conn, msg, hash);
      })
      .catch((err: unknown) => {
        conn.busy = false;
        log.error({ err }, 'hashing a room password failed');
      });
  }

  private openRoom(conn: Connection, msg: Message<'create_room'>, password: PasswordHash | null): void {
    const { rooms, ipLimits, log } = this.deps;
    const options = { isPublic: msg.private !== true, password, owner: conn.ip };
    if (msg.room_id === undefined || msg.room_token === undefined) {
      ipLimits.roomOpened(conn.ip);
      const room = rooms.create(conn, options);
      log.info({ room: room.id, private: !room.isPublic, password: password !== null }, 'room created');
      return;
    }
    const known = rooms.get(msg.room_id) !== undefined;
    const result = rooms.reclaim(msg.room_id, msg.room_token, conn, options);
    if (!result.ok) return conn.error('not_allowed', `the room token does not match room ${msg.room_id}`, msg.type);
    if (!known) ipLimits.roomOpened(conn.ip);
    log.info({ room: msg.room_id, recreated: !known }, 'room reclaimed');
  }

  private joinRoom(conn: Connection, msg: Message<'join_room'>): void {
    const { ipLimits, rooms, config, log } = this.deps;
    if (conn.busy) return conn.error('not_allowed', 'the previous create_room or join_room is still being handled', msg.type);
    if (conn.room) return conn.error('not_allowed', `already in room ${conn.room.id}; leave it first`, msg.type);
    // Checked before the room is looked up, so an address that guessed too much learns nothing more.
    if (!ipLimits.mayTryJoin(conn.ip)) {
      return conn.error('rate_limited', `more than ${config.limits.failedJoinsPerMinute} failed joins a minute from this address; wait`, msg.type);
    }
    const room = rooms.get(msg.room_id);
    if (!room) {
      ipLimits.joinFailed(conn.ip);
      return conn.error('room_not_found', `no live room with code ${msg.room_id}`, msg.type);
    }
    if (room.isBarred(conn)) return conn.error('not_allowed', `the broadcaster removed this connection from room ${msg.room_id}`, msg.type);
    if (!room.password) return this.enterRoom(conn, room, msg);
    if (msg.password === undefined) return conn.error('password_required', `room ${msg.room_id} needs a password`, msg.type);
    const stored = room.password;
    conn.busy = true;
    passwordMatches(msg.password, stored)
      .then((ok) => {
        conn.busy = false;
        if (!conn.open || conn.room) return;
        if (!ok) {
          ipLimits.joinFailed(conn.ip);
          return conn.error('wrong_password', `wrong password for room ${msg.room_id}`, msg.type);
        }
        // The room may have ended, or been replaced, while the hash was computed.
        if (rooms.get(msg.room_id) !== room) return conn.error('room_not_found', `no live room with code ${msg.room_id}`, msg.type);
        this.enterRoom(conn, room, msg);
      })
      .catch((err: unknown) => {
        conn.busy = false;
        log.error({ err }, 'checking a room password failed');
      });
  }

  private enterRoom(conn: Connection, room: Room, msg: Message<'join_room'>): void {
    const max = this.deps.config.limits.maxViewersPerRoom;
    if (room.viewers.size >= max) return conn.error('room_full', `room ${msg.room_id} has the most viewers allowed (${max})`, msg.type);
    room.addViewer(conn, { ...(msg.codecs ? { codecs: msg.codecs } : {}), ...(msg.name ? { name: msg.name } : {}) });
  }

  private chat(conn: Connection, msg: Message<'chat_send'>, room: Room): void {
    if (!conn.chatBucket.take()) {
      const { messagesPerSecond, burst } = this.deps.config.chat;
      return conn.error('rate_limited', `chat: at most ${burst} messages at once, then ${messagesPerSecond} a second; wait a moment`, msg.type);
    }
    room.say(conn, msg.text);
  }

  private leaveRoom(conn: Connection, room: Room): void {
    // A broadcaster that leaves without ending the room may come back: viewers wait.
    this.left(conn);
    conn.send({ type: 'room_left', room_id: room.id });
  }

  /** Every way a viewer leaves a room goes through here, so its relay stream and SFU session stop with it. */
  private viewerOut(room: Room, viewer: Member, notice?: ServerMessage): void {
    room.removeViewer(viewer, notice);
    this.deps.relay.release(room.id, viewer.id);
    this.deps.sfu.release(room.id, viewer.id);
  }

  /** The broadcaster sends a viewer to the SFU: only a room with a live WHIP feed has one to send it to. */
  private assignSfu(conn: Connection, msg: Message<'assign_sfu'>, room: Room, viewer: Member): void {
    const { sfu } = this.deps;
    if (!sfu.isLive(room.id)) return conn.error('not_allowed', `room ${room.id} has no SFU feed: publish to /api/whip/${room.id} first`, msg.type);
    viewer.send({ type: 'use_sfu', room_id: room.id, ticket: sfu.ticketFor(room.id, viewer.id) });
  }

  private forward(conn: Connection, msg: Message<ForwardedType>, room: Room): void {
    const target = room.peerFor(conn, msg.target_id);
    if (!target) return conn.error('not_allowed', `${msg.type} may only go between the broadcaster and a viewer of the same room`, msg.type);
    target.send(forwarded(msg, conn.id));
  }

  private requestRelay(conn: Connection, msg: Message<'request_relay'>): void {
    const room = conn.room;
    if (!room) {
      return this.deps.rooms.get(msg.room_id)
        ? conn.error('not_in_room', `join room ${msg.room_id} before asking for relay`, msg.type)
        : conn.error('room_not_found', `no live room with code ${msg.room_id}`, msg.type);
    }
    if (room.id !== msg.room_id) return conn.error('not_in_room', `not in room ${msg.room_id}`, msg.type);
    if (room.isBroadcaster(conn)) return conn.error('not_allowed', 'the broadcaster does not need a relay to itself', msg.type);
    const codecs = msg.codecs ?? [];
    // A room with an SFU feed has its relay fed from it (sfu/relay-bridge.ts): the broadcaster need not encode again.
    if (!this.deps.sfu.isLive(room.id)) room.broadcaster?.send({ type: 'relay_requested', viewer_id: conn.id, ...(codecs.length ? { codecs } : {}) });
    conn.send({ type: 'relay_ready', room_id: room.id, ticket: this.deps.relay.issueTicket(room.id, conn.id, codecs) });
  }
}
