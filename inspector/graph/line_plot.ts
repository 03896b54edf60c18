/**
 * A line plot over time: the live page's cwnd/ssthresh, srtt/rto, delivery rate, bytes in
 * flight and receive-window panels. One `<path class="series">` per series, carrying its
 * point count, so a test can see that data was drawn.
 */
import { axes, escapeXml, frame, linearScale, SVG_STYLE, shortNumber } from "./svg.ts";

export interface Series {
  readonly name: string;
  readonly color: string;
  /** [time ms, value] pairs in time order; non-finite values leave a gap. */
  readonly points: readonly (readonly [number, number])[];
}

export interface LinePlotOptions {
  title: string;
  unit: string;
  width?: number;
  height?: number;
}

export function linePlot(series: readonly Series[], options: LinePlotOptions): string {
  const f = frame(options.width ?? 440, options.height ?? 200, { l: 52, r: 10, t: 26, b: 30 });
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = Number.NEGATIVE_INFINITY;
  let vMax = 0;
  for (const s of series) {
    for (const [t, v] of s.points) {
      t0 = Math.min(t0, t);
      t1 = Math.max(t1, t);
      if (Number.isFinite(v)) vMax = Math.max(vMax, v);
    }
  }
  if (!Number.isFinite(t0)) {
    t0 = 0;
    t1 = 1;
  }
  const x = linearScale(0, Math.max(t1 - t0, 1) / 1000, f.left, f.right);
  const y = linearScale(0, vMax > 0 ? vMax * 1.1 : 1, f.bottom, f.top);
  const paths = series.map((s) => {
    let d = "";
    let pen = false;
    for (const [t, v] of s.points) {
      if (!Number.isFinite(v)) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${x((t - t0) / 1000).toFixed(1)} ${y(v).toFixed(1)}`;
      pen = true;
    }
    return `<path class="series" stroke="${s.color}" d="${d}" data-name="${escapeXml(s.name)}" data-points="${s.points.length}"/>`;
  });
  let lx = f.left + 12 + (options.title.length + options.unit.length + 3) * 7.5;
  const legend = series.map((s) => {
    const out = `<rect x="${lx}" y="8" width="10" height="3" fill="${s.color}"/><text x="${lx + 14}" y="13">${escapeXml(s.name)}</text>`;
    lx += 16 + s.name.length * 6.5;
    return out;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}"><title>${escapeXml(options.title)}</title>${SVG_STYLE}<text class="title" x="${f.left}" y="14">${escapeXml(`${options.title} (${options.unit})`)}</text>${legend.join("")}${axes(f, x, y, { x: "time (s)", y: "", yFormat: shortNumber })}${paths.join("")}</svg>`;
}
