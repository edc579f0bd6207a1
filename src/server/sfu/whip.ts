// POST /api/whip/{room_id}: a publisher (OBS, a browser WHIP client, the
// LiveRoom page) with the room's token as its Bearer token. Checks in the
// order that costs least first, each with the contract's status and a body
// that says what to change; then the SFU answers and the room goes live.
import { ACCEPTED_CODECS, choosePublisherTracks, parseOffer, sectionFor } from './offer.js';
import { bearer, created, mediaType, readBody, refuse, sendError, type DoorRequest } from './door.js';

export async function whipPost(r: DoorRequest): Promise<void> {
  const { deps, roomId } = r;
  if (mediaType(r.req) !== 'application/sdp') return refuse(r, 415, 'unsupported_media_type', 'the offer must be sent as Content-Type: application/sdp');
  const limit = deps.config.sfu.maxSdpBytes;
  const sdp = await readBody(r.req, limit);
  if (sdp === null) return refuse(r, 413, 'too_large', `the offer is over the limit of ${limit} bytes`, { Connection: 'close' });
  const token = bearer(r.req);
  if (token === null) return refuse(r, 401, 'unauthorized', `publishing to room ${roomId} needs its room token: Authorization: Bearer <room_token>`, { 'WWW-Authenticate': 'Bearer' });
  if (!deps.rooms.acceptsToken(roomId, token)) return refuse(r, 401, 'unauthorized', `the token is not valid for room ${roomId}`, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  const parsed = parseOffer(sdp);
  if (!parsed.ok) return refuse(r, 400, 'bad_sdp', parsed.message);
  const choice = choosePublisherTracks(parsed.offer);
  if (!choice.video && !choice.audio) {
    return refuse(r, 422, 'no_common_codec', `the offer sends no codec this server takes; it accepts ${ACCEPTED_CODECS}`);
  }
  // libdatachannel tells the tracks of one transport apart by the SSRCs the offer declares.
  const chosen = [choice.video, choice.audio].filter((c) => c !== undefined);
  for (const kind of ['video', 'audio'] as const) {
    const section = sectionFor(parsed.offer, kind, 'publisher');
    if (!section || !chosen.some((c) => c.mid === section.mid)) continue;
    if (section.simulcast && !section.ssrcs.length) return refuse(r, 400, 'bad_sdp', 'simulcast by RID is not supported: send one encoding per track');
    if (chosen.length > 1 && !section.ssrcs.length) return refuse(r, 400, 'bad_sdp', `the ${kind} section declares no a=ssrc, so its packets cannot be told apart from the other track's`);
  }
  const result = await deps.sfu.publish(roomId, token, sdp, choice, r.ip);
  if (!result.ok) {
    if (result.status === 429) return sendError(r.res, 429, result.code, result.message, { 'Retry-After': '60' });
    return refuse(r, result.status, result.code, result.message);
  }
  created(r, 'whip', result.value.session, result.value.answer);
}
