/**
 * Sample images as an SVG grid (one `<rect>` per visible pixel), so a notebook can show what a
 * participant's data looks like without an image encoder.
 */
import type { Dataset } from "../data/dataset";

/** Options of `imageGridSvg`. */
export interface ImageGridOptions {
  /** Number of images (default 16). */
  readonly count?: number;
  /** Images per row (default 8). */
  readonly perRow?: number;
  /** Pixels per image pixel (default 3). */
  readonly scalePx?: number;
  /** First sample index (default 0). */
  readonly start?: number;
}

/** An SVG showing the first `count` images of a grey image dataset with their class names. */
export function imageGridSvg(ds: Dataset, options: ImageGridOptions = {}): string {
  if (ds.sampleShape.length !== 3 || ds.sampleShape[2] !== 1) {
    throw new Error(`imageGridSvg(${ds.name}): expects grey images [h, w, 1], got [${ds.sampleShape.join(", ")}]`);
  }
  const [h, w] = ds.sampleShape;
  const count = Math.min(options.count ?? 16, ds.y.length - (options.start ?? 0));
  const perRow = options.perRow ?? 8;
  const s = options.scalePx ?? 3;
  const gap = 6;
  const label = 14;
  const rows = Math.ceil(count / perRow);
  const cellW = w * s + gap;
  const cellH = h * s + gap + label;
  const parts: string[] = [];
  for (let k = 0; k < count; k++) {
    const i = (options.start ?? 0) + k;
    const ox = (k % perRow) * cellW;
    const oy = Math.floor(k / perRow) * cellH;
    parts.push(`<rect x="${ox}" y="${oy}" width="${w * s}" height="${h * s}" fill="#fff" stroke="#ccc"/>`);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const v = ds.x[i * h * w + r * w + c];
        if (v <= 0.05) continue;
        const g = Math.round(255 * (1 - Math.min(1, v)));
        parts.push(`<rect x="${ox + c * s}" y="${oy + r * s}" width="${s}" height="${s}" fill="rgb(${g},${g},${g})"/>`);
      }
    }
    const name = String(ds.classNames[ds.y[i]] ?? ds.y[i]).replace(/&/g, "&amp;").replace(/</g, "&lt;");
    parts.push(`<text x="${ox}" y="${oy + h * s + 12}" font-size="11" font-family="sans-serif">${name}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${perRow * cellW}" height="${rows * cellH}">${parts.join("")}</svg>`;
}

/**
 * The grid as an `<img>` with an SVG data URI: survives HTML exports whose SVG sanitiser strips
 * `<rect>` elements (nbconvert), and shows the same in every front end.
 */
export function imageGridHtml(ds: Dataset, options: ImageGridOptions & { title?: string } = {}): string {
  const svg = imageGridSvg(ds, options);
  const title = (options.title ?? ds.name).replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return `<figure style="margin:4px 0"><figcaption style="font-weight:bold">${title}</figcaption><img alt="${title}" src="data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}"/></figure>`;
}
