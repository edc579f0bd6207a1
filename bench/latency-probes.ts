// Page scripts for bench/latency.ts. They run inside Chromium (passed to
// addInitScript), so each is self-contained: no imports, no outer variables.

/** Page script: a canvas "camera" that paints Date.now() in 32 blocks, for getUserMedia and for the raw pair. */
export function installClockCamera(): void {
  const W = 1280;
  const H = 720;
  const BLOCK = 36;
  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext('2d')!;
  const base = Math.floor(Date.now() / 1000) * 1000 - 1_000_000;
  const paint = () => {
    const t = Date.now() - base;
    ctx.fillStyle = '#336';
    ctx.fillRect(0, 0, W, H);
    // Motion, so the encoder has something to do besides the blocks.
    ctx.fillStyle = '#e4405f';
    ctx.fillRect((t / 4) % W, H / 2, 160, 160);
    for (let bit = 0; bit < 32; bit++) {
      ctx.fillStyle = (t >>> bit) & 1 ? '#fff' : '#000';
      ctx.fillRect(bit * BLOCK, 0, BLOCK, BLOCK);
    }
  };
  setInterval(paint, 1000 / 60);
  paint();
  const w = window as unknown as { __clockBase: number; __clockStream: () => MediaStream };
  w.__clockBase = base;
  w.__clockStream = () => canvas.captureStream(30);
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const video = constraints?.video ? canvas.captureStream(30).getVideoTracks() : [];
    const audio = constraints?.audio ? (await original({ audio: constraints.audio })).getAudioTracks() : [];
    return new MediaStream([...video, ...audio]);
  };
}

/**
 * Page script: read the painted time back from every frame shown by the
 * element with a given test id — a <video> (requestVideoFrameCallback, at its
 * expectedDisplayTime) or the relay player's <canvas>. The element is looked
 * up on every frame, since the relay's canvas replaces the video element.
 *
 * A canvas has no frame callback. Once per animation frame, right after that
 * frame's rendering step (a message posted from requestAnimationFrame runs
 * after it), the reader checks the player's data-frames counter; a new picture
 * drawn before or during that step is shown one frame interval after the
 * frame's start, as a video frame's expectedDisplayTime says.
 */
export function installClockReader(): void {
  const w = window as unknown as {
    __lat: number[];
    /** Each read frame's height, beside its latency: what picture the path carried. */
    __heights: number[];
    __firstFrameAt: number | null;
    __readScreen: (selector: string) => void;
    __clockBase?: number;
  };
  const INTERVAL = 1000 / 60;
  w.__lat = [];
  w.__heights = [];
  w.__firstFrameAt = null;
  const scratch = document.createElement('canvas');
  const sctx = scratch.getContext('2d', { willReadFrequently: true })!;
  const record = (source: HTMLVideoElement | HTMLCanvasElement, width: number, height: number, shownAt: number) => {
    w.__firstFrameAt ??= performance.now();
    const scale = width / 1280;
    if (!(scale > 0)) return;
    const block = 36 * scale;
    scratch.width = Math.ceil(32 * block);
    scratch.height = Math.ceil(block);
    sctx.drawImage(source, 0, 0, scratch.width, scratch.height, 0, 0, scratch.width, scratch.height);
    const row = sctx.getImageData(0, Math.floor(block / 2), scratch.width, 1).data;
    let t = 0;
    for (let bit = 0; bit < 32; bit++) {
      const x = Math.floor(bit * block + block / 2);
      if (row[x * 4]! > 128) t |= 1 << bit;
    }
    const latency = performance.timeOrigin + shownAt - ((t >>> 0) + (w.__clockBase ?? 0));
    if (latency > 0 && latency < 5_000) {
      w.__lat.push(latency);
      w.__heights.push(height);
    }
  };
  // One reader at a time: a second call retires the first loop, so no frame is counted twice.
  let generation = 0;
  w.__readScreen = (selector: string) => {
    const mine = ++generation;
    const watched = new WeakSet<HTMLVideoElement>();
    let canvasFrames = 0;
    const channel = new MessageChannel();
    let frameStart = 0;
    channel.port1.onmessage = () => {
      const el = document.querySelector(selector);
      if (!(el instanceof HTMLCanvasElement)) return;
      const frames = Number(el.dataset.frames ?? 0);
      if (frames === canvasFrames) return;
      canvasFrames = frames;
      record(el, el.width, el.height, frameStart + INTERVAL);
    };
    const tick = (ts: number) => {
      if (generation !== mine) return;
      const el = document.querySelector(selector);
      if (el instanceof HTMLVideoElement && !watched.has(el)) {
        watched.add(el);
        const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
          if (generation !== mine || document.querySelector(selector) !== el) return;
          record(el, el.videoWidth, meta.height, meta.expectedDisplayTime);
          el.requestVideoFrameCallback(onFrame);
        };
        el.requestVideoFrameCallback(onFrame);
      }
      frameStart = ts;
      channel.port2.postMessage(null);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
}

/**
 * Page script: when each step of a join happens (epoch ms, one clock for all
 * pages of the browser): signalling messages sent and received (and an offer or
 * answer sent with no candidates in it), each peer connection's signalling,
 * gathering, ICE and DTLS states and its first local candidate, the first RTP
 * (the remote track unmutes), the relay socket's first media. Only the first of
 * each name after a reset counts.
 */
export function installJoinProbe(): void {
  const w = window as unknown as { __marks: Record<string, number>; __mark: (name: string) => void; __pcs: RTCPeerConnection[] };
  w.__marks = {};
  w.__pcs = [];
  w.__mark = (name: string) => {
    w.__marks[name] ??= performance.timeOrigin + performance.now();
  };
  const typeOf = (data: unknown) => (typeof data === 'string' ? /"type":"(\w+)"/.exec(data)?.[1] : null);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (this: WebSocket, data) {
    const type = typeOf(data);
    if (type) w.__mark(`sent ${type}`);
    // An offer or answer with no candidates in it leaves ICE to trickle alone.
    if ((type === 'offer' || type === 'answer') && !String(data).includes('a=candidate')) w.__mark(`sent ${type} without candidates`);
    return send.call(this, data);
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('message', (e) => {
        const type = typeOf(e.data);
        w.__mark(type ? `got ${type}` : 'got relay media');
      });
    }
  } as typeof WebSocket;
  const NativePc = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePc {
    constructor(config?: RTCConfiguration) {
      super(config);
      w.__pcs.push(this);
      w.__mark('pc created');
      this.addEventListener('iceconnectionstatechange', () => {
        if (this.iceConnectionState !== 'new') w.__mark(`ICE ${this.iceConnectionState}`);
      });
      this.addEventListener('icecandidate', (e) => e.candidate && w.__mark('local candidate'));
      this.addEventListener('icegatheringstatechange', () => w.__mark(`ICE gathering ${this.iceGatheringState}`));
      this.addEventListener('signalingstatechange', () => w.__mark(`signalling ${this.signalingState}`));
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected') w.__mark('DTLS connected');
      });
      this.addEventListener('track', (e) => {
        if (e.track.kind === 'video') e.track.addEventListener('unmute', () => w.__mark('first video RTP'), { once: true });
      });
    }
  } as typeof RTCPeerConnection;
}
