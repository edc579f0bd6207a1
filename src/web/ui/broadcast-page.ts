// The broadcaster's page: preview, device and quality choice, then the room
// code, the share link, live statistics and the viewers' connections.
import { ChatClient } from '../chat/chat.js';
import { BroadcastSession, type BroadcastEndReason, type BroadcastErrorCode, type RoomCredentials } from '../broadcast/session.js';
import type { BroadcastStats, ViewerInfo } from '../broadcast/stats.js';
import type { Overflow, Topology } from '../broadcast/topology.js';
import { parseCodecList, VIDEO_CODEC_ORDER } from '../rtc/codecs.js';
import { t, translate, type MessageKey } from './i18n.js';
import { classifyMediaError, isQuality, listDevices, QUALITIES, type Quality } from '../broadcast/media.js';
import { SignallingClient } from '../signalling/client.js';
import { formatBitrate, h, orDash, show } from './dom.js';
import { showError, describeServerError } from './errors.js';
import { broadcastTools } from './broadcast-tools.js';
import { ChatPanel } from './chat-panel.js';
import { speedSource, StatsPanel } from './stats-panel.js';

const STORAGE_KEY = 'liveroom.broadcast';

const ENDED: Record<BroadcastEndReason, MessageKey> = {
  ended: 'broadcast_ended',
  broadcaster_timeout: 'reason_broadcaster_timeout',
  taken_over: 'reason_taken_over',
};

/** What the person broadcasting is told; null: for the console only (a relay encoder hiccup retries by itself). */
const ERRORS: Record<BroadcastErrorCode, MessageKey | null> = {
  relay_publish_unsupported: 'relay_publish_unsupported',
  relay_publish_failed: null,
  sfu_unavailable: 'sfu_unavailable',
  camera_back_failed: 'cam_unknown',
};

interface Saved extends RoomCredentials {
  quality: Quality;
  cameraId?: string;
  /** Kept for this tab only, so a reclaim after a server restart restores the room's password. */
  password?: string;
  private?: boolean;
}

function loadSaved(): Saved | null {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Saved | null;
    return saved && /^\d{6}$/.test(saved.roomId) && typeof saved.token === 'string' && isQuality(saved.quality) ? saved : null;
  } catch {
    return null;
  }
}

function topologyFrom(params: URLSearchParams): { topology?: Topology; overflow?: Overflow; maxP2P?: number } {
  const topology = params.get('topology');
  const overflow = params.get('overflow');
  const cap = Number(params.get('p2p'));
  return {
    ...(topology === 'auto' || topology === 'p2p' || topology === 'sfu' || topology === 'relay' ? { topology } : {}),
    ...(overflow === 'sfu' || overflow === 'relay' ? { overflow } : {}),
    ...(params.has('p2p') && Number.isInteger(cap) && cap >= 0 ? { maxP2P: cap } : {}),
  };
}

/**
 * `?topology=auto|p2p|sfu|relay` chooses how viewers are served; `?p2p=N` caps
 * the P2P viewers and `?overflow=sfu|relay` says where the rest go; `?codec=vp8`
 * caps the codec (the codec menu does the same).
 */
