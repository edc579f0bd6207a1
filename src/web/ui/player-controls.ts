// Full screen and picture-in-picture for the viewer's player. Full screen is
// asked of the player box, not of the picture, so it works the same for the
// P2P <video> and the server relay's <canvas> (and keeps the unmute button).
// Picture-in-picture needs a <video>: for the relay's canvas, a hidden video
// plays the canvas's captureStream(). Where the browser has no
// requestPictureInPicture (Firefox before 153, which offers only its own
// button on videos), the button is not shown.
import { h, show } from './dom.js';
import { translate } from './i18n.js';

export interface PlayerControls {
  readonly element: HTMLElement;
  dispose(): void;
}

function pipSupported(): boolean {
  return typeof document !== 'undefined' && document.pictureInPictureEnabled === true && 'requestPictureInPicture' in HTMLVideoElement.prototype;
}

/** `box` is the player; `picture()` what shows the stream now (a video, or the relay's canvas). */
export function playerControls(box: HTMLElement, picture: () => HTMLVideoElement | HTMLCanvasElement): PlayerControls {
  const fullscreen = h('button', { testid: 'fullscreen', attrs: { type: 'button' }, text: 'fullscreen' });
  const pip = h('button', { testid: 'pip', attrs: { type: 'button' }, text: 'pip' });
  show(pip, pipSupported());
  // The canvas's stream for picture-in-picture, made on first use.
  let mirror: HTMLVideoElement | null = null;

  const onFullscreen = () => translate(fullscreen, document.fullscreenElement === box ? 'exit_fullscreen' : 'fullscreen');
  fullscreen.addEventListener('click', () => {
    if (document.fullscreenElement === box) void document.exitFullscreen();
    else void box.requestFullscreen().catch(() => undefined);
  });
  document.addEventListener('fullscreenchange', onFullscreen);

  const onPip = () => translate(pip, document.pictureInPictureElement ? 'exit_pip' : 'pip');
  /** The <video> to put in picture-in-picture: the player's own, or one playing the canvas (ready: it has a size). */
  async function pipVideo(): Promise<HTMLVideoElement> {
    const shown = picture();
    if (shown instanceof HTMLVideoElement) return shown;
    mirror ??= h('video', { class: 'pip-mirror', attrs: { playsinline: '', 'aria-hidden': 'true' } });
    mirror.muted = true;
    if (!mirror.isConnected) box.append(mirror);
    const video = mirror;
    video.srcObject = shown.captureStream();
    const ready = new Promise((resolve) => video.addEventListener('loadedmetadata', resolve, { once: true }));
    await video.play();
    if (video.readyState < HTMLMediaElement.HAVE_METADATA) await ready;
    return video;
  }

  pip.addEventListener('click', () => {
    if (document.pictureInPictureElement) {
      void document.exitPictureInPicture().then(onPip);
      return;
    }
    void pipVideo()
      .then((video) => {
        video.addEventListener('leavepictureinpicture', onPip, { once: true });
        return video.requestPictureInPicture();
      })
      .then(onPip, (err: unknown) => console.warn('picture-in-picture refused:', err));
  });

  return {
    element: h('div', { class: 'player-controls' }, fullscreen, pip),
    dispose() {
      document.removeEventListener('fullscreenchange', onFullscreen);
      if (document.pictureInPictureElement) void document.exitPictureInPicture().catch(() => undefined);
      mirror?.remove();
    },
  };
}
