// Room passwords are kept only as a salted scrypt hash (slow on purpose, so a
// leaked hash is expensive to guess) and compared in constant time. Both steps
// run on libuv's thread pool, so a join with a password never blocks the loop.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const KEY_BYTES = 32;
/** N=2^14, r=8: about 16 MiB and tens of ms per hash (Node's defaults, the OWASP minimum). */
const COST = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export interface PasswordHash {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, COST, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(16);
  return { salt, hash: await derive(password, salt) };
}

export async function passwordMatches(password: string, stored: PasswordHash): Promise<boolean> {
  return timingSafeEqual(await derive(password, stored.salt), stored.hash);
}
