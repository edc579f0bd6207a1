// The SFU's sessions as room members, so the room counts and notifies them
// like anyone else. Neither has a socket: what the room sends them is either
// acted on here (a viewer joined) or of no use to them (summaries, chat).
import { randomBytes } from 'node:crypto';
import type { ServerMessage } from '../../protocol/messages.js';
import type { Member, Room } from '../room.js';

/**
 * The WHIP feed of a room. With no WebSocket broadcaster it is the room's
 * broadcaster (room_joined.broadcaster_id is its id) and answers every viewer
 * that joins with use_sfu.
 */
export class FeedMember implements Member {
  readonly id = `whip-${randomBytes(9).toString('base64url')}`;
  room: Room | null = null;

  constructor(private readonly onViewerJoined: (viewerId: string) => void) {}

  send(message: ServerMessage): void {
    if (message.type === 'viewer_joined') this.onViewerJoined(message.viewer_id);
  }

  sendText(): void {}
}

/** A standard WHEP player (no ticket): a viewer of its own, counted everywhere viewers are. */
export class WhepMember implements Member {
  readonly id = `whep-${randomBytes(9).toString('base64url')}`;
  room: Room | null = null;

  send(): void {}

  sendText(): void {}
}
