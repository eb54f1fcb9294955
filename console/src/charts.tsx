/**
 * Charts (uPlot) with an accessible name and the same figures as a table (docs/console.md): the
 * canvas is hidden from assistive technology, the table below it is the alternative, and the tests
 * read the table to check the chart against the API.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  readonly label: string;
  readonly values: readonly number[];
  readonly color: string;
}

interface ChartProps {
  /** The chart's accessible name; also its table's caption. */
  readonly title: string;
  /** Row labels (categories or times), one per value. */
  readonly labels: readonly string[];
  readonly series: readonly Series[];
  /** Bars for categories; lines for time series. */
  readonly kind: 'bars' | 'lines';
  /** What the first column of the table holds. */
  readonly labelHeading: string;
  readonly empty: string;
}

export function Chart({ title, labels, series, kind, labelHeading, empty }: ChartProps) {
  const holder = useRef<HTMLDivElement>(null);
  const id = `chart-${title.replace(/\W+/g, '-').toLowerCase()}`;
  useEffect(() => {
    const el = holder.current;
    if (!el || labels.length === 0) return;
    const xs = labels.map((_, i) => i);
    // Side by side, never on top of each other: one series centred, two either side of the tick.
    const barsOf = (i: number) =>
      series.length === 1
        ? uPlot.paths.bars?.({ size: [0.6, 64] })
        : uPlot.paths.bars?.({ size: [0.3, 32], align: i === 0 ? -1 : 1 });
    const plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth || 560),
        height: 220,
        legend: { show: series.length > 1, live: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)] } },
        axes: [
          {
            splits: () => xs,
            values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? (labels[t] ?? '') : '')),
            stroke: '#475569',
            grid: { show: false },
          },
          // Counts: whole-number ticks only.
          {
            stroke: '#475569',
            grid: { stroke: '#e2e8f0' },
            incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6],
          },
        ],
        series: [
          {},
          ...series.map((s, i) => {
            const bars = barsOf(i);
            return {
              label: s.label,
              stroke: s.color,
              fill: kind === 'bars' ? s.color : undefined,
              width: kind === 'bars' ? 0 : 2,
              ...(kind === 'bars' && bars ? { paths: bars } : {}),
              points: { show: kind === 'lines' },
            };
          }),
        ],
      },
      [xs, ...series.map((s) => [...s.values])],
      el,
    );
    return () => plot.destroy();
  }, [labels, series, kind]);
  return (
    <figure class="chart" aria-labelledby={id}>
      <figcaption id={id}>{title}</figcaption>
      {labels.length === 0 ? (
        <p class="muted">{empty}</p>
      ) : (
        <div ref={holder} class="chart-canvas" aria-hidden="true" />
      )}
      <details class="chart-data">
        <summary>Data table: {title}</summary>
        <table data-chart={title}>
          <caption class="sr-only">{title}</caption>
          <thead>
            <tr>
              <th scope="col">{labelHeading}</th>
              {series.map((s) => (
                <th scope="col" key={s.label}>
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {labels.map((label, i) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                {series.map((s) => (
                  <td key={s.label}>{s.values[i] ?? 0}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
