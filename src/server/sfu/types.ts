// What the SFU knows about one inbound track, shared by the fan-out and by
// anything else that consumes a WHIP publisher's RTP (the relay transmuxer).

/** The codecs the SFU forwards, by the names the app uses (VideoCodec) plus Opus. */
export type SfuVideoCodec = 'AV1' | 'VP9' | 'VP8' | 'H264';
export type SfuCodec = SfuVideoCodec | 'opus';

/** One track a WHIP publisher sends, as negotiated in its answer. */
export interface InboundTrackInfo {
  kind: 'audio' | 'video';
  codec: SfuCodec;
  /** The publisher's payload type for this codec (what its packets carry). */
  payloadType: number;
  clockRate: number;
  /** The codec's a=fmtp parameters as offered, e.g. "profile-level-id=42e01f;packetization-mode=1". */
  fmtp?: string;
  /** Audio channels from a=rtpmap (2 for Opus). */
  channels?: number;
}
