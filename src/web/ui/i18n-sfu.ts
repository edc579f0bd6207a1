// The words of the SFU and of broadcasting from OBS or other WHIP software,
// kept apart from i18n.ts (which merges them). Every key needs both languages:
// `en` is typed by `zh`.
export const zhSfu = {
  whip_mode: '📡 用 OBS 等推流软件直播',
  heading_obs: '用 OBS 等推流软件直播',
  obs_steps_title: '在 OBS 里这样设置',
  obs_step_service: 'OBS 30 及以上：设置 → 直播 → 服务选 “WHIP”。',
  obs_step_paste: '把下面的服务器地址和 Bearer Token 分别粘贴到 “服务器” 和 “Bearer Token”。',
  obs_step_encoder: '输出：x264 选 “zerolatency” 调优、关键帧间隔 1 秒、不用 B 帧；硬件编码器选低延迟预设。',
  obs_step_start: '点 “开始推流”：流一到，这里就会显示画面，观众就能看了。',
  whip_url: '服务器（WHIP 地址）',
  whip_token: 'Bearer Token',
  show: '显示',
  obs_opening: '正在创建直播间…',
  obs_waiting: '等待推流软件的画面…（在 OBS 里点 “开始推流”）',
  obs_live: '正在直播',
  path_sfu: '经服务器转发（SFU）',
} as const;

export const enSfu: Record<keyof typeof zhSfu, string> = {
  whip_mode: '📡 Stream from OBS or other software',
  heading_obs: 'Stream from OBS or other software',
  obs_steps_title: 'Set up OBS like this',
  obs_step_service: 'OBS 30 or newer: Settings → Stream → Service: “WHIP”.',
  obs_step_paste: 'Paste the server URL and the Bearer token below into “Server” and “Bearer Token”.',
  obs_step_encoder: 'Output: x264 with the “zerolatency” tune, a 1 s keyframe interval and no B-frames; a hardware encoder with a low-latency preset.',
  obs_step_start: 'Click “Start Streaming”: the picture shows here as soon as it arrives, and viewers can watch.',
  whip_url: 'Server (WHIP URL)',
  whip_token: 'Bearer Token',
  show: 'Show',
  obs_opening: 'Opening the room…',
  obs_waiting: 'Waiting for the stream from your software… (click “Start Streaming” in OBS)',
  obs_live: 'Live',
  path_sfu: 'through the server (SFU)',
};
