// ICE servers a client is given: STUN as configured, and TURN with credentials
// made for that client. With a shared secret they follow the TURN REST API
// scheme that coturn's use-auth-secret checks: username "<unix-expiry>:<client_id>",
// credential base64(HMAC-SHA1(secret, username)). The secret itself never leaves here.
import { createHmac } from 'node:crypto';
import type { IceServer } from '../protocol/messages.js';
import type { TurnConfig } from './config.js';

export interface TurnCredential {
  username: string;
  credential: string;
}

export function turnRestCredential(secret: string, clientId: string, expiresAtSeconds: number): TurnCredential {
  const username = `${expiresAtSeconds}:${clientId}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

export class IceServerProvider {
  constructor(
    private readonly stunUrls: readonly string[],
    private readonly turn: TurnConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** The list for one client; TURN credentials are fresh on every call. */
  forClient(clientId: string): IceServer[] {
    const servers: IceServer[] = [];
    if (this.stunUrls.length) servers.push({ urls: [...this.stunUrls] });
    const { urls, secret, username, credential, ttlSeconds } = this.turn;
    if (urls.length) {
      if (secret) {
        const expiry = Math.floor(this.now() / 1000) + ttlSeconds;
        servers.push({ urls: [...urls], ...turnRestCredential(secret, clientId, expiry) });
      } else if (username && credential) {
        servers.push({ urls: [...urls], username, credential });
      }
    }
    return servers;
  }
}
