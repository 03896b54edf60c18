/**
 * The little SVG kit the pictures share: escaping, a linear scale, "nice" axis ticks and
 * the axes themselves. Pure functions returning strings, so the same code draws in the
 * browser (the live inspector) and in `bun run graph` (files for docs/).
 */

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

export interface Scale {
  (value: number): number;
  readonly domain: readonly [number, number];
}

/** Maps [d0, d1] onto [r0, r1]; an empty domain maps to the middle. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const span = d1 - d0;
  const f = ((value: number) =>
    span === 0 ? (r0 + r1) / 2 : r0 + ((value - d0) / span) * (r1 - r0)) as Scale;
  Object.defineProperty(f, "domain", { value: [d0, d1] });
  return f;
}

/** About `count` round tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9 && ticks.length < 50; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

/** 1536 → "1.5k", 2097152 → "2.1M": short labels for byte and rate axes. */
export function shortNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${trim(value / 1e9)}G`;
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e3) return `${trim(value / 1e3)}k`;
  return trim(value);
}

function trim(value: number): string {
  return String(Number(value.toFixed(Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2)));
}

export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

/** The plot area's edges inside a picture of `width` × `height`. */
export function frame(
  width: number,
  height: number,
  margin = { l: 64, r: 16, t: 28, b: 36 },
): Frame {
  return {
    width,
    height,
    left: margin.l,
    right: width - margin.r,
    top: margin.t,
    bottom: height - margin.b,
  };
}

/** Both axes with ticks, grid lines and labels. */
export function axes(
  f: Frame,
  x: Scale,
  y: Scale,
  labels: {
    x: string;
    y: string;
    xFormat?: (v: number) => string;
    yFormat?: (v: number) => string;
  },
): string {
  const parts: string[] = [];
  const xf = labels.xFormat ?? shortNumber;
  const yf = labels.yFormat ?? shortNumber;
  for (const t of niceTicks(x.domain[0], x.domain[1])) {
    const px = x(t).toFixed(1);
    parts.push(
      `<line class="grid" x1="${px}" y1="${f.top}" x2="${px}" y2="${f.bottom}"/>`,
      `<text class="tick" x="${px}" y="${f.bottom + 14}" text-anchor="middle">${escapeXml(xf(t))}</text>`,
    );
  }
  for (const t of niceTicks(y.domain[0], y.domain[1], 5)) {
    const py = y(t).toFixed(1);
    parts.push(
      `<line class="grid" x1="${f.left}" y1="${py}" x2="${f.right}" y2="${py}"/>`,
      `<text class="tick" x="${f.left - 4}" y="${py}" text-anchor="end" dominant-baseline="middle">${escapeXml(yf(t))}</text>`,
    );
  }
  parts.push(
    `<rect class="plot-frame" x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${f.bottom - f.top}"/>`,
    `<text class="axis-label" x="${(f.left + f.right) / 2}" y="${f.height - 4}" text-anchor="middle">${escapeXml(labels.x)}</text>`,
    `<text class="axis-label" x="${f.left}" y="${f.top - 8}">${escapeXml(labels.y)}</text>`,
  );
  return parts.join("");
}

/** The styles every picture carries, so an SVG file looks the same alone as in the page. */
export const SVG_STYLE = `<style>
text{font:11px system-ui,sans-serif;fill:#222}
.grid{stroke:#e6e6e6;stroke-width:1}
.plot-frame{fill:none;stroke:#999}
.tick{font-size:10px;fill:#555}
.axis-label{font-size:11px;fill:#333}
.title{font-size:13px;font-weight:600}
.seg{stroke:#1f4fd1;stroke-width:1.2;fill:none}
.seg.rexmit{stroke:#d11f1f;stroke-width:2}
.rexmit-mark{fill:#d11f1f;font-size:9px;font-weight:700}
.ack{stroke:#1a9c3a;fill:none;stroke-width:1.2}
.win{stroke:#c9a100;fill:none;stroke-width:1.2}
.sack{stroke:#8a2be2;stroke-width:3;stroke-opacity:.75}
.zerowin{fill:#ff8c00;fill-opacity:.18}
.series{fill:none;stroke-width:1.5}
.arrow{stroke:#333;stroke-width:1.2;fill:none;marker-end:url(#head)}
.arrow.syn{stroke:#1f4fd1}.arrow.fin{stroke:#7a3db8}.arrow.rst{stroke:#d11f1f}
.lifeline{stroke:#666;stroke-width:2}
.state{font-weight:600;fill:#0b5d1e}
.rule{font-size:9.5px;fill:#555}
.seg-label{font-size:10.5px;font-family:ui-monospace,monospace}
.gap{fill:#888;font-style:italic}
</style>`;
