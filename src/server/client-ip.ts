// Which address a request comes from. Behind a reverse proxy every socket comes
// from the proxy, so the real client is the last X-Forwarded-For entry the proxy
// appended; entries before it were written by the client and prove nothing.
// The header is believed only when TRUST_PROXY says a proxy sets it, since
// otherwise any client could claim any address and dodge the per-IP limits.
import type { IncomingMessage } from 'node:http';

export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  const direct = normalize(req.socket.remoteAddress ?? 'unknown');
  if (!trustProxy) return direct;
  const header = req.headers['x-forwarded-for'];
  const list = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((s) => s.trim()).filter(Boolean);
  const last = list.at(-1);
  return last ? normalize(last) : direct;
}

/** "::ffff:1.2.3.4" and "1.2.3.4" are one client. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
