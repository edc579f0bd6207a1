// The viewer's page: a code to type (or one from the link), then the live
// picture with its connection, bitrate and the room's viewer count.
import { ChatClient } from '../chat/chat.js';
import { chooseName, chosenName, joinName, viewerNumber } from '../chat/names.js';
import { parseCodecList } from '../rtc/codecs.js';
import { t, translate, type MessageKey } from './i18n.js';
import type { Sample } from '../rtc/stats-sampler.js';
import { SignallingClient } from '../signalling/client.js';
import type { RoomClosedReason } from '../../protocol/messages.js';
import { ViewSession, type LadderStatus, type QualityLevel, type ViewErrorCode, type ViewState } from '../watch/session.js';
import { formatBitrate, h, orDash, show } from './dom.js';
import { describeServerError, showError } from './errors.js';
import { describeLadder } from './path-words.js';
import { ChatPanel } from './chat-panel.js';
import { playerControls } from './player-controls.js';
import { acceptRoomCodes } from './room-code.js';
import { speedSource, StatsPanel } from './stats-panel.js';

/** Why watching ended, for the reasons a viewer is sent (`taken_over` goes only to a broadcaster). */
const ENDED: Record<Exclude<RoomClosedReason, 'taken_over'> | 'removed', MessageKey> = {
  ended: 'reason_ended',
  broadcaster_timeout: 'reason_broadcaster_timeout',
  removed: 'reason_removed',
};

const ERRORS: Record<ViewErrorCode, MessageKey> = {
  relay_unsupported: 'relay_unsupported',
  relay_unavailable: 'relay_unavailable',
  no_common_codec: 'no_common_codec',
};

/**
 * `?via=relay` watches through the server relay from the start; `?codecs=vp8,h264`
 * decodes only those codecs over RTP (to try the broadcaster's codec choice).
 */
