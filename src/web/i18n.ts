// Chinese and English. The language comes from a saved choice, else the
// browser's; switching it rewrites every translated text in place, so live
// sessions on the page are untouched.
const zh = {
  app_title: 'LiveRoom 直播间',
  tagline: '打开链接就能看的低延迟直播，无需安装任何东西',
  start_broadcast: '📹 开始直播',
  watch_broadcast: '👁️ 观看直播',
  live_now: '正在直播',
  no_live_rooms: '现在没有公开的直播',
  viewers_n: '{n} 位观众',
  back: '← 返回',
  camera: '摄像头',
  microphone: '麦克风',
  no_microphone: '不使用麦克风',
  quality: '清晰度',
  go_live: '🎬 开始直播',
  going_live: '正在创建直播间…',
  room_code: '房间号',
  share_link: '分享链接',
  copy: '复制',
  copied: '已复制',
  end_broadcast: '⏹ 结束直播',
  broadcast_ended: '直播已结束',
  viewer_count: '观众',
  bitrate: '码率',
  upload: '总上行',
  network_speed: '网络速度',
  connection_type: '连接方式',
  resolution: '分辨率',
  fps: '帧率',
  codec: '编码',
  rtt: '往返延迟',
  loss: '丢包',
  limited_by: '受限于',
  stats: '统计',
  chart_bitrate: '码率 (kbit/s)，最近 60 秒',
  viewers_table: '观众连接',
  path: '路径',
  state: '状态',
  no_viewers_yet: '还没有观众。把房间号或链接发给他们吧。',
  enter_code: '输入六位房间号',
  join: '▶️ 进入直播间',
  joining: '正在进入…',
  unmute: '🔇 点击开启声音',
  mute: '🔊 静音',
  leave: '离开',
  state_joining: '正在进入直播间…',
  state_connecting: '正在连接主播…',
  state_playing: '直播中',
  state_waiting: '主播暂时离开了，正在等待主播回来…',
  state_relay: '直连和 TURN 中继都不通，已请求服务器中转视频。',
  path_label: '线路',
  path_trying_direct: '正在尝试直连…',
  path_trying_turn: '正在尝试 TURN 中继…',
  path_p2p: '直连（点对点）',
  path_turn: '经 TURN 中继（{protocol}）',
  path_relay: '已请求服务器中转',
  why_direct_timeout: '{s} 秒内没能直连',
  why_direct_failed: '网络阻断了直接连接',
  why_direct_skipped: '这个网络无法直连',
  why_turn_timeout: 'TURN 中继 {s} 秒内没有连通',
  why_turn_failed: '连不上 TURN 中继',
  why_no_turn: '没有配置 TURN 服务器',
  connected_in: '{ms} 毫秒连通',
  state_closed: '直播已结束',
  reason_ended: '主播结束了直播。',
  reason_broadcaster_timeout: '主播没有回来，直播间已关闭。',
  reason_server_shutdown: '服务器正在重启，直播间已关闭。',
  reconnecting: '与服务器的连接断开了，正在重连…',
  server_unreachable: '无法连接到服务器，请检查网络后重试。',
  err_room_not_found: '找不到这个直播间：房间号 {code} 不存在或直播已结束。',
  err_invalid_room_id: '房间号是六位数字，请检查后重新输入。',
  err_room_full: '这个直播间已满员。',
  err_not_allowed: '不允许这个操作。',
  err_generic: '出错了：{message}',
  err_rate_limited: '尝试次数太多了，请稍等一分钟再试。',
  err_password_required: '这个直播间需要密码。',
  err_wrong_password: '密码不对，请重新输入。',
  room_password: '直播间密码（可不填）',
  password: '密码',
  private_room: '不公开（不在直播列表中显示）',
  remove_viewer: '移出',
  reason_removed: '主播把你移出了直播间。',
  cam_denied: '摄像头权限被拒绝。请在浏览器地址栏允许使用摄像头后重试。',
  cam_no_device: '没有找到摄像头。请连接摄像头后重试。',
  cam_busy: '摄像头正被其他程序占用，请关闭它后重试。',
  cam_insecure: '浏览器只允许在 HTTPS 或 localhost 上使用摄像头。请用 https:// 地址打开本页。',
  cam_unknown: '无法打开摄像头：{message}',
  latency: '延迟',
  via_server: '经服务器中转',
  relay_unsupported: '这个浏览器无法通过服务器中转观看（需要 WebCodecs）。请换用最新版 Chrome 或 Edge。',
  network_test: '🩺 网络诊断',
  net_intro: '检测这台设备能否连到信令服务器、STUN 和 TURN 中继。',
  net_rerun: '重新检测',
  net_running: '检测中…',
  net_signalling: '信令服务器（WebSocket）',
  net_stun: 'STUN {url}',
  net_turn: 'TURN 经 {transport}：{url}',
  net_ok_signalling: '连通，往返 {ms} 毫秒',
  net_ok_stun: '可用：你的公网地址是 {address}（{ms} 毫秒）',
  net_ok_turn: '可用：中继地址 {address}（{ms} 毫秒）',
  net_fail_auth: '不可用：服务器拒绝了凭据（{code}）',
  net_fail_unreachable: '不可用：{ms} 毫秒内没有回应（被网络拦截或服务器没开）',
  net_fail_other: '不可用：错误 {code}',
  net_fail_tls: '不可用：TLS 连接失败（浏览器不信任服务器的证书，或端口没开）',
  net_fail_signalling: '连不上信令服务器',
  net_none_stun: '没有配置 STUN 服务器',
  net_none_turn: '没有配置 TURN 服务器',
  net_summary_no_server: '连不上服务器：其他检测都无法进行。请检查网络。',
  net_summary_turn: '任何网络的观众都能连上：TURN 中继可用（{transports}）。',
  net_summary_direct_only: '直连应该可行；但没有可用的 TURN 中继，防火墙严格的网络里的观众可能连不上。',
  net_summary_lan_only: 'STUN 和 TURN 都不可用：只有同一局域网内的连接能成功。',
  // Adaptive bitrate: the level the broadcaster runs this viewer's link at.
  abr_level: '自适应画质',
  abr_level_value: '{height}p，最高 {kbps} kbit/s（第 {n}/{count} 档）',
  abr_reason_loss: '因丢包降低',
  abr_reason_rtt: '因延迟上升降低',
  abr_reason_bandwidth: '因带宽不足降低',
  abr_reason_recovered: '网络好转，已回升',
  abr_reason_preset: '清晰度已切换',
  language: 'English',
} as const;

