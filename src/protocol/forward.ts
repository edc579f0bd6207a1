// Signalling the server passes between a broadcaster and one of its viewers:
// it removes nothing but target_id and adds from_id (shared/PROTOCOL.md), so a
// client message of one of these types becomes the server message of the same type.
import type { ClientMessageOf, ServerMessage } from './messages.js';

export type ForwardedType = 'offer' | 'answer' | 'ice_candidate' | 'ice_restart' | 'quality_level';

export function forwarded(msg: ClientMessageOf<ForwardedType>, fromId: string): ServerMessage {
  const { target_id: _target, ...rest } = msg;
  return { ...rest, from_id: fromId };
}
