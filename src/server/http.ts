// The HTTP half: the REST routes of the contract and the built web app (the
// SFU's WHIP and WHEP doors are in sfu/http.ts).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { IceServerProvider } from './ice.js';
import type { ServerMetrics } from './metrics.js';
import type { RoomRegistry } from './rooms.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

// The app loads only its own files; WebRTC media and the signalling socket are same-origin.
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': 'camera=(self), microphone=(self)',
};

export interface HttpDeps {
  rooms: RoomRegistry;
  ice: IceServerProvider;
  metrics: ServerMetrics;
  staticDir: string;
  /** True while the server accepts connections. */
  accepting: () => boolean;
  /** The SFU's WHIP and WHEP doors (everything under /api/whip and /api/whep). */
  sfu: (req: IncomingMessage, res: ServerResponse, pathname: string, accepting: boolean) => Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...SECURITY_HEADERS,
  });
  res.end(text);
}

function apiError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

export function createRequestHandler(deps: HttpDeps) {
  const root = path.resolve(deps.staticDir);

  async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return apiError(res, 400, 'bad_request', 'malformed path');
    }
    // Everything that is not a file is the single-page app; the router lives in the hash.
    const rel = decoded.slice(1);
    const file = path.resolve(root, rel);
    if (file !== root && !file.startsWith(root + path.sep)) return apiError(res, 404, 'not_found', 'not found');
    let target = file;
    let info = await stat(target).catch(() => null);
    if (!info?.isFile()) {
      if (path.extname(rel) && rel !== 'index.html') return apiError(res, 404, 'not_found', `no file ${decoded}`);
      target = path.join(root, 'index.html');
      info = await stat(target).catch(() => null);
      if (!info?.isFile()) {
        return apiError(res, 500, 'not_built', 'the web app is not built: run `npm run build`');
      }
    }
    const immutable = rel.startsWith('assets/');
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[path.extname(target)] ?? 'application/octet-stream',
      'Content-Length': info.size,
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...SECURITY_HEADERS,
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(target).pipe(res);
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { pathname } = url;
    if (/^\/api\/wh[ie]p(\/|$)/.test(pathname)) return deps.sfu(req, res, pathname, deps.accepting());
    const known = pathname === '/healthz' || pathname === '/api/rooms' || pathname === '/api/ice-servers';
    if ((pathname === '/api' || pathname.startsWith('/api/')) && !known) {
      return apiError(res, 404, 'not_found', `no API route ${pathname}`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return apiError(res, 405, 'method_not_allowed', `${req.method} is not supported here`);
    }
    if (pathname === '/healthz') {
      return deps.accepting() ? sendJson(res, 200, { status: 'ok' }) : sendJson(res, 503, { status: 'draining' });
    }
    if (pathname === '/metrics') {
      const text = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': deps.metrics.registry.contentType, 'Cache-Control': 'no-store', ...SECURITY_HEADERS });
      return void res.end(req.method === 'HEAD' ? undefined : text);
    }
    if (pathname === '/api/rooms') {
      const rooms = [...deps.rooms.all()]
        .filter((r) => r.isPublic)
        .map((r) => ({
          room_id: r.id,
          viewer_count: r.viewers.size,
          created_at: r.createdAt.toISOString(),
          live: r.broadcaster !== null,
        }));
      return sendJson(res, 200, { rooms });
    }
    if (pathname === '/api/ice-servers') {
      // A REST caller has no client id yet; each gets its own TURN username.
      const iceServers = deps.ice.forClient(`http-${randomBytes(6).toString('base64url')}`);
      deps.metrics.countIceServers(iceServers);
      return sendJson(res, 200, { ice_servers: iceServers });
    }
    return serveStatic(req, res, pathname);
  };
}
