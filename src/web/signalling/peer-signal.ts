// A PeerLink's signal as the message that carries it to the other side.
import type { ClientMessage } from '../../protocol/messages.js';
import type { LocalSignal } from '../rtc/peer-link.js';

export function signalMessage(signal: LocalSignal, targetId: string): ClientMessage {
  switch (signal.type) {
    case 'candidate':
      return { type: 'ice_candidate', target_id: targetId, candidate: signal.candidate };
    case 'offer':
      return { type: 'offer', target_id: targetId, sdp: { type: 'offer', sdp: signal.sdp } };
    case 'answer':
      return { type: 'answer', target_id: targetId, sdp: { type: 'answer', sdp: signal.sdp } };
  }
}
