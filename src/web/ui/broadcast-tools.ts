// The broadcaster's screen-share and record buttons, under the preview. The
// sharing itself is BroadcastSession's (track swaps on every viewer link and
// the relay); recording is Recorder's. Where the browser cannot do either, the
// button is disabled and a sentence beside it says why.
import type { BroadcastSession } from '../broadcast/session.js';
import { Recorder, recordingMimeType } from '../broadcast/recorder.js';
import { screenShareSupported } from '../broadcast/screen-share.js';
import { h, show } from './dom.js';
import { t, translate } from './i18n.js';

export interface BroadcastTools {
  readonly element: HTMLElement;
  /** The session's outgoing tracks changed: the recording follows. */
  tracksChanged(): void;
  /** The session started or stopped sharing (a click here, or the browser's own "stop sharing"). */
  sharing(state: { screen: boolean; audio: boolean }): void;
  dispose(): void;
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

export function broadcastTools(session: () => BroadcastSession | null, roomLabel: () => string, fail: (message: string) => void): BroadcastTools {
  // The buttons say what a press does next (not aria-pressed, which with a changing label reads twice).
  const share = h('button', { testid: 'share-screen', attrs: { type: 'button' }, text: 'share_screen' });
  const shareState = h('span', { class: 'muted', testid: 'sharing-state', attrs: { 'aria-live': 'polite' } });
  const record = h('button', { testid: 'record', attrs: { type: 'button' }, text: 'record' });
  const timer = h('span', { class: 'recording-timer', testid: 'recording-timer' });
  const download = h('a', { class: 'button', testid: 'download-recording' });
  const saved = h('span', { class: 'muted', attrs: { 'aria-live': 'polite' } });
  const notes = h('p', { class: 'muted' });
  show(timer, false);
  show(download, false);

  if (!screenShareSupported()) {
    share.disabled = true;
    notes.append(translate(h('span', {}), 'screen_unsupported'), ' ');
  }
  const mimeType = recordingMimeType();
  if (mimeType === 'unsupported' || mimeType === 'no_webm') {
    record.disabled = true;
    notes.append(translate(h('span', { testid: 'record-unavailable' }), mimeType === 'unsupported' ? 'record_unsupported' : 'record_no_webm'));
  }

  share.addEventListener('click', () => {
    const s = session();
    if (!s) return;
    share.disabled = true;
    (s.sharingScreen ? s.stopSharing() : s.shareScreen())
      .catch((err: unknown) => fail(err instanceof DOMException && err.name === 'NotAllowedError' ? t('screen_refused') : t('cam_unknown', { message: String(err) })))
      .finally(() => (share.disabled = false));
  });

  let recorder: Recorder | null = null;
  let ticker: ReturnType<typeof setInterval> | null = null;
  let url: string | null = null;
  const tick = () => translate(timer, 'recording_for', { time: clock(recorder?.elapsedMs ?? 0) });

  function startRecording(): void {
    const stream = session()?.stream;
    if (!stream || typeof mimeType !== 'string' || mimeType === 'unsupported' || mimeType === 'no_webm') return;
    const r = new Recorder(stream, roomLabel());
    recorder = r;
    r.on('recorded', (rec) => {
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(rec.blob);
      download.href = url;
      download.download = rec.fileName;
      translate(download, 'download_recording');
      translate(saved, 'recording_saved', { size: megabytes(rec.blob.size) });
      show(download, true);
    });
    r.on('failed', ({ message }) => fail(t('record_failed', { message })));
    r.start(mimeType);
    translate(record, 'stop_recording');
    show(timer, true);
    tick();
    ticker = setInterval(tick, 500);
  }

  function stopRecording(): void {
    recorder?.stop();
    recorder = null;
    if (ticker) clearInterval(ticker);
    show(timer, false);
    translate(record, 'record');
  }

  record.addEventListener('click', () => (recorder ? stopRecording() : startRecording()));

  return {
    element: h('div', { class: 'broadcast-tools' }, share, shareState, record, timer, download, saved, notes),
    tracksChanged: () => recorder?.tracksChanged(),
    sharing({ screen, audio }) {
      translate(share, screen ? 'back_to_camera' : 'share_screen');
      if (screen) translate(shareState, audio ? 'sharing_with_audio' : 'sharing_screen');
      else {
        delete shareState.dataset.i18n;
        shareState.textContent = '';
      }
    },
    dispose() {
      recorder?.dispose();
      if (ticker) clearInterval(ticker);
      if (url) URL.revokeObjectURL(url);
    },
  };
}
