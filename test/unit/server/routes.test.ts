import pino from 'pino';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { clientSchemas, type ClientMessage, type ClientMessageType, type ServerMessage } from '../../../src/protocol/messages.js';
import { defaultConfig } from '../../../src/server/config.js';
import type { Connection } from '../../../src/server/connection.js';
import { IpLimits } from '../../../src/server/ip-limits.js';
import type { RelayHub } from '../../../src/server/relay.js';
import type { Room } from '../../../src/server/room.js';
import { RoomRegistry } from '../../../src/server/rooms.js';
import { MessageRouter, type Routes } from '../../../src/server/routes.js';
import type { SfuRouting } from '../../../src/server/sfu/service.js';

function connection(): Connection & { sent: ServerMessage[] } {
  const sent: ServerMessage[] = [];
  return {
    id: Math.random().toString(36).slice(2),
    room: null as Room | null,
    ip: '127.0.0.1',
    open: true,
    busy: false,
    sent,
    send: (m: ServerMessage) => sent.push(m),
    sendText: (t: string) => sent.push(JSON.parse(t) as ServerMessage),
    error(code: string, message: string, requestType?: string) {
      sent.push({ type: 'error', code, message, ...(requestType ? { request_type: requestType } : {}) } as ServerMessage);
    },
  } as unknown as Connection & { sent: ServerMessage[] };
}

function router() {
  const config = defaultConfig();
  const rooms = new RoomRegistry(60_000);
  const relay = { release: () => undefined, issueTicket: () => 'ticket' } as unknown as RelayHub;
  // The SFU as the routes see it: which rooms have a WHIP feed, and its tickets.
  const live = new Set<string>();
  const sfu: SfuRouting = { isLive: (id) => live.has(id), ticketFor: (roomId, viewerId) => `ticket-${roomId}-${viewerId}`, release: () => undefined };
  return { rooms, live, router: new MessageRouter({ config, rooms, relay, sfu, ipLimits: new IpLimits(config.limits), log: pino({ level: 'silent' }) }) };
}

/** One valid message of each type, as a client outside any room would send it. */
const SAMPLES: { [K in ClientMessageType]: Extract<ClientMessage, { type: K }> } = {
  create_room: { type: 'create_room' },
  join_room: { type: 'join_room', room_id: '123456' },
  remove_viewer: { type: 'remove_viewer', viewer_id: 'v' },
  leave_room: { type: 'leave_room' },
  end_room: { type: 'end_room' },
  offer: { type: 'offer', target_id: 'x', sdp: { type: 'offer', sdp: 'v=0' } },
  answer: { type: 'answer', target_id: 'x', sdp: { type: 'answer', sdp: 'v=0' } },
  ice_candidate: { type: 'ice_candidate', target_id: 'x', candidate: { candidate: '' } },
  request_relay: { type: 'request_relay', room_id: '123456' },
  assign_relay: { type: 'assign_relay', viewer_id: 'v' },
  assign_sfu: { type: 'assign_sfu', viewer_id: 'v' },
  relay_unavailable: { type: 'relay_unavailable', viewer_id: 'v' },
  ice_restart: { type: 'ice_restart', target_id: 'x', ice_transport_policy: 'relay' },
  quality_level: { type: 'quality_level', target_id: 'x', level: 0, levels: 6, height: 720, max_bitrate: 2500 },
  stats_report: { type: 'stats_report' },
  ping: { type: 'ping' },
  chat_send: { type: 'chat_send', text: 'hi' },
  chat_delete: { type: 'chat_delete', id: 'm' },
};

describe('the route table', () => {
  it('has a route for exactly the client message types (a type without one does not compile)', () => {
    expectTypeOf<keyof Routes>().toEqualTypeOf<ClientMessageType>();
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(clientSchemas).sort());
  });

  it('every message from outside a room gets exactly one answer, and the guard speaks before the handler', () => {
    const { router: r } = router();
    for (const msg of Object.values(SAMPLES)) {
      const conn = connection();
      r.dispatch(conn, msg);
      expect(conn.sent.length, msg.type).toBe(1);
    }
    const answers = Object.fromEntries(
      Object.values(SAMPLES).map((msg) => {
        const conn = connection();
        r.dispatch(conn, msg);
        const reply = conn.sent[0]!;
        return [msg.type, reply.type === 'error' ? reply.code : reply.type];
      }),
    );
    expect(answers).toMatchObject({
      leave_room: 'not_in_room',
      end_room: 'not_in_room',
      offer: 'not_in_room',
      quality_level: 'not_in_room',
      remove_viewer: 'not_in_room',
      stats_report: 'not_in_room',
      join_room: 'room_not_found',
      request_relay: 'room_not_found',
      create_room: 'room_created',
      ping: 'pong',
      chat_send: 'not_in_room',
      chat_delete: 'not_in_room',
    });
  });

  it('broadcaster-only messages from a viewer are not_allowed; naming someone who is not a viewer is not_allowed', () => {
    const { router: r, rooms } = router();
    const broadcaster = connection();
    r.dispatch(broadcaster, { type: 'create_room' });
    const room = [...rooms.all()][0]!;
    const viewer = connection();
    r.dispatch(viewer, { type: 'join_room', room_id: room.id });
    for (const type of ['end_room', 'remove_viewer', 'assign_relay', 'assign_sfu', 'relay_unavailable', 'quality_level', 'chat_delete'] as const) {
      viewer.sent.length = 0;
      r.dispatch(viewer, SAMPLES[type]);
      expect(viewer.sent, type).toMatchObject([{ type: 'error', code: 'not_allowed', request_type: type }]);
    }
    broadcaster.sent.length = 0;
    r.dispatch(broadcaster, { type: 'remove_viewer', viewer_id: 'nobody' });
    expect(broadcaster.sent).toMatchObject([{ type: 'error', code: 'not_allowed' }]);
    broadcaster.sent.length = 0;
    r.dispatch(broadcaster, { type: 'assign_relay', viewer_id: viewer.id });
    expect(broadcaster.sent).toEqual([]);
    expect(viewer.sent.at(-1)).toEqual({ type: 'use_relay', room_id: room.id });
  });

  it('assign_sfu: not_allowed without a WHIP feed; with one, the viewer gets use_sfu with its own ticket', () => {
    const { router: r, rooms, live } = router();
    const broadcaster = connection();
    r.dispatch(broadcaster, { type: 'create_room' });
    const room = [...rooms.all()][0]!;
    const viewer = connection();
    r.dispatch(viewer, { type: 'join_room', room_id: room.id });
    broadcaster.sent.length = 0;
    viewer.sent.length = 0;
    r.dispatch(broadcaster, { type: 'assign_sfu', viewer_id: viewer.id });
    expect(broadcaster.sent).toMatchObject([{ type: 'error', code: 'not_allowed', request_type: 'assign_sfu' }]);
    expect(viewer.sent).toEqual([]);
    live.add(room.id);
    broadcaster.sent.length = 0;
    r.dispatch(broadcaster, { type: 'assign_sfu', viewer_id: viewer.id });
    expect(broadcaster.sent).toEqual([]);
    expect(viewer.sent).toEqual([{ type: 'use_sfu', room_id: room.id, ticket: `ticket-${room.id}-${viewer.id}` }]);
  });
});