export function renderBroadcastPage(root: HTMLElement, params: URLSearchParams): () => void {
  const signalling = new SignallingClient();
  const saved = loadSaved();
  let session: BroadcastSession | null = null;

  const preview = h('video', { testid: 'local-video', class: 'video', attrs: { autoplay: '', playsinline: '' } });
  preview.muted = true;
  // Each control sits inside its <label>, which names it in the page's language.
  const cameraSelect = h('select', { testid: 'camera-select' });
  const micSelect = h('select', { testid: 'microphone-select' });
  const qualitySelect = h('select', { testid: 'quality-select' });
  for (const q of QUALITIES) qualitySelect.append(h('option', { attrs: { value: q } }, q));
  qualitySelect.value = saved?.quality ?? '720p';
  const codecSelect = h('select', { testid: 'codec-select' });
  codecSelect.append(translate(h('option', { attrs: { value: '' } }), 'codec_auto'));
  for (const c of VIDEO_CODEC_ORDER) codecSelect.append(h('option', { attrs: { value: c } }, c === 'H264' ? 'H.264' : c));
  codecSelect.value = parseCodecList(params.get('codec'))?.[0] ?? '';
  const goLive = h('button', { testid: 'go-live', class: 'primary big', text: 'go_live' });
  const passwordInput = h('input', {
    testid: 'room-password',
    attrs: { type: 'password', autocomplete: 'new-password', maxlength: '128' },
  });
  passwordInput.value = saved?.password ?? '';
  const privateBox = h('input', { testid: 'private-room', attrs: { type: 'checkbox' } });
  privateBox.checked = saved?.private ?? false;
  const error = h('p', { testid: 'error-message', class: 'error', attrs: { role: 'alert' } });
  show(error, false);

  const roomCode = h('div', { testid: 'room-code', class: 'room-code', attrs: { 'aria-live': 'polite' } });
  const shareLink = h('input', { testid: 'share-link', class: 'share-link', attrs: { id: 'share-link', readonly: '' } });
  const copyButton = h('button', { attrs: { type: 'button' }, text: 'copy' });
  const endButton = h('button', { testid: 'end-broadcast', class: 'danger', text: 'end_broadcast' });
  const viewerCount = h('span', { testid: 'viewer-count', class: 'figure' }, '0');
  const bitrate = h('span', { testid: 'bitrate', class: 'figure' }, '0');
  const connectionType = h('span', { testid: 'connection-type', class: 'figure' }, '—');
  const viewersBody = h('tbody');
  const noViewers = h('p', { class: 'muted', text: 'no_viewers_yet' });
  const viewersTable = h(
    'table',
    { class: 'viewers', testid: 'viewers-table' },
    h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', { text: 'path' }), h('th', { text: 'codec' }), h('th', { text: 'bitrate' }), h('th', { text: 'abr_level' }), h('th', { text: 'rtt' }), h('th', { text: 'loss' }), h('th', {}, h('span', { class: 'visually-hidden', text: 'actions' })))),
    viewersBody,
  );
  const panel = new StatsPanel(
    [
      { key: 'upload' },
      { key: 'network_speed' },
      { key: 'resolution' },
      { key: 'fps' },
      { key: 'codec' },
      { key: 'codec_ceiling' },
      { key: 'limited_by' },
      { key: 'rtt' },
      { key: 'loss' },
    ],
    h('section', {}, h('h3', { text: 'viewers_table' }), noViewers, viewersTable),
  );

  const livePanel = h(
    'section',
    { class: 'card live-card' },
    h('div', { class: 'live-badge' }, '● LIVE'),
    h('p', { class: 'field-label', text: 'room_code' }),
    roomCode,
    h('label', { class: 'field-label', attrs: { for: 'share-link' }, text: 'share_link' }),
    h('div', { class: 'row' }, shareLink, copyButton),
    h(
      'div',
      { class: 'figures' },
      // Read out when it changes (the summary repeats the same number every second).
      h('div', { attrs: { 'aria-live': 'polite', 'aria-atomic': 'true' } }, h('small', { text: 'viewer_count' }), ' ', viewerCount),
      h('div', {}, h('small', {}, h('span', { text: 'bitrate' }), ' kbit/s'), bitrate),
      h('div', {}, h('small', { text: 'connection_type' }), connectionType),
    ),
    endButton,
  );
  show(livePanel, false);
  show(panel.element, false);
  const chat = new ChatClient(signalling);
  const chatPanel = new ChatPanel(chat, { moderate: { removeViewer: (id) => session?.removeViewerFromRoom(id) } });
  show(chatPanel.element, false);

  const setup = h(
    'section',
    { class: 'card setup' },
    h('label', {}, h('span', { text: 'camera' }), cameraSelect),
    h('label', {}, h('span', { text: 'microphone' }), micSelect),
    h('label', {}, h('span', { text: 'quality' }), qualitySelect),
    h('label', {}, h('span', { text: 'codec_choice' }), codecSelect),
    h('label', {}, h('span', { text: 'room_password' }), passwordInput),
    h('label', { class: 'check' }, privateBox, h('span', { text: 'private_room' })),
    goLive,
    h('a', { testid: 'whip-mode', class: 'whip-mode', attrs: { href: '#/broadcast/obs' }, text: 'whip_mode' }),
  );

  const fail = (message: string) => showError(error, message);
  const tools = broadcastTools(() => session, () => roomCode.textContent || 'preview', fail);

  root.replaceChildren(
    h('a', { class: 'back', attrs: { href: '#/' }, text: 'back' }),
    h('h1', { text: 'heading_broadcast' }),
    h(
      'div',
      { class: 'stage' },
      h('div', { class: 'broadcast-main' }, h('div', { class: 'player' }, preview), tools.element),
      h('div', { class: 'side' }, setup, livePanel, chatPanel.element),
    ),
    error,
    panel.element,
  );

  function mediaErrorText(err: unknown): string {
    const kind = classifyMediaError(err);
    return t(`cam_${kind}`, { message: (err as Error)?.message ?? String(err) });
  }

  async function fillDevices(): Promise<void> {
    const { cameras, microphones } = await listDevices();
    const current = session?.videoTrack?.getSettings().deviceId;
    cameraSelect.replaceChildren(...cameras.map((c, i) => h('option', { attrs: { value: c.deviceId } }, c.label || `${t('camera')} ${i + 1}`)));
    if (current) cameraSelect.value = current;
    const mic = session?.stream?.getAudioTracks()[0]?.getSettings().deviceId;
    micSelect.replaceChildren(
      ...microphones.map((m, i) => h('option', { attrs: { value: m.deviceId } }, m.label || `${t('microphone')} ${i + 1}`)),
      translate(h('option', { attrs: { value: '' } }), 'no_microphone'),
    );
    micSelect.value = mic ?? '';
  }

  async function openPreview(): Promise<void> {
    const quality = qualitySelect.value as Quality;
    session = new BroadcastSession(signalling, {
      quality,
      ...topologyFrom(params),
      codec: parseCodecList(codecSelect.value)?.[0] ?? null,
      ...(saved?.cameraId ? { cameraId: saved.cameraId } : {}),
      ...(saved ? { resume: saved } : {}),
    });
    session.on('preview', (stream) => {
      // The same stream comes again after a device or size change, its tracks swapped in place:
      // assigning it again would reload the element and blank the preview for a moment.
      if (preview.srcObject !== stream) preview.srcObject = stream;
      tools.tracksChanged();
    });
    session.on('sharing', (state) => tools.sharing(state));
    wireSession(session);
    try {
      await session.startPreview();
      show(error, false);
    } catch (err) {
      fail(mediaErrorText(err));
      goLive.disabled = false;
      return;
    }
    await fillDevices();
  }

  function wireSession(s: BroadcastSession): void {
    s.on('live', (room) => {
      const link = `${location.origin}${location.pathname}#/watch/${room.roomId}`;
      roomCode.textContent = room.roomId;
      shareLink.value = link;
      sessionStorage.setItem(
        STORAGE_KEY,
        JSON.stringify({
          ...room,
          quality: s.quality,
          cameraId: cameraSelect.value || undefined,
          password: passwordInput.value || undefined,
          private: privateBox.checked || undefined,
        } satisfies Saved),
      );
      show(livePanel, true);
      show(panel.element, true);
      show(chatPanel.element, true);
      show(goLive, false);
    });
    s.on('summary', (m) => {
      viewerCount.textContent = String(m.viewer_count);
    });
    s.on('stats', (stats) => renderStats(stats));
    s.on('error', (e) => {
      const key = ERRORS[e.code];
      if (key) fail(t(key, { message: e.message }));
    });
    s.on('viewers', (viewers) => renderViewers(viewers));
    s.on('connection', (state) => {
      if (state === 'reconnecting') fail(t('reconnecting'));
      else show(error, false);
    });
    s.on('ended', ({ reason }) => {
      sessionStorage.removeItem(STORAGE_KEY);
      show(livePanel, false);
      show(chatPanel.element, false);
      roomCode.textContent = '';
      fail(t(ENDED[reason]));
    });
  }

  function renderStats(stats: BroadcastStats): void {
    bitrate.textContent = String(stats.bitrate);
    panel.set('upload', formatBitrate(stats.upload));
    panel.set('network_speed', formatBitrate(stats.availableBitrate));
    panel.explain('network_speed', speedSource(stats));
    panel.set('resolution', stats.width && stats.height ? `${stats.width}×${stats.height}` : '—');
    panel.set('fps', orDash(stats.fps === undefined ? undefined : Math.round(stats.fps)));
    panel.set('codec', orDash(stats.codec));
    const ceiling = stats.codecCeiling;
    panel.set('codec_ceiling', ceiling ? t(ceiling.reason === 'cpu' ? 'codec_by_cpu' : 'codec_by_user', { codec: ceiling.codec }) : '—');
    panel.set('limited_by', orDash(stats.qualityLimitation));
    const rtts = stats.viewers.map((v) => v.rtt).filter((v): v is number => v !== undefined);
    const losses = stats.viewers.map((v) => v.loss).filter((v): v is number => v !== undefined);
    // Worst viewer: the one a broadcaster most needs to see.
    panel.set('rtt', rtts.length ? `${Math.max(...rtts)} ms` : '—');
    panel.set('loss', losses.length ? `${Math.max(...losses)} %` : '—');
    panel.plot({ bitrate: stats.bitrate, network: stats.availableBitrate, fps: stats.fps, rtt: rtts.length ? Math.max(...rtts) : undefined });
  }

  /** p2p (host/udp), turn (relay/tcp); while not connected, the ladder rung the viewer is trying. */
  function viewerPath(v: ViewerInfo): string {
    const connected = v.state === 'connected';
    if (v.path && connected) {
      const transport = v.path.type === 'turn' ? (v.path.turnProtocol ?? v.path.protocol) : v.path.protocol;
      return `${v.path.type} (${v.path.localCandidate}/${transport})`;
    }
    if (v.rung === 'relay') return `relay · ${t('path_relay')}`;
    return v.rung === 'turn' ? `turn · ${t('path_trying_turn')}` : v.state;
  }

  function renderViewers(viewers: ViewerInfo[]): void {
    const counts = new Map<string, number>();
    for (const v of viewers) if (v.path) counts.set(v.path.type, (counts.get(v.path.type) ?? 0) + 1);
    connectionType.textContent = counts.size ? [...counts].map(([type, n]) => `${type} ×${n}`).join(', ') : '—';
    show(noViewers, viewers.length === 0);
    show(viewersTable, viewers.length > 0);
    viewersBody.replaceChildren(
      ...viewers.map((v, i) =>
        h(
          'tr',
          {},
          h('td', {}, String(i + 1)),
          h('td', { testid: 'viewer-path' }, viewerPath(v)),
          h('td', { testid: 'viewer-codec' }, orDash(v.codec ?? v.plannedCodec)),
          h('td', {}, formatBitrate(v.bitrate)),
          h('td', { testid: 'viewer-level' }, v.level ? `${v.level.height}p · ≤ ${formatBitrate(v.level.maxBitrate / 1000)}` : '—'),
          h('td', {}, orDash(v.rtt, ' ms')),
          h('td', {}, orDash(v.loss, ' %')),
          h(
            'td',
            {},
            h('button', { class: 'small', testid: 'remove-viewer', text: 'remove_viewer', on: { click: () => session?.removeViewerFromRoom(v.id) } }),
          ),
        ),
      ),
    );
  }

  goLive.addEventListener('click', () => void startLive());

  async function startLive(): Promise<void> {
    if (!session) return;
    session.setRoomOptions({ password: passwordInput.value || undefined, private: privateBox.checked });
    passwordInput.disabled = true;
    privateBox.disabled = true;
    goLive.disabled = true;
    translate(goLive, 'going_live');
    try {
      await session.goLive();
      show(error, false);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code && saved) sessionStorage.removeItem(STORAGE_KEY);
      fail(code ? describeServerError(code, (err as Error).message) : t('server_unreachable'));
      goLive.disabled = false;
      passwordInput.disabled = false;
      privateBox.disabled = false;
      translate(goLive, 'go_live');
    }
  }

  cameraSelect.addEventListener('change', () => {
    session?.switchCamera(cameraSelect.value).catch((err: unknown) => fail(mediaErrorText(err)));
  });
  micSelect.addEventListener('change', () => {
    session?.switchMicrophone(micSelect.value || null).catch((err: unknown) => fail(mediaErrorText(err)));
  });
  codecSelect.addEventListener('change', () => {
    session?.setCodecCeiling(parseCodecList(codecSelect.value)?.[0] ?? null);
  });
  qualitySelect.addEventListener('change', () => {
    const q = qualitySelect.value;
    if (isQuality(q)) session?.setQuality(q).catch((err: unknown) => fail(String(err)));
  });
  copyButton.addEventListener('click', () => {
    void navigator.clipboard?.writeText(shareLink.value).then(() => translate(copyButton, 'copied'));
    shareLink.select();
  });
  endButton.addEventListener('click', () => session?.end());

  void openPreview().then(() => {
    // After a reload, take the room back at once: viewers are waiting.
    if (saved && session?.stream) void startLive();
  });

  return () => {
    if (session?.room) session.end();
    tools.dispose();
    chatPanel.dispose();
    chat.dispose();
    signalling.close();
  };
}
