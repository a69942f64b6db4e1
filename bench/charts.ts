/**
 * Grouped bar charts as standalone SVG text, small enough to read: RESULTS.md links them, and GitHub
 * renders them as images. No dependencies on purpose; a benchmark should not pull in a plotting stack.
 */

export interface BarChart {
  title: string;
  /** Axis label for the values, units included. */
  yLabel: string;
  /** One label per group along the x axis (batch 1, batch 2, …). */
  groups: string[];
  /** One series per colour; values[i] belongs to groups[i] (NaN or undefined: not measured). */
  series: Array<{ name: string; values: Array<number | undefined> }>;
  /** A horizontal target line, drawn dashed. */
  target?: { value: number; label: string };
}

const COLOURS = ['#3b6fb6', '#e08a2c', '#4a9a5b', '#b5455b', '#7a5fb0'];
const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" upper bound for the axis (1, 2, 2.5, 5 × 10^k) at or above `max`. */
export function niceCeiling(max: number): number {
  if (!(max > 0)) return 1;
  const exp = Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) {
    const bound = step * 10 ** exp;
    if (bound >= max * (1 - 1e-9)) return bound;
  }
  return 10 ** (exp + 1);
}

function label(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toPrecision(2);
}

export function barChartSvg(chart: BarChart): string {
  const width = 640;
  const height = 360;
  const left = 70;
  const right = 20;
  const top = 40;
  const bottom = 70;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const values = chart.series.flatMap((s) => s.values).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const yMax = niceCeiling(Math.max(...values, chart.target?.value ?? 0));
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const groupW = plotW / Math.max(1, chart.groups.length);
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    out.push(`<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${label(v)}</text>`);
  }
  out.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`);
  chart.groups.forEach((group, g) => {
    const x0 = left + g * groupW + groupW * 0.1;
    chart.series.forEach((series, s) => {
      const v = series.values[g];
      if (v === undefined || !Number.isFinite(v)) return;
      const x = x0 + s * barW;
      out.push(`<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${COLOURS[s % COLOURS.length]}"/>`);
      out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="10">${label(v)}</text>`);
    });
    out.push(`<text x="${(left + g * groupW + groupW / 2).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle">${escapeXml(group)}</text>`);
  });
  if (chart.target) {
    const ty = y(chart.target.value).toFixed(1);
    out.push(`<line x1="${left}" x2="${width - right}" y1="${ty}" y2="${ty}" stroke="#b00" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${width - right}" y="${Number(ty) - 4}" text-anchor="end" fill="#b00">${escapeXml(chart.target.label)}</text>`);
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  chart.series.forEach((series, s) => {
    const lx = left + s * 150;
    const ly = height - 22;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLOURS[s % COLOURS.length]}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly}">${escapeXml(series.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
