// Chrome's "breakout box" (mediacapture-transform) and WebCodecs SVC metadata,
// which TypeScript's DOM library does not declare yet.
interface MediaStreamTrackProcessorInit {
  track: MediaStreamTrack;
  maxBufferSize?: number;
}
declare class MediaStreamTrackProcessor<T extends VideoFrame | AudioData = VideoFrame | AudioData> {
  constructor(init: MediaStreamTrackProcessorInit);
  readonly readable: ReadableStream<T>;
}
declare class MediaStreamTrackGenerator<T extends VideoFrame | AudioData = VideoFrame | AudioData> extends MediaStreamTrack {
  constructor(init: { kind: 'audio' | 'video' });
  readonly writable: WritableStream<T>;
}
interface EncodedVideoChunkMetadata {
  svc?: { temporalLayerId: number };
}
