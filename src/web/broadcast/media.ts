// Capture settings: the quality presets and the constraints that realise them
// (the codec order lives in codecs.ts).

export type Quality = '480p' | '720p' | '1080p';
export const QUALITIES: readonly Quality[] = ['480p', '720p', '1080p'];

export interface QualityPreset {
  width: number;
  height: number;
  frameRate: number;
  /** Ceiling for the encoder, bit/s. */
  maxBitrate: number;
}

export const PRESETS: Record<Quality, QualityPreset> = {
  '480p': { width: 854, height: 480, frameRate: 30, maxBitrate: 1_000_000 },
  '720p': { width: 1280, height: 720, frameRate: 30, maxBitrate: 2_500_000 },
  '1080p': { width: 1920, height: 1080, frameRate: 30, maxBitrate: 4_500_000 },
};

export function isQuality(value: string): value is Quality {
  return (QUALITIES as readonly string[]).includes(value);
}

export function videoConstraints(quality: Quality, deviceId?: string): MediaTrackConstraints {
  const p = PRESETS[quality];
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    width: { ideal: p.width },
    height: { ideal: p.height },
    frameRate: { ideal: p.frameRate },
  };
}

/**
 * Whether applyConstraints left the camera's size untouched although the
 * preset asks for another one (Firefox does this: see BroadcastSession's
 * resizeCamera). A camera that moved at all, even not all the way (it has no
 * such mode), did its best and is left alone.
 */
export function resizeIgnored(
  before: { width?: number; height?: number },
  after: { width?: number; height?: number },
  preset: Pick<QualityPreset, 'height'>,
): boolean {
  if (after.height === undefined || after.height === preset.height) return false;
  return after.width === before.width && after.height === before.height;
}

export function audioConstraints(deviceId?: string): MediaTrackConstraints {
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
  };
}

export interface Devices {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
}

export async function listDevices(): Promise<Devices> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === 'videoinput' && d.deviceId),
    microphones: all.filter((d) => d.kind === 'audioinput' && d.deviceId),
  };
}

export type MediaErrorKind = 'denied' | 'no_device' | 'busy' | 'insecure' | 'unknown';

/** What went wrong with getUserMedia, in terms the UI can explain. */
export function classifyMediaError(err: unknown): MediaErrorKind {
  if (typeof navigator !== 'undefined' && !navigator.mediaDevices) return 'insecure';
  const name = err instanceof Error || (typeof err === 'object' && err !== null && 'name' in err) ? (err as { name: string }).name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'no_device';
  if (name === 'NotReadableError' || name === 'AbortError') return 'busy';
  return 'unknown';
}
