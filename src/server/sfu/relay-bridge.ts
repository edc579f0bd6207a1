// The server relay fed from the SFU: a viewer with no WebRTC path at all (no
// UDP, no TURN) still watches a room whose stream reaches the server over
// WHIP. Each publisher that starts feeding a room becomes that room's relay
// source; while the relay has viewers its RTP goes through a RelayTransmuxer
// into relay frames, and keyframe requests go back to the publisher as PLIs.
import type { RelayHub } from '../relay.js';
import { RelayTransmuxer } from './relay-transmux.js';
import type { SfuPublisher } from './publisher.js';
import type { SfuService } from './service.js';
import type { InboundTrackInfo } from './types.js';

export function bridgeSfuToRelay(sfu: SfuService, relay: RelayHub): void {
  sfu.on('publisher', (roomId, publisher) => feedRelay(roomId, publisher, relay));
}

function feedRelay(roomId: string, publisher: SfuPublisher, relay: RelayHub): void {
  let transmuxer: RelayTransmuxer | null = null;
  const onRtp = (track: InboundTrackInfo, packet: Buffer): void => transmuxer?.push(track, packet);
  const stop = (): void => {
    publisher.off('rtp', onRtp);
    transmuxer = null;
  };
  const port = relay.attachSource(roomId, {
    control: (message) => {
      if (message.type === 'keyframe_request') publisher.requestKeyframe();
      else if (message.type === 'viewers' && message.count > 0 && !transmuxer) {
        transmuxer = new RelayTransmuxer(
          (frame) => port.publish(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)),
          () => publisher.requestKeyframe(),
        );
        publisher.on('rtp', onRtp);
        publisher.requestKeyframe();
      } else if (message.type === 'viewers' && message.count === 0) stop();
    },
    close: stop,
  });
  publisher.once('closed', () => {
    stop();
    port.detach();
  });
}