export type MessageKey = keyof typeof zh;

const en: Record<MessageKey, string> = {
  app_title: 'LiveRoom',
  tagline: 'Low-latency live video anyone can watch from a link — nothing to install',
  start_broadcast: '📹 Start broadcasting',
  watch_broadcast: '👁️ Watch',
  live_now: 'Live now',
  no_live_rooms: 'No public broadcasts right now',
  viewers_n: '{n} watching',
  back: '← Back',
  camera: 'Camera',
  microphone: 'Microphone',
  no_microphone: 'No microphone',
  quality: 'Quality',
  go_live: '🎬 Go live',
  going_live: 'Creating your room…',
  room_code: 'Room code',
  share_link: 'Share link',
  copy: 'Copy',
  copied: 'Copied',
  end_broadcast: '⏹ End broadcast',
  broadcast_ended: 'The broadcast has ended',
  viewer_count: 'Viewers',
  bitrate: 'Bitrate',
  upload: 'Upload',
  network_speed: 'Network speed',
  connection_type: 'Connection',
  resolution: 'Resolution',
  fps: 'Frame rate',
  codec: 'Codec',
  rtt: 'Round trip',
  loss: 'Packet loss',
  limited_by: 'Limited by',
  stats: 'Statistics',
  chart_bitrate: 'Bitrate (kbit/s), last 60 s',
  viewers_table: 'Viewer connections',
  path: 'Path',
  state: 'State',
  no_viewers_yet: 'No viewers yet. Send them the room code or the link.',
  enter_code: 'Six-digit room code',
  join: '▶️ Enter',
  joining: 'Entering…',
  unmute: '🔇 Tap to unmute',
  mute: '🔊 Mute',
  leave: 'Leave',
  state_joining: 'Entering the room…',
  state_connecting: 'Connecting to the broadcaster…',
  state_playing: 'Live',
  state_waiting: 'The broadcaster stepped away; waiting for them to come back…',
  state_relay: 'Neither a direct connection nor the TURN relay got through; the server relay was requested.',
  path_label: 'Path',
  path_trying_direct: 'trying a direct connection…',
  path_trying_turn: 'trying the TURN relay…',
  path_p2p: 'direct (peer-to-peer)',
  path_turn: 'TURN relay over {protocol}',
  path_relay: 'server relay requested',
  why_direct_timeout: 'no direct connection within {s} s',
  why_direct_failed: 'direct connection blocked by the network',
  why_direct_skipped: 'no direct path on this network',
  why_turn_timeout: 'TURN relay did not connect within {s} s',
  why_turn_failed: 'TURN relay unreachable',
  why_no_turn: 'no TURN server configured',
  connected_in: 'connected in {ms} ms',
  state_closed: 'The broadcast has ended',
  reason_ended: 'The broadcaster ended the broadcast.',
  reason_broadcaster_timeout: 'The broadcaster did not come back; the room is closed.',
  reason_server_shutdown: 'The server is restarting; the room is closed.',
  reconnecting: 'Lost the connection to the server; reconnecting…',
  server_unreachable: 'Cannot reach the server. Check your network and try again.',
  err_room_not_found: 'No such room: {code} does not exist or the broadcast has ended.',
  err_invalid_room_id: 'A room code is six digits. Please check it and try again.',
  err_room_full: 'This room is full.',
  err_not_allowed: 'That is not allowed.',
  err_generic: 'Something went wrong: {message}',
  err_rate_limited: 'Too many tries. Please wait a minute and try again.',
  err_password_required: 'This room needs a password.',
  err_wrong_password: 'Wrong password. Please try again.',
  room_password: 'Room password (optional)',
  password: 'Password',
  private_room: 'Private (not shown in the list of live rooms)',
  remove_viewer: 'Remove',
  reason_removed: 'The broadcaster removed you from the room.',
  cam_denied: 'Camera access was refused. Allow the camera in the address bar and try again.',
  cam_no_device: 'No camera was found. Connect one and try again.',
  cam_busy: 'The camera is in use by another program. Close it and try again.',
  cam_insecure: 'Browsers allow the camera only on HTTPS or localhost. Open this page with an https:// address.',
  cam_unknown: 'Could not open the camera: {message}',
  latency: 'Latency',
  via_server: 'through the server',
  relay_unsupported: 'This browser cannot watch through the server relay (it needs WebCodecs). Try a recent Chrome or Edge.',
  network_test: '🩺 Network test',
  net_intro: 'Checks whether this device reaches the signalling server, STUN and the TURN relays.',
  net_rerun: 'Run again',
  net_running: 'testing…',
  net_signalling: 'Signalling server (WebSocket)',
  net_stun: 'STUN {url}',
  net_turn: 'TURN over {transport}: {url}',
  net_ok_signalling: 'reachable, round trip {ms} ms',
  net_ok_stun: 'works: your public address is {address} ({ms} ms)',
  net_ok_turn: 'works: relay address {address} ({ms} ms)',
  net_fail_auth: 'does not work: the server refused the credentials ({code})',
  net_fail_unreachable: 'does not work: no answer within {ms} ms (blocked by the network, or the server is down)',
  net_fail_other: 'does not work: error {code}',
  net_fail_tls: 'does not work: the TLS connection failed (a certificate the browser does not trust, or the port is closed)',
  net_fail_signalling: 'cannot reach the signalling server',
  net_none_stun: 'no STUN server configured',
  net_none_turn: 'no TURN server configured',
  net_summary_no_server: 'The server cannot be reached, so nothing else can be tested. Check the network.',
  net_summary_turn: 'Viewers on any network can connect: the TURN relay works ({transports}).',
  net_summary_direct_only: 'Direct connections should work, but with no working TURN relay, viewers behind strict firewalls may not connect.',
  net_summary_lan_only: 'Neither STUN nor TURN works: only connections within the same local network will succeed.',
  abr_level: 'Adaptive quality',
  abr_level_value: '{height}p, up to {kbps} kbit/s (level {n} of {count})',
  abr_reason_loss: 'lowered for packet loss',
  abr_reason_rtt: 'lowered for rising delay',
  abr_reason_bandwidth: 'lowered: not enough bandwidth',
  abr_reason_recovered: 'raised again: the network is clean',
  abr_reason_preset: 'quality preset changed',
  language: '中文',
};

export type Lang = 'zh' | 'en';
const dictionaries: Record<Lang, Record<MessageKey, string>> = { zh, en };
const STORAGE_KEY = 'liveroom.lang';

function initialLang(): Lang {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'zh' || saved === 'en') return saved;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

let lang: Lang = initialLang();

export function currentLang(): Lang {
  return lang;
}

export type Params = Record<string, string | number>;

export function t(key: MessageKey, params: Params = {}): string {
  return dictionaries[lang][key].replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? ''));
}

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(zh, key);
}

/** Set an element's text to a translated message, and keep it translated when the language changes. */
export function translate<E extends HTMLElement>(el: E, key: MessageKey, params: Params = {}): E {
  el.dataset.i18n = key;
  el.dataset.i18nParams = JSON.stringify(params);
  el.textContent = t(key, params);
  return el;
}

export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  document.title = t('app_title');
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) {
    const key = el.dataset.i18n!;
    if (isMessageKey(key)) el.textContent = t(key, JSON.parse(el.dataset.i18nParams ?? '{}') as Params);
  }
  for (const el of document.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]')) {
    const key = el.dataset.i18nPlaceholder!;
    if (isMessageKey(key)) el.placeholder = t(key);
  }
}
