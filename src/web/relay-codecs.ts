// Codec strings for the relay path (WebCodecs), in the product's order of
// preference, and what this browser can encode or decode of them.
import type { RelayCodec } from '../protocol/messages.js';

export const RELAY_CODEC_ORDER: readonly RelayCodec[] = ['AV1', 'VP9', 'VP8', 'H264'];

/** WebCodecs codec strings at a level that covers 1080p30. */
export const CODEC_STRINGS: Record<RelayCodec, string> = {
  AV1: 'av01.0.08M.08',
  VP9: 'vp09.00.40.08',
  VP8: 'vp8',
  H264: 'avc1.42E028',
};

export const AUDIO_CODEC = 'opus';

/** Video codecs this browser decodes, best first (empty without WebCodecs). */
export async function decodableCodecs(): Promise<RelayCodec[]> {
  if (typeof VideoDecoder === 'undefined') return [];
  const results = await Promise.all(
    RELAY_CODEC_ORDER.map(async (c) => {
      try {
        const { supported } = await VideoDecoder.isConfigSupported({ codec: CODEC_STRINGS[c], codedWidth: 1280, codedHeight: 720 });
        return supported ? c : null;
      } catch {
        return null;
      }
    }),
  );
  return results.filter((c): c is RelayCodec => c !== null);
}
