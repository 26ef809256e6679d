/** A dependency-free SVG plot of closed-loop runs: per reference, the output panel (reference, MPC, PID) and the input panel. */

export interface PlotSeries { label: string; color: string; values: ArrayLike<number>; dash?: string }
export interface PlotPanel { title: string; yLabel: string; series: PlotSeries[] }
export interface PlotRow { title: string; dt: number; panels: PlotPanel[] }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(2));

function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

export function plotSvg(rows: PlotRow[], title: string): string {
  const W = 960, panelH = 170, gap = 46, left = 64, right = 150, top = 44;
  const rowPanels = rows.reduce((a, r) => a + r.panels.length, 0);
  const H = top + rowPanels * (panelH + gap) + rows.length * 24 + 10;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`);
  let y0 = top;
  for (const row of rows) {
    parts.push(`<text x="${left}" y="${y0 + 14}" font-size="14" font-weight="bold">${esc(row.title)}</text>`);
    y0 += 24;
    for (const p of row.panels) {
      const n = Math.max(...p.series.map((s) => s.values.length));
      let lo = Infinity, hi = -Infinity;
      for (const s of p.series) for (let i = 0; i < s.values.length; i++) { const v = s.values[i]; if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
      if (!Number.isFinite(lo)) { lo = -1; hi = 1; }
      const pad = (hi - lo) * 0.08 || 0.5;
      lo -= pad; hi += pad;
      const pw = W - left - right;
      const X = (i: number) => left + (pw * i) / Math.max(1, n - 1);
      const Y = (v: number) => y0 + panelH - (panelH * (v - lo)) / (hi - lo);
      parts.push(`<rect x="${left}" y="${y0}" width="${pw}" height="${panelH}" fill="none" stroke="#999"/>`);
      for (const t of niceTicks(lo, hi)) {
        parts.push(`<line x1="${left}" x2="${left + pw}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#eee"/>`);
        parts.push(`<text x="${left - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
      }
      const tEnd = (n - 1) * row.dt;
      for (const t of niceTicks(0, tEnd, 8)) {
        const x = left + (pw * t) / (tEnd || 1);
        parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${y0 + panelH}" y2="${y0 + panelH + 4}" stroke="#999"/>`);
        parts.push(`<text x="${x.toFixed(1)}" y="${y0 + panelH + 16}" text-anchor="middle">${fmt(t)}</text>`);
      }
      parts.push(`<text x="${left + pw / 2}" y="${y0 + panelH + 30}" text-anchor="middle" fill="#555">time (s)</text>`);
      parts.push(`<text transform="translate(16 ${y0 + panelH / 2}) rotate(-90)" text-anchor="middle" fill="#555">${esc(p.yLabel)}</text>`);
      p.series.forEach((s, k) => {
        const pts: string[] = [];
        for (let i = 0; i < s.values.length; i++) if (Number.isFinite(s.values[i])) pts.push(`${X(i).toFixed(1)},${Y(s.values[i]).toFixed(1)}`);
        parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.6"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts.join(' ')}"/>`);
        const ly = y0 + 14 + 18 * k;
        parts.push(`<line x1="${left + pw + 12}" x2="${left + pw + 36}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
        parts.push(`<text x="${left + pw + 42}" y="${ly}">${esc(s.label)}</text>`);
      });
      parts.push(`<text x="${left + 6}" y="${y0 + 14}" fill="#333">${esc(p.title)}</text>`);
      y0 += panelH + gap;
    }
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
