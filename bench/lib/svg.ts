import type { BarChart } from "./report.js";

const palette = ["#2f6fb0", "#d9822b", "#4c9a52", "#8e5ea2", "#b5443c"];

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function label(value: number): string {
  if (value >= 10_000) return `${Math.round(value / 1000)}k`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`;
  if (value >= 10) return String(Math.round(value));
  return String(Math.round(value * 100) / 100);
}

/** A grouped bar chart as a standalone SVG (no fonts or scripts to load), values written on the bars. */
export function barChartSvg(chart: BarChart): string {
  const width = 760;
  const height = 360;
  const left = 70;
  const right = 20;
  const top = 50;
  const bottom = 70;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const all = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const max = niceMax(Math.max(0, ...all));
  const groupW = plotW / Math.max(1, chart.groups.length);
  const barW = Math.min(60, (groupW * 0.8) / Math.max(1, chart.series.length));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(chart.title)}</text>`,
    `<text x="14" y="${top + plotH / 2}" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle">${escape(chart.unit)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${label(v)}</text>`,
    );
  }
  chart.groups.forEach((group, g) => {
    const x0 = left + g * groupW + (groupW - barW * chart.series.length) / 2;
    chart.series.forEach((series, s) => {
      const value = series.values[g];
      const x = x0 + s * barW;
      if (value === null || value === undefined || !Number.isFinite(value)) {
        parts.push(`<text x="${x + barW / 2}" y="${top + plotH - 4}" text-anchor="middle" fill="#999">n/a</text>`);
        return;
      }
      parts.push(
        `<rect x="${x + 2}" y="${y(value)}" width="${barW - 4}" height="${top + plotH - y(value)}" fill="${palette[s % palette.length]}"/>`,
        `<text x="${x + barW / 2}" y="${y(value) - 4}" text-anchor="middle" font-size="11">${label(value)}</text>`,
      );
    });
    parts.push(`<text x="${left + g * groupW + groupW / 2}" y="${top + plotH + 18}" text-anchor="middle">${escape(group)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  let lx = left;
  chart.series.forEach((series, s) => {
    parts.push(
      `<rect x="${lx}" y="${height - 24}" width="12" height="12" fill="${palette[s % palette.length]}"/>`,
      `<text x="${lx + 16}" y="${height - 14}">${escape(series.name)}</text>`,
    );
    lx += 26 + series.name.length * 7;
  });
  parts.push("</svg>");
  return parts.join("\n");
}
