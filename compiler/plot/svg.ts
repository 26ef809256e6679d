/** Minimal SVG line charts (no dependencies): one panel per channel, shared x axis. */
export interface Series {
  label: string;
  /** x positions (e.g. time steps) and values */
  x: number[];
  y: number[];
  color: string;
  dashed?: boolean;
}

export interface Panel { title: string; series: Series[] }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(3))));

export function lineChartSvg(panels: Panel[], opts: { title?: string; width?: number; panelHeight?: number } = {}): string {
  const W = opts.width ?? 900, PH = opts.panelHeight ?? 220, top = opts.title ? 36 : 10;
  const left = 60, right = 150, gap = 30;
  const H = top + panels.length * (PH + gap);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`];
  if (opts.title) out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`);
  panels.forEach((p, k) => {
    const y0 = top + k * (PH + gap), pw = W - left - right, ph = PH - 30;
    const xs = p.series.flatMap((s) => s.x), ys = p.series.flatMap((s) => s.y).filter(Number.isFinite);
    const xmin = Math.min(...xs), xmax = Math.max(...xs);
    let ymin = Math.min(...ys), ymax = Math.max(...ys);
    if (ymin === ymax) { ymin -= 1; ymax += 1; }
    const pad = (ymax - ymin) * 0.05; ymin -= pad; ymax += pad;
    const sx = (v: number) => left + ((v - xmin) / (xmax - xmin || 1)) * pw;
    const sy = (v: number) => y0 + 20 + (1 - (v - ymin) / (ymax - ymin)) * ph;
    out.push(`<text x="${left}" y="${y0 + 12}">${esc(p.title)}</text>`);
    out.push(`<rect x="${left}" y="${y0 + 20}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
    for (let t = 0; t <= 4; t++) {
      const v = ymin + ((ymax - ymin) * t) / 4;
      out.push(`<text x="${left - 6}" y="${sy(v) + 4}" text-anchor="end" fill="#555">${fmt(v)}</text>`);
      const xv = xmin + ((xmax - xmin) * t) / 4;
      out.push(`<text x="${sx(xv)}" y="${y0 + 20 + ph + 14}" text-anchor="middle" fill="#555">${fmt(xv)}</text>`);
    }
    p.series.forEach((s, i) => {
      const pts = s.x.map((xv, j) => `${sx(xv).toFixed(1)},${sy(s.y[j]).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5,3"' : ''}/>`);
      const ly = y0 + 30 + i * 16;
      out.push(`<line x1="${W - right + 10}" y1="${ly}" x2="${W - right + 34}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,3"' : ''}/>`);
      out.push(`<text x="${W - right + 40}" y="${ly + 4}">${esc(s.label)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Context, forecast and (optionally) the true future of a [time, channels] forecaster. */
export function forecastSvg(context: Float32Array, channels: number, forecast: Float32Array, truth?: Float32Array, title = 'forecast'): string {
  const L = context.length / channels, H = forecast.length / channels;
  const col = (a: Float32Array, c: number) => Array.from({ length: a.length / channels }, (_, t) => a[t * channels + c]);
  const panels: Panel[] = Array.from({ length: Math.min(channels, 8) }, (_, c) => ({
    title: `channel ${c}`,
    series: [
      { label: 'context', x: Array.from({ length: L }, (_, t) => t - L), y: col(context, c), color: '#1f77b4' },
      ...(truth ? [{ label: 'truth', x: Array.from({ length: H }, (_, t) => t), y: col(truth, c), color: '#2ca02c', dashed: true }] : []),
      { label: 'forecast', x: Array.from({ length: H }, (_, t) => t), y: col(forecast, c), color: '#ff7f0e' },
    ],
  }));
  return lineChartSvg(panels, { title });
}
