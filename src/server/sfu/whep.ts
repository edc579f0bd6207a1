// POST /api/whep/{room_id}: a player's recvonly offer. It gets the room's
// current video and audio once something is published (409 and Retry-After
// before that). A LiveRoom viewer comes with the ticket of its use_sfu message
// and stays the one viewer it already is; a standard player is a viewer of its
// own, and needs the room's password as its Bearer token if the room has one;
// the room's token is its owner's preview (the broadcast page in OBS mode),
// counted as no viewer.
import { passwordMatches } from '../password.js';
import { parseOffer } from './offer.js';
import { bearer, created, mediaType, readBody, refuse, sendError, type DoorRequest } from './door.js';

/** Seconds a player should wait before asking again for a room that is not live yet. */
const RETRY_NOT_LIVE_S = 5;

export async function whepPost(r: DoorRequest): Promise<void> {
  const { deps, roomId } = r;
  if (mediaType(r.req) !== 'application/sdp') return refuse(r, 415, 'unsupported_media_type', 'the offer must be sent as Content-Type: application/sdp');
  const limit = deps.config.sfu.maxSdpBytes;
  const sdp = await readBody(r.req, limit);
  if (sdp === null) return refuse(r, 413, 'too_large', `the offer is over the limit of ${limit} bytes`, { Connection: 'close' });
  const room = deps.rooms.get(roomId);
  if (!room) return refuse(r, 404, 'room_not_found', `no live room with code ${roomId}`);
  if (!deps.sfu.isLive(roomId)) {
    return sendError(r.res, 409, 'not_live', `room ${roomId} exists but nothing is published to it yet; try again`, { 'Retry-After': String(RETRY_NOT_LIVE_S) });
  }
  const credential = bearer(r.req);
  const ticketViewerId = credential === null ? null : deps.sfu.takeTicket(credential, roomId);
  const owner = ticketViewerId === null && credential !== null && deps.rooms.acceptsToken(roomId, credential);
  if (ticketViewerId === null && !owner && room.password) {
    if (credential === null) return refuse(r, 401, 'unauthorized', `room ${roomId} needs its password: Authorization: Bearer <password>`, { 'WWW-Authenticate': 'Bearer' });
    if (!(await passwordMatches(credential, room.password))) return refuse(r, 401, 'unauthorized', `wrong password for room ${roomId}`, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  }
  const parsed = parseOffer(sdp);
  if (!parsed.ok) return refuse(r, 400, 'bad_sdp', parsed.message);
  const result = await deps.sfu.view(roomId, ticketViewerId === null ? { ticketViewerId, owner } : { ticketViewerId }, sdp, parsed.offer, r.ip);
  if (!result.ok) {
    const retry: Record<string, string> = result.status === 409 || result.status === 503 ? { 'Retry-After': String(RETRY_NOT_LIVE_S) } : result.status === 429 ? { 'Retry-After': '60' } : {};
    return refuse(r, result.status, result.code, result.message, retry);
  }
  created(r, 'whep', result.value.session, result.value.answer);
}
