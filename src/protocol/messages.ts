// The wire contract (shared/PROTOCOL.md, docs/protocol.md) as runtime schemas.
// One schema per message; the server and the browser import this same module,
// so a message type exists exactly once and both sides validate it the same way.
import { z } from 'zod';

export const ROOM_ID_PATTERN = /^\d{6}$/;
export const RoomId = z.string().regex(ROOM_ID_PATTERN, 'room_id must be six digits');
const ClientId = z.string().min(1).max(64);

export const ConnectionType = z.enum(['p2p', 'turn', 'relay', 'sfu']);
/** Video codecs by the names the app uses, in the product's order of preference (best first). */
export const VideoCodec = z.enum(['AV1', 'VP9', 'VP8', 'H264']);
export type VideoCodec = z.infer<typeof VideoCodec>;
export type ConnectionType = z.infer<typeof ConnectionType>;
export const RelayProtocol = z.enum(['udp', 'tcp', 'tls']);
export type RelayProtocol = z.infer<typeof RelayProtocol>;

const IceTransportPolicy = z.enum(['all', 'relay']);

const SessionDescription = <T extends 'offer' | 'answer'>(kind: T) =>
  z.looseObject({ type: z.literal(kind), sdp: z.string().max(60_000) });

const IceCandidateInit = z.looseObject({
  candidate: z.string().max(2_000),
  sdpMid: z.string().max(64).nullish(),
  sdpMLineIndex: z.number().int().min(0).max(255).nullish(),
  usernameFragment: z.string().max(256).nullish(),
});

const kbps = z.number().finite().min(0).max(10_000_000);
const ms = z.number().finite().min(0).max(600_000);

/** Why the broadcaster's adaptive bitrate moved a viewer's link to its current level. */
export const QualityReason = z.enum(['start', 'preset', 'loss', 'rtt', 'bandwidth', 'recovered']);
export type QualityReason = z.infer<typeof QualityReason>;
/** The adaptive-bitrate level of one viewer's link (src/web/adaptive-bitrate.ts). */
const QualityLevelFields = {
  level: z.number().int().min(0).max(15), // 0 = the preset's own level (its ceiling)
  levels: z.number().int().min(1).max(16), // how many levels the preset has
  height: z.number().int().min(0).max(16_384), // encoded height, px
  max_bitrate: kbps, // the sender's maxBitrate now, kbit/s
  reason: QualityReason.optional(),
};

// ---------------------------------------------------------------- forwarded signalling

// What the server passes between a broadcaster and one of its viewers: the
// client names the target (target_id), the server the sender (from_id), and
// nothing else changes (forward.ts). One declaration gives both directions.
// Descriptions and candidates keep every field they came with (loose); a
// quality level is ours entirely, so unknown fields are dropped.
function addressed<T extends string, S extends z.ZodRawShape>(type: T, fields: S) {
  return {
    client: z.looseObject({ type: z.literal(type), target_id: ClientId, ...fields }),
    server: z.looseObject({ type: z.literal(type), from_id: ClientId, ...fields }),
  };
}
const forwardedPairs = {
  offer: addressed('offer', { sdp: SessionDescription('offer') }),
  answer: addressed('answer', { sdp: SessionDescription('answer') }),
  ice_candidate: addressed('ice_candidate', { candidate: IceCandidateInit }),
  // The viewer asks the broadcaster (the offerer) for an ICE restart, with TURN
  // only on the second rung of the connection ladder.
  ice_restart: addressed('ice_restart', { ice_transport_policy: IceTransportPolicy }),
  // Broadcaster → one of its viewers: the adaptive-bitrate level of that viewer's link (only from the broadcaster).
  quality_level: {
    client: z.object({ type: z.literal('quality_level'), target_id: ClientId, ...QualityLevelFields }),
    server: z.object({ type: z.literal('quality_level'), from_id: ClientId, ...QualityLevelFields }),
  },
};
type ForwardedPairs = typeof forwardedPairs;

