/**
 * Self-supervised pretraining by rotation prediction (Gidaris et al., ICLR 2018): every image is
 * shown at 0°, 90°, 180° and 270° and the network learns to tell which. No labels are needed, yet
 * the body must learn strokes and shapes — the "self-supervised" pretraining the document suggests.
 */
import type { Dataset } from "../data/dataset";

/** A 4-class dataset of the images of `ds` rotated by 0/90/180/270 degrees (labels 0..3). Square grey or colour images only. */
export function rotationPretextDataset(ds: Dataset): Dataset {
  const [h, w, c] = ds.sampleShape;
  if (ds.sampleShape.length !== 3 || h !== w) {
    throw new Error(`rotationPretextDataset(${ds.name}): needs square images [n, n, channels], got [${ds.sampleShape.join(", ")}]`);
  }
  const n = ds.y.length;
  const len = h * w * c;
  const x = new Float32Array(n * 4 * len);
  const y = new Int32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const src = ds.x.subarray(i * len, (i + 1) * len);
    for (let r = 0; r < 4; r++) {
      const k = i * 4 + r;
      y[k] = r;
      const dst = x.subarray(k * len, (k + 1) * len);
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          // Source pixel that lands on (row, col) after rotating counter-clockwise by r·90°.
          let sr = row;
          let sc = col;
          if (r === 1) {
            sr = col;
            sc = w - 1 - row;
          } else if (r === 2) {
            sr = h - 1 - row;
            sc = w - 1 - col;
          } else if (r === 3) {
            sr = h - 1 - col;
            sc = row;
          }
          for (let ch = 0; ch < c; ch++) dst[(row * w + col) * c + ch] = src[(sr * w + sc) * c + ch];
        }
      }
    }
  }
  return { name: `${ds.name}/rotations`, x, y, sampleShape: ds.sampleShape, numClasses: 4, classNames: ["0°", "90°", "180°", "270°"] };
}
