// The relay's picture: decoded VideoFrames drawn straight onto a <canvas>.
// A <video> playing a generated track holds frames for its own playout; here
// each frame is drawn the moment it leaves the decoder and closed at once, so
// nothing queues. (Drawing on the next animation frame instead can only add
// up to one display interval; measured, it did not do better: BENCHMARKS.md.)
export class CanvasRenderer {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  drawn = 0;

  constructor() {
    this.canvas = document.createElement('canvas');
    // Opaque: the compositor need not blend it.
    this.ctx = this.canvas.getContext('2d', { alpha: false })!;
  }

  /** Takes ownership of the frame: it is closed once drawn. */
  render(frame: VideoFrame): void {
    const { displayWidth: w, displayHeight: h } = frame;
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.ctx.drawImage(frame, 0, 0, w, h);
    frame.close();
    this.drawn++;
    // Tests and the latency bench see frames by this counter.
    this.canvas.dataset.frames = String(this.drawn);
  }
}
