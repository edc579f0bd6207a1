export interface InboundTrackInfo { kind: 'audio' | 'video'; codec: 'AV1' | 'VP9' | 'VP8' | 'H264' | 'opus'; payloadType: number; clockRate: number; fmtp?: string; channels?: number }
