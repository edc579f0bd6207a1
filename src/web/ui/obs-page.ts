// Broadcasting from OBS (or any WHIP software): the page opens a room and
// shows the WHIP URL and token to paste into the software, waits for its
// stream, then shows the room code, the share link, a preview as viewers get
// it, the viewer count and the bitrate. Closing the page leaves the room
// running as long as the software streams; End broadcast ends both.
import { ChatClient } from '../chat/chat.js';
import type { BroadcastEndReason, RoomCredentials } from '../broadcast/session.js';
import { WhipRoom } from '../broadcast/whip-room.js';
import { SignallingClient } from '../signalling/client.js';
import { ChatPanel } from './chat-panel.js';
import { formatBitrate, h, orDash, show } from './dom.js';
import { describeServerError, showError } from './errors.js';
import { t, translate, type MessageKey } from './i18n.js';

const STORAGE_KEY = 'liveroom.obs';

const ENDED: Record<BroadcastEndReason, MessageKey> = {
  ended: 'broadcast_ended',
  broadcaster_timeout: 'reason_broadcaster_timeout',
  taken_over: 'reason_taken_over',
};

function loadSaved(): RoomCredentials | null {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as RoomCredentials | null;
    return saved && /^\d{6}$/.test(saved.roomId) && typeof saved.token === 'string' ? saved : null;
  } catch {
    return null;
  }
}

/** A read-only field with a copy button; the copy is the field's whole value. */
function copyField(testid: string, label: MessageKey, secret = false): { row: HTMLElement; input: HTMLInputElement } {
  const input = h('input', { testid, class: 'share-link', attrs: { id: testid, readonly: '', ...(secret ? { type: 'password' } : {}) } });
  const copy = h('button', { attrs: { type: 'button' }, text: 'copy' });
  copy.addEventListener('click', () => {
    void navigator.clipboard?.writeText(input.value).then(() => translate(copy, 'copied'));
    input.select();
  });
  const reveal = secret ? h('button', { attrs: { type: 'button', 'aria-pressed': 'false' }, text: 'show' }) : null;
  reveal?.addEventListener('click', () => {
    const hidden = input.type === 'password';
    input.type = hidden ? 'text' : 'password';
    reveal.setAttribute('aria-pressed', String(hidden));
  });
  const row = h('div', {}, h('label', { class: 'field-label', attrs: { for: testid }, text: label }), h('div', { class: 'row' }, input, copy, reveal));
  return { row, input };
}

export function renderObsPage(root: HTMLElement): () => void {
  const signalling = new SignallingClient();
  const room = new WhipRoom(signalling, { ...(loadSaved() ? { resume: loadSaved()! } : {}) });

  const preview = h('video', { testid: 'local-video', class: 'video', attrs: { autoplay: '', playsinline: '' } });
  preview.muted = true;
  const url = copyField('whip-url', 'whip_url');
  const token = copyField('whip-token', 'whip_token', true);
  const status = h('p', { testid: 'whip-status', class: 'player-status', attrs: { 'aria-live': 'polite' }, text: 'obs_opening' });
  const roomCode = h('div', { testid: 'room-code', class: 'room-code' });
  const share = copyField('share-link', 'share_link');
  const viewerCount = h('span', { testid: 'viewer-count', class: 'figure' }, '0');
  const bitrate = h('span', { testid: 'bitrate', class: 'figure' }, '0');
  const resolution = h('span', { testid: 'obs-resolution', class: 'figure' }, '—');
  const endButton = h('button', { testid: 'end-broadcast', class: 'danger', text: 'end_broadcast' });
  const error = h('p', { testid: 'error-message', class: 'error', attrs: { role: 'alert' } });
  show(error, false);
  const chat = new ChatClient(signalling);
  const chatPanel = new ChatPanel(chat, { moderate: { removeViewer: (id) => signalling.send({ type: 'remove_viewer', viewer_id: id }) } });

  const steps = h(
    'section',
    { class: 'card setup' },
    h('h2', { text: 'obs_steps_title' }),
    h('ol', { class: 'steps' }, h('li', { text: 'obs_step_service' }), h('li', { text: 'obs_step_paste' }), h('li', { text: 'obs_step_encoder' }), h('li', { text: 'obs_step_start' })),
    url.row,
    token.row,
  );
  const livePanel = h(
    'section',
    { class: 'card live-card' },
    h('p', { class: 'field-label', text: 'room_code' }),
    roomCode,
    share.row,
    h(
      'div',
      { class: 'figures' },
      h('div', { attrs: { 'aria-live': 'polite', 'aria-atomic': 'true' } }, h('small', { text: 'viewer_count' }), ' ', viewerCount),
      h('div', {}, h('small', {}, h('span', { text: 'bitrate' }), ' kbit/s'), bitrate),
      h('div', {}, h('small', { text: 'resolution' }), resolution),
    ),
    endButton,
  );
  show(livePanel, false);

  root.replaceChildren(
    h('a', { class: 'back', attrs: { href: '#/broadcast' }, text: 'back' }),
    h('h1', { text: 'heading_obs' }),
    h('div', { class: 'stage' }, h('div', { class: 'broadcast-main' }, h('div', { class: 'player' }, preview, status)), h('div', { class: 'side' }, steps, livePanel, chatPanel.element)),
    error,
  );

  room.onEach({
    live: (credentials) => {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
      url.input.value = room.whipUrl;
      token.input.value = credentials.token;
      roomCode.textContent = credentials.roomId;
      share.input.value = `${location.origin}${location.pathname}#/watch/${credentials.roomId}`;
      translate(status, 'obs_waiting');
      show(livePanel, true);
    },
    feed: (live) => {
      translate(status, live ? 'obs_live' : 'obs_waiting');
      show(status, !live);
      if (!live) preview.srcObject = null;
    },
    preview: (stream) => {
      if (preview.srcObject !== stream) preview.srcObject = stream;
      void preview.play().catch(() => undefined);
    },
    stats: (s) => {
      bitrate.textContent = String(s.bitrate);
      resolution.textContent = s.width && s.height ? `${s.width}×${s.height}` : orDash(undefined);
      preview.title = `${s.codec ?? ''} ${formatBitrate(s.bitrate)}`;
    },
    summary: (m) => {
      viewerCount.textContent = String(m.viewer_count);
    },
    connection: (state) => (state === 'reconnecting' ? showError(error, t('reconnecting')) : show(error, false)),
    ended: ({ reason }) => {
      sessionStorage.removeItem(STORAGE_KEY);
      show(livePanel, false);
      preview.srcObject = null;
      showError(error, t(ENDED[reason]));
    },
  });
  endButton.addEventListener('click', () => room.end());
  room.open().catch((err: unknown) => {
    const code = (err as { code?: string }).code;
    if (code) sessionStorage.removeItem(STORAGE_KEY);
    showError(error, code ? describeServerError(code, (err as Error).message) : t('server_unreachable'));
  });

  // Closing the page leaves the room to the software's stream; navigating away within the app does too.
  return () => signalling.close();
}
