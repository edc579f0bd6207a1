// Glass-to-glass latency on the P2P and TURN paths, from the abs-capture-time
// RTP header extension: the sender stamps each frame with its capture time
// (NTP clock) and the receiver's synchronization source reports it next to the
// time the frame was delivered, with an offset that maps the sender's clock
// onto ours (estimated from RTCP). Chromium offers the extension but leaves it
// off ('stopped'), so both sides switch it on for video before negotiating.
const ABS_CAPTURE_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time';
/** Milliseconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_TO_UNIX_MS = 2_208_988_800_000;
/** Beyond this, the clock mapping is off (no RTCP yet), not the video. */
const PLAUSIBLE_MS = 10_000;

/** Negotiate abs-capture-time on a video transceiver, where the browser can (Chromium); harmless elsewhere. */
export function negotiateCaptureTime(transceiver: RTCRtpTransceiver): void {
  const t = transceiver as RTCRtpTransceiver & {
    getHeaderExtensionsToNegotiate?: () => { uri: string; direction: RTCRtpTransceiverDirection }[];
    setHeaderExtensionsToNegotiate?: (extensions: { uri: string; direction: RTCRtpTransceiverDirection }[]) => void;
  };
  if (!t.getHeaderExtensionsToNegotiate || !t.setHeaderExtensionsToNegotiate) return;
  const extensions = t.getHeaderExtensionsToNegotiate();
  const capture = extensions.find((e) => e.uri === ABS_CAPTURE_TIME);
  if (!capture || capture.direction !== 'stopped') return;
  capture.direction = 'sendrecv';
  try {
    t.setHeaderExtensionsToNegotiate(extensions);
  } catch (err) {
    console.warn('abs-capture-time not negotiated', err);
  }
}

interface CaptureSource {
  timestamp: number;
  captureTimestamp?: number;
  senderCaptureTimeOffset?: number;
}

/** Capture → delivery of the latest frame, in ms, or undefined when the receiver has no capture times. */
export function captureLatency(receiver: RTCRtpReceiver): number | undefined {
  const sources = receiver.getSynchronizationSources() as CaptureSource[];
  const s = sources.find((x) => typeof x.captureTimestamp === 'number');
  if (!s || s.captureTimestamp === undefined) return undefined;
  const captured = s.captureTimestamp + (s.senderCaptureTimeOffset ?? 0) - NTP_TO_UNIX_MS;
  const latency = s.timestamp - captured;
  return latency >= 0 && latency < PLAUSIBLE_MS ? Math.round(latency) : undefined;
}
