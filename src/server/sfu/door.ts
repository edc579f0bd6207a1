// What the WHIP and WHEP doors share: CORS (any origin: the credential is a
// Bearer token a page must already hold, never a cookie, so a foreign page
// gains nothing), errors as JSON, failures counted against the address,
// bounded bodies, the absolute Location and the ICE servers as Link headers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { IceServer } from '../../protocol/messages.js';
import type { Config } from '../config.js';
import type { IceServerProvider } from '../ice.js';
import type { IpLimits } from '../ip-limits.js';
import type { RoomRegistry } from '../rooms.js';
import type { SfuService, SfuSession } from './service.js';

export interface SfuHttpDeps {
  sfu: SfuService;
  rooms: RoomRegistry;
  ice: IceServerProvider;
  ipLimits: IpLimits;
  config: Config;
  log: Logger;
}

/** One request at a door: its response, the client's address, and the room in its path. */
export interface DoorRequest {
  req: IncomingMessage;
  res: ServerResponse;
  ip: string;
  roomId: string;
  deps: SfuHttpDeps;
}

export const CORS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, PATCH, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match',
  'Access-Control-Expose-Headers': 'Location, ETag, Link, Retry-After, Accept-Patch',
  'Access-Control-Max-Age': '600',
};

export const ANSWER_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...CORS };

export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...ANSWER_HEADERS, ...headers });
  res.end(text);
}

/**
 * Answer an error to a POST, PATCH or DELETE, counting it against the client's
 * address like a failed join (FAILED_JOINS_PER_MINUTE), so a flood of bad or
 * guessing requests is refused before any work. Not-live, full, over-limit and
 * draining answers are no one's fault and are not counted.
 */
export function refuse(r: DoorRequest, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  if (![409, 429, 503].includes(status)) r.deps.ipLimits.joinFailed(r.ip);
  sendError(r.res, status, code, message, headers);
}

/** The media type of a request, without parameters, lower-cased. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The body as text, or null if it is over `limit` bytes (then the rest is not read). */
export function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Bearer credentials (a room token, a ticket or a password), or null. */
export function bearer(req: IncomingMessage): string | null {
  const m = /^Bearer +(\S.*)$/i.exec(req.headers.authorization ?? '');
  return m ? m[1]!.trim() : null;
}

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Of a header a proxy may append to, the last value: the one our own proxy wrote (as client-ip.ts reads X-Forwarded-For). */
function forwarded(req: IncomingMessage, name: string): string | undefined {
  const raw = req.headers[name];
  return (Array.isArray(raw) ? raw.join(',') : raw)?.split(',').at(-1)?.trim() || undefined;
}

/**
 * Absolute URL of a path on this server as the client reached it: the scheme
 * of the socket, or with TRUST_PROXY the X-Forwarded-Proto/-Host a reverse
 * proxy sets (the client's own values are believed only behind one).
 */
export function absoluteUrl(req: IncomingMessage, trustProxy: boolean, path: string): string {
  let scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  let host = req.headers.host ?? '';
  if (trustProxy) {
    const proto = forwarded(req, 'x-forwarded-proto')?.toLowerCase();
    if (proto === 'http' || proto === 'https') scheme = proto;
    host = forwarded(req, 'x-forwarded-host') ?? host;
  }
  if (!HOST.test(host)) host = 'localhost';
  return `${scheme}://${host}${path}`;
}

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** RFC 9725 §4.6: one Link per ICE server URL; TURN with its short-lived username and credential. */
export function iceLinks(servers: readonly IceServer[]): string[] {
  return servers.flatMap((s) =>
    s.urls.map((url) => {
      const credentials = s.username !== undefined && s.credential !== undefined ? `; username=${quoted(s.username)}; credential=${quoted(s.credential)}; credential-type="password"` : '';
      return `<${url}>; rel="ice-server"${credentials}`;
    }),
  );
}

/** 201 with the answer, its session's absolute Location, ETag and the ICE servers. */
export function created(r: DoorRequest, door: 'whip' | 'whep', session: SfuSession, answer: string): void {
  const links = iceLinks(r.deps.ice.forClient(`${door}-${session.id.slice(0, 12)}`));
  r.res.writeHead(201, {
    'Content-Type': 'application/sdp',
    'Content-Length': Buffer.byteLength(answer),
    Location: absoluteUrl(r.req, r.deps.config.trustProxy, `/api/${door}/${r.roomId}/${session.id}`),
    ETag: session.etag,
    'Accept-Patch': 'application/trickle-ice-sdpfrag',
    ...(links.length ? { Link: links } : {}),
    ...ANSWER_HEADERS,
  });
  r.res.end(answer, () => session.peer.useOfferedCandidates());
}
