// The SFU's HTTP doors: WHIP (RFC 9725) at /api/whip/{room_id} and WHEP at
// /api/whep/{room_id} (POST: whip.ts, whep.ts), each session at
// {door}/{room_id}/{session_id} for PATCH (trickled candidates) and DELETE.
// Its id (128 random bits) is the session's credential, as the Location that
// only its client was given.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ROOM_ID_PATTERN } from '../../protocol/messages.js';
import { clientIp } from '../client-ip.js';
import { ANSWER_HEADERS, CORS, mediaType, readBody, refuse, sendError, type DoorRequest, type SfuHttpDeps } from './door.js';
import { parseTrickleFragment } from './sdp-text.js';
import type { SfuSession } from './service.js';
import { whepPost } from './whep.js';
import { whipPost } from './whip.js';

async function patch(r: DoorRequest, session: SfuSession): Promise<void> {
  if (mediaType(r.req) !== 'application/trickle-ice-sdpfrag') {
    return refuse(r, 415, 'unsupported_media_type', 'PATCH takes Content-Type: application/trickle-ice-sdpfrag');
  }
  const ifMatch = r.req.headers['if-match'];
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== session.etag) {
    return refuse(r, 412, 'precondition_failed', `If-Match ${ifMatch} is not this session's ETag ${session.etag}`);
  }
  const text = await readBody(r.req, r.deps.config.sfu.maxSdpBytes);
  if (text === null) return refuse(r, 413, 'too_large', `the fragment is over the limit of ${r.deps.config.sfu.maxSdpBytes} bytes`);
  const parsed = parseTrickleFragment(text);
  if (!parsed.ok) return refuse(r, 400, 'bad_sdp', parsed.message);
  const { iceUfrag, candidates } = parsed.fragment;
  if (ifMatch === '*' || (iceUfrag !== undefined && iceUfrag !== session.peer.remoteUfrag)) {
    return refuse(r, 422, 'ice_restart_not_supported', 'this server takes trickled candidates but not ICE restarts: DELETE this session and POST a new offer');
  }
  try {
    for (const c of candidates) session.peer.addRemoteCandidate(c.candidate, c.mid);
  } catch (err) {
    return refuse(r, 400, 'bad_sdp', `a candidate was refused: ${err instanceof Error ? err.message : String(err)}`);
  }
  r.res.writeHead(204, ANSWER_HEADERS);
  r.res.end();
}

const PATH = /^\/api\/(whip|whep)(?:\/([^/]*))?(?:\/([^/]+))?\/?$/;

/** The handler for every request under /api/whip and /api/whep. */
export function createSfuHandler(deps: SfuHttpDeps) {
  return async function handleSfu(req: IncomingMessage, res: ServerResponse, pathname: string, accepting: boolean): Promise<void> {
    const m = PATH.exec(pathname);
    if (!m) return sendError(res, 404, 'not_found', `no API route ${pathname}`);
    const door = m[1] as 'whip' | 'whep';
    const roomId = m[2] ?? '';
    const sessionId = m[3];
    const r: DoorRequest = { req, res, ip: clientIp(req, deps.config.trustProxy), roomId, deps };
    const method = req.method ?? 'GET';
    const allowed = sessionId ? 'PATCH, DELETE, OPTIONS' : 'POST, OPTIONS';
    if (method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, Allow: allowed, ...(sessionId ? { 'Accept-Patch': 'application/trickle-ice-sdpfrag' } : { 'Accept-Post': 'application/sdp' }) });
      return void res.end();
    }
    if (!allowed.split(', ').includes(method)) return sendError(res, 405, 'method_not_allowed', `${method} is not supported here; use ${allowed}`, { Allow: allowed });
    if (!deps.ipLimits.mayTryJoin(r.ip)) {
      return sendError(res, 429, 'rate_limited', `more than ${deps.config.limits.failedJoinsPerMinute} failed requests a minute from this address; wait`, { 'Retry-After': '60' });
    }
    if (!ROOM_ID_PATTERN.test(roomId)) return refuse(r, 404, 'invalid_room_id', `"${roomId.slice(0, 20)}" is not a room code: six digits`);
    if (!sessionId) {
      if (!accepting) return sendError(res, 503, 'unavailable', 'the server is shutting down; try again shortly', { 'Retry-After': '5' });
      return door === 'whip' ? whipPost(r) : whepPost(r);
    }
    const session = deps.sfu.session(sessionId);
    if (!session || session.kind !== door || session.roomId !== roomId) return refuse(r, 404, 'session_not_found', `no ${door.toUpperCase()} session at ${pathname}`);
    if (method === 'PATCH') return patch(r, session);
    session.close('deleted');
    res.writeHead(200, ANSWER_HEADERS);
    res.end();
  };
}