/** The forwarded schemas as one side sends them. */
function forwardedAs<D extends 'client' | 'server'>(side: D): { [K in keyof ForwardedPairs]: ForwardedPairs[K][D] } {
  return Object.fromEntries(Object.entries(forwardedPairs).map(([type, pair]) => [type, pair[side]])) as { [K in keyof ForwardedPairs]: ForwardedPairs[K][D] };
}

// ---------------------------------------------------------------- client → server

/** A room password as the broadcaster typed it; the server keeps only a slow hash of it. */
const Password = z.string().min(1).max(128);

// ---------------------------------------------------------------- chat

/** The room keeps this many chat messages for late joiners (chat_history). */
export const CHAT_HISTORY_SIZE = 50;
export const CHAT_TEXT_MAX = 500;
export const DISPLAY_NAME_MAX = 32;
/**
 * C0 and C1 controls, and the bidirectional overrides and isolates, which
 * would let a name or a message reorder the text shown around it.
 */
const UNSAFE_CHARACTERS = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;

/** Trimmed text of 1–max characters (code points, so an emoji counts once), without control characters. */
function shownText(max: number) {
  return z
    .string()
    .trim()
    .refine((s) => s.length > 0, 'must not be empty or only spaces')
    .refine((s) => [...s].length <= max, `must be at most ${max} characters`)
    .refine((s) => !UNSAFE_CHARACTERS.test(s), 'must not contain control characters');
}
/** A name shown beside chat messages. */
export const DisplayName = shownText(DISPLAY_NAME_MAX);
export const ChatText = shownText(CHAT_TEXT_MAX);
const ChatId = z.string().min(1).max(64);

export const clientSchemas = {
  create_room: z
    .object({
      type: z.literal('create_room'),
      room_id: RoomId.optional(),
      room_token: z.string().min(1).max(256).optional(),
      // Optional: viewers must give this password to join (also sent again on a reclaim,
      // so a room the server forgot in a restart comes back with it).
      password: Password.optional(),
      // Optional: a private room is not listed by /api/rooms; its code still works.
      private: z.boolean().optional(),
    })
    .refine((m) => (m.room_id === undefined) === (m.room_token === undefined), {
      message: 'room_id and room_token go together: send both to reclaim a room, or neither to create one',
    }),
  join_room: z.object({
    type: z.literal('join_room'),
    room_id: RoomId,
    password: Password.optional(),
    // The video codecs this viewer's browser decodes over RTP, best first; the
    // broadcaster picks the best one it can also send (forwarded in viewer_joined).
    codecs: z.array(VideoCodec).max(8).optional(),
    // Shown beside this viewer's chat messages; the server picks "Viewer NNNN" without one.
    name: DisplayName.optional(),
  }),
  // A chat message from the broadcaster or a viewer of the room (the server relays it to everyone in it).
  chat_send: z.object({ type: z.literal('chat_send'), text: ChatText }),
  // The broadcaster removes a message from everyone's chat.
  chat_delete: z.object({ type: z.literal('chat_delete'), id: ChatId }),
  // The broadcaster removes a viewer from its room; the viewer is told with `removed`.
  remove_viewer: z.object({ type: z.literal('remove_viewer'), viewer_id: ClientId }),
  leave_room: z.object({ type: z.literal('leave_room') }),
  end_room: z.object({ type: z.literal('end_room') }),
  ...forwardedAs('client'),
  // codecs: what the viewer can decode for the relay path, best first (e.g. ["AV1","VP9","VP8","H264"]).
  request_relay: z.object({ type: z.literal('request_relay'), room_id: RoomId, codecs: z.array(VideoCodec).max(8).optional() }),
  // Broadcaster: serve this viewer through the server relay instead of P2P (hybrid topology).
  assign_relay: z.object({ type: z.literal('assign_relay'), viewer_id: ClientId }),
  // Broadcaster: serve this viewer through the server's SFU (the room's WHIP feed); answered to the viewer with use_sfu.
  assign_sfu: z.object({ type: z.literal('assign_sfu'), viewer_id: ClientId }),
  // Broadcaster: this viewer asked for the server relay, but this browser cannot
  // publish to it (no MediaStreamTrackProcessor, e.g. Firefox); the viewer is told.
  relay_unavailable: z.object({ type: z.literal('relay_unavailable'), viewer_id: ClientId }),
  // A client's own measurements. Unknown fields are dropped, known ones are typed.
  stats_report: z.object({
    type: z.literal('stats_report'),
    bitrate: kbps.optional(), // kbit/s received (viewer) or sent per viewer (broadcaster)
    upload_bitrate: kbps.optional(), // broadcaster: kbit/s sent to all viewers together
    available_bitrate: kbps.optional(), // the congestion controller's estimate, kbit/s
    fps: z.number().finite().min(0).max(1000).optional(),
    width: z.number().int().min(0).max(16_384).optional(),
    height: z.number().int().min(0).max(16_384).optional(),
    rtt: ms.optional(), // ms
    loss: z.number().finite().min(0).max(100).optional(), // percent of packets
    jitter: ms.optional(), // ms
    freezes: z.number().int().min(0).max(1_000_000).optional(),
    latency: ms.optional(), // ms, capture to display, where measured
    codec: z.string().max(64).optional(),
    connection_type: ConnectionType.optional(),
    relay_protocol: RelayProtocol.optional(),
  }),
  ping: z.object({ type: z.literal('ping') }),
} as const;

