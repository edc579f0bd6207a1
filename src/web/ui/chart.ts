// A small live line chart on a canvas: the last N samples of one or more
// series, redrawn on each push. No library: one chart, a few dozen points.
export interface Series {
  /** Read at each draw, so a legend follows the language switch. */
  label: () => string;
  color: string;
}

export class LineChart {
  readonly canvas: HTMLCanvasElement;
  private readonly data: number[][];

  constructor(
    private readonly series: Series[],
    private readonly capacity = 60,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'chart';
    this.canvas.setAttribute('role', 'img');
    this.data = series.map(() => []);
  }

  push(values: (number | undefined)[]): void {
    values.forEach((v, i) => {
      const column = this.data[i];
      if (!column) return;
      column.push(v ?? Number.NaN);
      if (column.length > this.capacity) column.shift();
    });
    this.draw();
  }

  private draw(): void {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 320;
    const height = canvas.clientHeight || 120;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const finite = this.data.flat().filter(Number.isFinite);
    const top = niceCeiling(Math.max(1, ...finite));
    const left = 44;
    const plotW = width - left - 6;
    const plotH = height - 22;
    const style = getComputedStyle(canvas);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = style.getPropertyValue('--chart-text') || '#888';
    ctx.strokeStyle = style.getPropertyValue('--chart-grid') || 'rgba(128,128,128,0.25)';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 2; i++) {
      const y = 6 + (plotH * i) / 2;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + plotW, y);
      ctx.stroke();
      ctx.fillText(String(Math.round(top * (1 - i / 2))), 4, y + 4);
    }

    this.series.forEach((s, i) => {
      const column = this.data[i]!;
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      let pen = false;
      column.forEach((v, j) => {
        if (!Number.isFinite(v)) return void (pen = false);
        const x = left + (plotW * (j + this.capacity - column.length)) / (this.capacity - 1);
        const y = 6 + plotH * (1 - v / top);
        if (pen) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
        pen = true;
      });
      ctx.stroke();
      ctx.fillStyle = s.color;
      ctx.fillText(s.label(), left + 4 + i * 110, height - 4);
    });
  }
}

/** Round up to 1, 2 or 5 times a power of ten, so the axis reads cleanly. */
export function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}
