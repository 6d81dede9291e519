/**
 * The k-occurrence histogram as an inline SVG bar chart: one group per N_k bin, one bar per series (raw, and
 * rescored when the collection rescores). Hand-written: a few rectangles do not need a chart library.
 */

export interface HistogramBin {
  from: number;
  to: number;
  points: number;
}
export interface Series {
  /** Legend text, also the bar's class (`bar raw`, `bar rescored`). */
  name: string;
  color: string;
  bins: HistogramBin[];
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const WIDTH = 720;
const HEIGHT = 260;
const MARGIN = { top: 28, right: 12, bottom: 42, left: 52 };

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
  text = '',
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
  if (text) node.textContent = text;
  return node;
}

const binLabel = (b: { from: number; to: number }) => (b.from === b.to ? `${b.from}` : `${b.from}–${b.to}`);

/**
 * Bars on a log scale (log(1 + points)): most points sit in the low bins and a hub is a single point far to the
 * right, so a linear scale would hide exactly the bars that matter. Each bar's exact count is in its tooltip.
 */
export function histogramChart(series: Series[], caption: string): SVGSVGElement {
  const bins = [...new Map(series.flatMap((s) => s.bins).map((b) => [b.from, b])).values()].sort(
    (a, b) => a.from - b.from,
  );
  const top = Math.max(1, ...series.flatMap((s) => s.bins.map((b) => b.points)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const scale = (points: number) => (Math.log1p(points) / Math.log1p(top)) * plotH;
  const groupW = plotW / Math.max(1, bins.length);
  const barW = Math.max(2, (groupW * 0.8) / series.length);
  const baseline = MARGIN.top + plotH;

  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    role: 'img',
    'aria-label': caption,
    class: 'histogram',
  });
  chart.append(svg('title', {}, caption));
  // y axis: ticks at powers of ten up to the largest bin
  for (let tick = 1; tick <= top; tick *= 10) {
    const y = baseline - scale(tick);
    chart.append(
      svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y, y2: y, class: 'grid-line' }),
      svg('text', { x: MARGIN.left - 6, y: y + 4, 'text-anchor': 'end', class: 'tick' }, String(tick)),
    );
  }
  chart.append(
    svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: baseline, y2: baseline, class: 'axis' }),
    svg('text', { x: 12, y: MARGIN.top - 12, class: 'axis-label' }, 'points (log scale)'),
    svg('text', { x: MARGIN.left + plotW / 2, y: HEIGHT - 6, 'text-anchor': 'middle', class: 'axis-label' }, 'N_k'),
  );
  bins.forEach((bin, i) => {
    const x0 = MARGIN.left + i * groupW + groupW * 0.1;
    chart.append(
      svg('text', { x: x0 + groupW * 0.4, y: baseline + 16, 'text-anchor': 'middle', class: 'tick' }, binLabel(bin)),
    );
    series.forEach((s, j) => {
      const points = s.bins.find((b) => b.from === bin.from)?.points ?? 0;
      if (points === 0) return;
      const h = Math.max(1, scale(points));
      const bar = svg('rect', {
        x: x0 + j * barW,
        y: baseline - h,
        width: barW - 1,
        height: h,
        fill: s.color,
        class: `bar ${s.name}`,
        'data-points': points,
      });
      bar.append(svg('title', {}, `${s.name}: ${points} points with N_k ${binLabel(bin)}`));
      chart.append(bar);
    });
  });
  series.forEach((s, j) => {
    const x = WIDTH - MARGIN.right - 110 * (series.length - j);
    chart.append(
      svg('rect', { x, y: 8, width: 12, height: 12, fill: s.color }),
      svg('text', { x: x + 16, y: 18, class: 'legend' }, s.name),
    );
  });
  return chart;
}
