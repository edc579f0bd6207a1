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
interface EncodedVideoChunkMetadata {
  svc?: { temporalLayerId: number };
}
