// The key of the room tokens must outlive the process, or a restart would make
// every broadcaster's token worthless and every room code change. ROOM_SECRET
// wins when set; otherwise a random secret is generated once and kept in the
// data directory (mode 0600), and every later start reads it back.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const ROOM_SECRET_FILE = 'room-secret';

export function persistentRoomSecret(dataDir: string): string {
  const file = path.join(dataDir, ROOM_SECRET_FILE);
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return kept;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  // 'wx': two servers starting at once must not overwrite each other's secret.
  try {
    writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
}
