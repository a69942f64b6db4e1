import { useId } from 'react';

export interface Series {
  name: string;
  color: string;
  values: Array<number | null>;
}

interface ChartProps {
  title: string;
  /** bucket start times, one per value */
  times: Date[];
  series: Series[];
  kind: 'bars' | 'lines';
  formatValue(value: number): string;
}

const WIDTH = 640;
const HEIGHT = 200;
const MARGIN = { top: 12, right: 12, bottom: 28, left: 56 };

/**
 * A small SVG chart over the last hour's buckets. The picture has a one-line text summary and
 * the numbers are available as a table for anyone who cannot see it.
 */
export function TimeSeriesChart({ title, times, series, kind, formatValue }: ChartProps) {
  const titleId = useId();
  const descId = useId();
  // Bars are stacked, so their scale is set by the tallest stack; lines by the highest point.
  const all =
    kind === 'bars'
      ? times.map((_, index) => series.reduce((sum, s) => sum + (s.values[index] ?? 0), 0))
      : series.flatMap((s) => s.values.filter((value): value is number => value != null));
  const max = niceCeiling(Math.max(0, ...all));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const count = Math.max(1, times.length);
  const slot = plotWidth / count;
  const x = (index: number) => MARGIN.left + slot * index + slot / 2;
  const y = (value: number) => MARGIN.top + plotHeight - (max === 0 ? 0 : (value / max) * plotHeight);
  const ticks = [0, max / 2, max];
  const labelEvery = Math.max(1, Math.ceil(count / 6));

  const summary = series
    .map((s) => {
      const values = s.values.filter((value): value is number => value != null);
      if (values.length === 0) return `${s.name}: no data`;
      return `${s.name}: latest ${formatValue(values[values.length - 1]!)}, highest ${formatValue(Math.max(...values))}`;
    })
    .join('; ');

  return (
    <figure className="chart">
      <figcaption id={titleId}>{title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={titleId} aria-describedby={descId} preserveAspectRatio="xMidYMid meet">
        <desc id={descId}>{summary}</desc>
        {ticks.map((tick) => (
          <g key={tick}>
            <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(tick)} y2={y(tick)} className="grid" />
            <text x={MARGIN.left - 6} y={y(tick)} className="axis-label" textAnchor="end" dominantBaseline="middle">
              {formatValue(tick)}
            </text>
          </g>
        ))}
        {times.map((time, index) =>
          index % labelEvery === 0 ? (
            <text key={index} x={x(index)} y={HEIGHT - 8} className="axis-label" textAnchor="middle">
              {time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
            </text>
          ) : null,
        )}
        {kind === 'bars' &&
          times.map((_, index) => {
            let base = 0;
            return series.map((s) => {
              const value = s.values[index] ?? 0;
              if (value <= 0) return null;
              const bar = (
                <rect key={`${s.name}-${index}`} x={x(index) - (slot * 0.8) / 2} y={y(base + value)} width={Math.max(1, slot * 0.8)} height={Math.max(0, y(base) - y(base + value))} fill={s.color} />
              );
              base += value;
              return bar;
            });
          })}
        {kind === 'lines' &&
          series.map((s) => (
            <g key={s.name}>
              <path d={linePath(s.values, x, y)} fill="none" stroke={s.color} strokeWidth={2} />
              {s.values.map((value, index) => (value != null ? <circle key={index} cx={x(index)} cy={y(value)} r={2.5} fill={s.color} /> : null))}
            </g>
          ))}
      </svg>
      <ul className="legend" aria-hidden="true">
        {series.map((s) => (
          <li key={s.name}>
            <span className="swatch" style={{ background: s.color }} /> {s.name}
          </li>
        ))}
      </ul>
      <details>
        <summary>Data table: {title}</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Minute starting</th>
              {series.map((s) => (
                <th scope="col" key={s.name}>
                  {s.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {times.map((time, index) => (
              <tr key={index}>
                <th scope="row">{time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</th>
                {series.map((s) => (
                  <td key={s.name}>{s.values[index] != null ? formatValue(s.values[index]!) : '—'}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** Line segments through the defined points; a gap (no data that minute) breaks the line. */
function linePath(values: Array<number | null>, x: (index: number) => number, y: (value: number) => number): string {
  let path = '';
  let penDown = false;
  values.forEach((value, index) => {
    if (value == null) {
      penDown = false;
      return;
    }
    path += `${penDown ? 'L' : 'M'}${x(index).toFixed(1)},${y(value).toFixed(1)}`;
    penDown = true;
  });
  return path;
}

/** Rounds an axis maximum up to 1, 2 or 5 × a power of ten, so tick labels are round numbers. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}
