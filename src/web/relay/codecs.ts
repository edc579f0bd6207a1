// Codec strings for the relay path (WebCodecs), in the product's order of
// preference, and what this browser can encode or decode of them.
import type { VideoCodec } from '../../protocol/messages.js';
import { VIDEO_CODEC_ORDER } from '../rtc/codecs.js';

/** WebCodecs codec strings at a level that covers 1080p30. */
export const CODEC_STRINGS: Record<VideoCodec, string> = {
  AV1: 'av01.0.08M.08',
  VP9: 'vp09.00.40.08',
  VP8: 'vp8',
  H264: 'avc1.42E028',
};

export const AUDIO_CODEC = 'opus';

/** Video codecs this browser decodes, best first (empty without WebCodecs). */
export async function decodableCodecs(): Promise<VideoCodec[]> {
  if (typeof VideoDecoder === 'undefined') return [];
  const results = await Promise.all(
    VIDEO_CODEC_ORDER.map(async (c) => {
      try {
        const { supported } = await VideoDecoder.isConfigSupported({ codec: CODEC_STRINGS[c], codedWidth: 1280, codedHeight: 720 });
        return supported ? c : null;
      } catch {
        return null;
      }
    }),
  );
  return results.filter((c): c is VideoCodec => c !== null);
}