export function renderWatchPage(root: HTMLElement, initialCode: string | null, params: URLSearchParams): () => void {
  const signalling = new SignallingClient();
  const chat = new ChatClient(signalling);
  let session: ViewSession | null = null;

  const input = h('input', {
    testid: 'room-input',
    class: 'code-input',
    attrs: { id: 'room-input', inputmode: 'numeric', autocomplete: 'off', 'data-i18n-placeholder': 'enter_code' },
  });
  input.placeholder = t('enter_code');
  acceptRoomCodes(input);
  const nameInput = h('input', { testid: 'display-name', attrs: { id: 'display-name', maxlength: '32', autocomplete: 'nickname' } });
  nameInput.value = chosenName() ?? '';
  const joinButton = h('button', { testid: 'join', class: 'primary big', text: 'join' });
  // Shown only once the server says the room needs a password.
  const passwordInput = h('input', {
    testid: 'join-password',
    class: 'code-input',
    attrs: { type: 'password', autocomplete: 'current-password', maxlength: '128', 'data-i18n-placeholder': 'password' },
  });
  passwordInput.placeholder = t('password');
  show(passwordInput, false);
  const passwordLabel = h('label', { class: 'visually-hidden', attrs: { for: 'join-password' }, text: 'password' });
  passwordInput.id = 'join-password';
  show(passwordLabel, false);
  const form = h(
    'form',
    { class: 'card join-form', attrs: { novalidate: '' } },
    h('label', { class: 'visually-hidden', attrs: { for: 'room-input' }, text: 'room_code_input' }),
    input,
    passwordLabel,
    passwordInput,
    joinButton,
    h('label', { class: 'name-field', attrs: { for: 'display-name' } }, h('span', { text: 'display_name' })),
    nameInput,
  );
  // The default name, in the page's language as it changes.
  nameInput.dataset.i18nPlaceholder = 'viewer_default';
  nameInput.dataset.i18nParams = JSON.stringify({ n: viewerNumber() });
  nameInput.placeholder = t('viewer_default', { n: viewerNumber() });
  const error = h('p', { testid: 'error-message', class: 'error', attrs: { role: 'alert' } });
  show(error, false);

  const video = h('video', { testid: 'remote-video', class: 'video', attrs: { autoplay: '', playsinline: '' } });
  video.muted = true;
  // What shows the picture: the video element (P2P), or the relay player's canvas.
  let screen: HTMLVideoElement | HTMLCanvasElement = video;
  const showScreen = (el: HTMLVideoElement | HTMLCanvasElement) => {
    if (el === screen) return;
    el.dataset.testid = 'remote-video';
    el.classList.add('video');
    screen.replaceWith(el);
    screen = el;
  };
  const unmute = h('button', { testid: 'unmute', class: 'unmute', attrs: { type: 'button' }, text: 'unmute' });
  const status = h('div', { testid: 'player-status', class: 'player-status', attrs: { 'aria-live': 'polite' } });
  const viewerCount = h('span', { testid: 'viewer-count', class: 'figure' }, '0');
  const chatPanel = new ChatPanel(chat);
  const bitrate = h('span', { testid: 'bitrate', class: 'figure' }, '0');
  const connectionType = h('span', { testid: 'connection-type', class: 'figure' }, '—');
  const pathWords = h('span', { testid: 'connection-path', class: 'path-words', attrs: { 'aria-live': 'polite' } });
  // The broadcaster's adaptive bitrate for this viewer's link (P2P and TURN paths; the relay has one stream for all).
  const levelValue = h('span', {}, '—');
  const levelReason = h('span', {});
  const qualityLevel = h('span', { testid: 'quality-level', class: 'path-words' }, levelValue, levelReason);
  const roomLabel = h('span', { class: 'room-label' });
  const leaveButton = h('button', { text: 'leave' });
  const panel = new StatsPanel([
    { key: 'network_speed' },
    { key: 'resolution' },
    { key: 'fps' },
    { key: 'codec' },
    { key: 'rtt' },
    { key: 'loss' },
    { key: 'jitter' },
    { key: 'freezes' },
    { key: 'latency' },
  ]);
  const box = h('div', { class: 'player' }, video, status, unmute);
  const controls = playerControls(box, () => screen);
  box.append(controls.element);
  const player = h(
    'section',
    { class: 'watch' },
    box,
    h(
      'div',
      { class: 'watch-info' },
      h(
        'div',
        { class: 'figures' },
        h('div', {}, h('small', { text: 'room_code' }), roomLabel),
        // Read out when it changes (the summary repeats the same number every second).
        h('div', { attrs: { 'aria-live': 'polite', 'aria-atomic': 'true' } }, h('small', { text: 'viewer_count' }), ' ', viewerCount),
        h('div', {}, h('small', {}, h('span', { text: 'bitrate' }), ' kbit/s'), bitrate),
        h('div', {}, h('small', { text: 'connection_type' }), connectionType),
        leaveButton,
      ),
      h('p', {}, h('small', { text: 'path_label' }), ' ', pathWords),
      h('p', {}, h('small', { text: 'abr_level' }), ' ', qualityLevel),
      panel.element,
    ),
    chatPanel.element,
  );
  show(player, false);

  root.replaceChildren(h('a', { class: 'back', attrs: { href: '#/' }, text: 'back' }), h('h1', { text: 'heading_watch' }), form, error, player);

  const setStatus = (key: MessageKey | null) => {
    if (key) translate(status, key);
    show(status, key !== null);
  };

  const relayLabel = () => `relay · ${t('via_server')}`;
  let ladder: LadderStatus | null = null;
  let path: Sample['path'] = null;
  const renderPath = () => {
    if (!ladder) return;
    pathWords.textContent = describeLadder(ladder, path);
    pathWords.dataset.rung = ladder.rung;
    pathWords.dataset.history = JSON.stringify(ladder.history);
    // On the relay rung with no peer path the picture is to come from the server.
    if (ladder.rung === 'relay' && !ladder.connected) connectionType.textContent = 'relay';
  };

  function onState(state: ViewState): void {
    setStatus(state === 'playing' ? null : (`state_${state}` as MessageKey));
    if (state === 'relay') showError(error, t('state_relay'));
  }

  function onStats(s: Sample): void {
    bitrate.textContent = String(s.bitrate);
    connectionType.textContent = !s.path
      ? '—'
      : s.path.type === 'relay'
        ? relayLabel()
        : `${s.path.type} · ${s.path.localCandidate} ↔ ${s.path.remoteCandidate} (${s.path.turnProtocol ?? s.path.protocol})`;
    path = s.path;
    renderPath();
    // The SFU is no rung of the ladder: the server sent this viewer there.
    if (s.path?.type === 'sfu') translate(pathWords, 'path_sfu');
    panel.set('network_speed', formatBitrate(s.availableBitrate));
    panel.explain('network_speed', speedSource(s));
    panel.set('resolution', s.width && s.height ? `${s.width}×${s.height}` : '—');
    panel.set('fps', orDash(s.fps === undefined ? undefined : Math.round(s.fps)));
    panel.set('codec', orDash(s.codec));
    panel.set('rtt', orDash(s.rtt, ' ms'));
    panel.set('loss', orDash(s.loss, ' %'));
    panel.set('jitter', orDash(s.jitter, ' ms'));
    panel.set('freezes', orDash(s.freezes));
    panel.set('latency', s.latency !== undefined && s.latencyEstimated ? t('latency_estimate', { ms: s.latency }) : orDash(s.latency, ' ms'));
    panel.plot({ bitrate: s.bitrate, network: s.availableBitrate, fps: s.fps, rtt: s.rtt });
  }

  function onQuality(q: QualityLevel): void {
    qualityLevel.dataset.level = String(q.level);
    qualityLevel.dataset.height = String(q.height);
    qualityLevel.dataset.maxBitrate = String(q.max_bitrate);
    qualityLevel.dataset.reason = q.reason ?? '';
    translate(levelValue, 'abr_level_value', { height: q.height, kbps: q.max_bitrate, n: q.levels - q.level, count: q.levels });
    if (q.reason && q.reason !== 'start') {
      levelReason.textContent = ' · ';
      levelReason.append(translate(h('span', {}), `abr_reason_${q.reason}`));
    } else {
      levelReason.replaceChildren();
    }
  }

  async function join(code: string, password?: string): Promise<void> {
    if (!/^\d{6}$/.test(code)) {
      showError(error, t('err_invalid_room_id'));
      return;
    }
    session?.leave();
    const jb = params.get('jb');
    const s = new ViewSession(signalling, {
      forceRelay: params.get('via') === 'relay',
      forceTurn: params.get('via') === 'turn',
      codecs: parseCodecList(params.get('codecs')),
      ...(jb === 'none' ? { jitterBufferTargetMs: null } : jb !== null && Number.isFinite(Number(jb)) ? { jitterBufferTargetMs: Number(jb) } : {}),
      name: joinName(),
    });
    session = s;
    s.setMuted(video.muted);
    s.on('state', onState);
    s.on('stream', (stream) => {
      showScreen(video);
      if (video.srcObject !== stream) video.srcObject = stream;
      void video.play().catch(() => undefined);
    });
    s.on('picture', (canvas) => {
      showScreen(canvas);
      video.srcObject = null;
      // The relay's first frame is on screen: say so now, not at the next stats sample.
      connectionType.textContent = relayLabel();
    });
    s.on('stats', onStats);
    s.on('quality', onQuality);
    s.on('ladder', (status) => {
      ladder = status;
      if (status.connected) show(error, false);
      renderPath();
    });
    s.on('summary', (m) => {
      viewerCount.textContent = String(m.viewer_count);
    });
    s.on('connection', (state) => {
      if (state === 'reconnecting') showError(error, t('reconnecting'));
      else show(error, false);
    });
    s.on('error', (e) => showError(error, e.code in ERRORS ? t(ERRORS[e.code as ViewErrorCode]) : t('err_generic', { message: e.message })));
    s.on('closed', ({ reason }) => {
      showError(error, t(reason in ENDED ? ENDED[reason as keyof typeof ENDED] : 'state_closed'));
      video.srcObject = null;
      showScreen(video);
    });
    joinButton.disabled = true;
    translate(joinButton, 'joining');
    try {
      await s.join(code, password);
      show(error, false);
      show(form, false);
      show(player, true);
      roomLabel.textContent = code;
      onState(s.state);
      const query = params.toString();
      history.replaceState(null, '', `#/watch/${code}${query ? `?${query}` : ''}`);
    } catch (err) {
      const e = err as Error & { code?: string };
      showError(error, e.code ? describeServerError(e.code, e.message, code) : t('server_unreachable'));
      if (e.code === 'password_required' || e.code === 'wrong_password') {
        show(passwordInput, true);
        show(passwordLabel, true);
        passwordInput.value = '';
        passwordInput.focus();
      }
      session = null;
    } finally {
      joinButton.disabled = false;
      translate(joinButton, 'join');
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    chooseName(nameInput.value);
    void join(input.value.trim(), passwordInput.hidden ? undefined : passwordInput.value || undefined);
  });
  unmute.addEventListener('click', () => {
    video.muted = !video.muted;
    session?.setMuted(video.muted);
    translate(unmute, video.muted ? 'unmute' : 'mute');
    void video.play().catch(() => undefined);
  });
  leaveButton.addEventListener('click', () => {
    session?.leave();
    location.hash = '#/';
  });

  // Open the signalling socket now, not on Enter: the join then costs one
  // round trip instead of a WebSocket handshake plus one. A failure here is
  // reported by the join itself.
  signalling.connect().catch(() => undefined);

  if (initialCode) {
    input.value = initialCode;
    void join(initialCode);
  } else {
    input.focus();
  }

  return () => {
    session?.leave();
    chatPanel.dispose();
    chat.dispose();
    controls.dispose();
    signalling.close();
  };
}
