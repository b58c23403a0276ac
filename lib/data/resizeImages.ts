/**
 * Resize a batch of images stored as one flat Float32Array (row-major [count, h, w, c]).
 * Separable resampling: along each axis, enlarging uses linear interpolation with half-pixel
 * centres (as tf.image.resizeBilinear with halfPixelCenters) and shrinking uses area averaging,
 * so 8×8 digits grow into smooth 28×28 digits and 28×28 images shrink without aliasing.
 */

/** One output position's contributions: input indices and their weights (summing to 1). */
interface Taps {
  readonly index: number[];
  readonly weight: number[];
}

/** 1-D resampling weights from `inSize` to `outSize` positions. */
function axisTaps(inSize: number, outSize: number): Taps[] {
  const taps: Taps[] = [];
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (outSize >= inSize) {
      // Linear interpolation between the two nearest input centres.
      const src = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
      const i0 = Math.floor(src);
      const i1 = Math.min(i0 + 1, inSize - 1);
      const f = src - i0;
      taps.push(i1 === i0 ? { index: [i0], weight: [1] } : { index: [i0, i1], weight: [1 - f, f] });
    } else {
      // Area: average the input cells covered by [o·scale, (o+1)·scale), weighted by overlap.
      const start = o * scale;
      const end = (o + 1) * scale;
      const index: number[] = [];
      const weight: number[] = [];
      for (let i = Math.floor(start); i < Math.min(Math.ceil(end), inSize); i++) {
        const overlap = Math.min(end, i + 1) - Math.max(start, i);
        if (overlap > 1e-12) {
          index.push(i);
          weight.push(overlap / scale);
        }
      }
      taps.push({ index, weight });
    }
  }
  return taps;
}

/** Resize `count` images of shape [h, w, c] in `x` to [height, width, c]; returns a new array. */
export function resizeImages(
  x: Float32Array,
  count: number,
  sampleShape: readonly number[],
  size: readonly [number, number],
): Float32Array {
  if (sampleShape.length !== 3) {
    throw new Error(`resizeImages: sampleShape must be [height, width, channels], got [${sampleShape.join(", ")}]`);
  }
  const [h, w, c] = sampleShape;
  const [H, W] = size;
  if (!(Number.isInteger(H) && H > 0 && Number.isInteger(W) && W > 0)) {
    throw new Error(`resizeImages: size must be two positive integers, got [${size.join(", ")}]`);
  }
  if (x.length !== count * h * w * c) {
    throw new Error(`resizeImages: x has ${x.length} values, expected ${count} × ${h}×${w}×${c}`);
  }
  const rowTaps = axisTaps(h, H);
  const colTaps = axisTaps(w, W);
  const out = new Float32Array(count * H * W * c);
  const tmp = new Float32Array(H * w * c); // after resizing rows, before columns
  for (let n = 0; n < count; n++) {
    const base = n * h * w * c;
    tmp.fill(0);
    for (let r = 0; r < H; r++) {
      const t = rowTaps[r];
      for (let k = 0; k < t.index.length; k++) {
        const src = base + t.index[k] * w * c;
        const wt = t.weight[k];
        const dst = r * w * c;
        for (let j = 0; j < w * c; j++) tmp[dst + j] += wt * x[src + j];
      }
    }
    const obase = n * H * W * c;
    for (let r = 0; r < H; r++) {
      for (let col = 0; col < W; col++) {
        const t = colTaps[col];
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let k = 0; k < t.index.length; k++) s += t.weight[k] * tmp[(r * w + t.index[k]) * c + ch];
          out[obase + (r * W + col) * c + ch] = s;
        }
      }
    }
  }
  return out;
}