export type ClientMessageType = keyof typeof clientSchemas;
export type ClientMessage = { [K in ClientMessageType]: z.infer<(typeof clientSchemas)[K]> }[ClientMessageType];
export type ClientMessageOf<K extends ClientMessageType> = z.infer<(typeof clientSchemas)[K]>;
export type StatsReport = Omit<ClientMessageOf<'stats_report'>, 'type'>;

// ---------------------------------------------------------------- server → client

const IceServer = z.object({
  urls: z.array(z.string()),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof IceServer>;

// How long the client waits on each rung of the connection ladder before it
// climbs to the next (docs/BENCHMARKS.md has the measurements behind the defaults).
const IceTimeouts = z.object({ direct_ms: ms, turn_ms: ms });
export type IceTimeouts = z.infer<typeof IceTimeouts>;
/** The server's defaults (ICE_DIRECT_TIMEOUT, ICE_TURN_TIMEOUT), and the client's when a server sends none. */
export const ICE_TIMEOUT_DEFAULTS: Readonly<IceTimeouts> = { direct_ms: 5_000, turn_ms: 8_000 };

/**
 * Why a room is gone for good: its broadcaster ended it, or did not come back
 * within the grace period; `taken_over` goes only to a broadcaster whose room
 * was reclaimed from another connection (a second tab, a reload that overtook
 * the old socket's close).
 */
export const RoomClosedReason = z.enum(['ended', 'broadcaster_timeout', 'taken_over']);
export type RoomClosedReason = z.infer<typeof RoomClosedReason>;
/** Why a viewer was put out of a room (`removed`). */
export const RemovedReason = z.enum(['removed_by_broadcaster']);
export type RemovedReason = z.infer<typeof RemovedReason>;

export const ErrorCode = z.enum([
  'bad_json',
  'bad_message',
  'room_not_found',
  'room_full',
  'not_in_room',
  'not_allowed',
  'invalid_room_id',
  'rate_limited',
  'too_large',
  'password_required', // join_room of a room with a password, without one
  'wrong_password', // join_room with a password that does not match (counts as a failed join)
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

const Stat = z.number().nullable();

const ChatMessage = z.object({
  type: z.literal('chat_message'),
  id: ChatId,
  from_id: ClientId,
  name: z.string().max(64),
  text: z.string().max(2 * CHAT_TEXT_MAX), // code units: a code point may take two
  sent_at: z.iso.datetime(),
  // The room's broadcaster sent it (so a page can mark it, in its own language).
  broadcaster: z.boolean().optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const serverSchemas = {
  welcome: z.object({
    type: z.literal('welcome'),
    client_id: ClientId,
    ice_servers: z.array(IceServer),
    ice_timeouts: IceTimeouts.optional(),
  }),
  room_created: z.object({ type: z.literal('room_created'), room_id: RoomId, room_token: z.string() }),
  room_joined: z.object({ type: z.literal('room_joined'), room_id: RoomId, broadcaster_id: ClientId }),
  // Acknowledges leave_room (clients that do not wait for it may ignore it).
  room_left: z.object({ type: z.literal('room_left'), room_id: RoomId }),
  // sfu: a standard WHEP player, already watching through the SFU: the broadcaster sends it nothing.
  viewer_joined: z.object({ type: z.literal('viewer_joined'), viewer_id: ClientId, codecs: z.array(VideoCodec).optional(), sfu: z.literal(true).optional() }),
  viewer_left: z.object({ type: z.literal('viewer_left'), viewer_id: ClientId }),
  broadcaster_left: z.object({ type: z.literal('broadcaster_left'), room_id: RoomId }),
  broadcaster_returned: z.object({ type: z.literal('broadcaster_returned'), room_id: RoomId, broadcaster_id: ClientId }),
  room_closed: z.object({ type: z.literal('room_closed'), room_id: RoomId, reason: RoomClosedReason }),
  ...forwardedAs('server'),
  // ticket: opens /relay?role=view&ticket=… for this viewer (single use, short-lived).
  relay_ready: z.object({ type: z.literal('relay_ready'), room_id: RoomId, ticket: z.string().optional() }),
  relay_requested: z.object({ type: z.literal('relay_requested'), viewer_id: ClientId, codecs: z.array(VideoCodec).optional() }),
  // The broadcaster moved this viewer to the server relay: it should send request_relay.
  use_relay: z.object({ type: z.literal('use_relay'), room_id: RoomId }),
  // Watch this room through the SFU: POST a WHEP offer to /api/whep/{room_id} with
  // "Authorization: Bearer <ticket>" (single use, short-lived; no password needed).
  use_sfu: z.object({ type: z.literal('use_sfu'), room_id: RoomId, ticket: z.string() }),
  // To the room's WebSocket broadcaster: a WHIP publisher is (or is no longer) feeding the room's SFU.
  sfu_feed: z.object({ type: z.literal('sfu_feed'), room_id: RoomId, live: z.boolean() }),
  // The broadcaster's browser cannot publish to the server relay: only P2P or TURN can carry this room.
  relay_unavailable: z.object({ type: z.literal('relay_unavailable'), room_id: RoomId }),
  stats_summary: z.object({
    type: z.literal('stats_summary'),
    room_id: RoomId,
    viewer_count: z.number().int().min(0),
    current_bitrate: z.number().min(0), // kbit/s of the stream
    upload_bitrate: z.number().min(0), // kbit/s the broadcaster sends in total
    broadcaster_present: z.boolean(),
    paths: z.object({ p2p: z.number(), turn: z.number(), relay: z.number(), sfu: z.number(), unknown: z.number() }),
    rtt_median: Stat,
    rtt_worst: Stat,
    loss_median: Stat,
    loss_worst: Stat,
    latency_median: Stat,
    codecs: z.record(z.string(), z.number()),
  }),
  pong: z.object({ type: z.literal('pong') }),
  chat_message: ChatMessage,
  // Right after room_joined or room_created: the room's last messages, oldest first.
  chat_history: z.object({ type: z.literal('chat_history'), messages: z.array(ChatMessage).max(CHAT_HISTORY_SIZE) }),
  chat_delete: z.object({ type: z.literal('chat_delete'), id: ChatId }),
  // To a viewer the broadcaster removed: it is out of the room and should not rejoin by itself.
  removed: z.object({ type: z.literal('removed'), room_id: RoomId, reason: RemovedReason }),
  // The server is shutting down: reconnect after about this long (plus jitter).
  server_going_away: z.object({ type: z.literal('server_going_away'), reconnect_after_ms: z.number().int().min(0) }),
  error: z.object({
    type: z.literal('error'),
    code: ErrorCode,
    message: z.string(),
    request_type: z.string().optional(),
  }),
} as const;

export type ServerMessageType = keyof typeof serverSchemas;
export type ServerMessage = { [K in ServerMessageType]: z.infer<(typeof serverSchemas)[K]> }[ServerMessageType];
export type ServerMessageOf<K extends ServerMessageType> = z.infer<(typeof serverSchemas)[K]>;
export type StatsSummary = ServerMessageOf<'stats_summary'>;
