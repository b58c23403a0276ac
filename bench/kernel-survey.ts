/**
 * Which kernels does training need on wasm that the backend lacks? Trains one step of small models built from each
 * layer kind fedtune's builders use (and a few they might) and prints OK or the missing kernel.
 * Run: `npx tsx bench/kernel-survey.ts` (stock wasm) or `npx tsx bench/kernel-survey.ts --with-kernels`.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels } from "../lib/kernels/index";

const conv = (extra: Partial<Parameters<typeof tf.layers.conv2d>[0]> = {}) =>
  tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3, ...extra });

const CASES: Array<[string, () => tf.layers.Layer[]]> = [
  ["conv-relu-maxpool", () => [conv({ activation: "relu" }), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten()]],
  ["conv same stride 2", () => [conv({ strides: 2, padding: "same" }), tf.layers.flatten()]],
  ["conv-avgpool", () => [conv(), tf.layers.averagePooling2d({ poolSize: 2 }), tf.layers.flatten()]],
  ["conv-batchnorm", () => [conv(), tf.layers.batchNormalization(), tf.layers.flatten()]],
  ["conv-dropout", () => [conv(), tf.layers.dropout({ rate: 0.5 }), tf.layers.flatten()]],
  ["conv-globalavgpool", () => [conv(), tf.layers.globalAveragePooling2d({})]],
  ["depthwise conv", () => [tf.layers.depthwiseConv2d({ inputShape: [12, 12, 3], kernelSize: 3 }), tf.layers.flatten()]],
  ["separable conv", () => [tf.layers.separableConv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3 }), tf.layers.flatten()]],
];

async function main(): Promise<void> {
  await tf.setBackend("wasm");
  if (process.argv.includes("--with-kernels")) console.log(`fedtune kernels: ${registerWasmTrainingKernels().join(", ")}`);
  for (const [name, layers] of CASES) {
    const model = tf.sequential({ layers: [...layers(), tf.layers.dense({ units: 3, activation: "softmax" })] });
    const optimizer = tf.train.sgd(0.01);
    model.compile({ optimizer, loss: "categoricalCrossentropy" });
    const x = tf.randomNormal([4, 12, 12, 3], 0, 1, "float32", 1);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 0], "int32"), 3));
    try {
      await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
      console.log(`${name.padEnd(22)} OK`);
    } catch (e) {
      console.log(`${name.padEnd(22)} FAILS: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
    } finally {
      tf.dispose([x, y]);
      model.dispose();
      optimizer.dispose();
    }
  }
}

main().catch((e: unknown) => {
  console.error(`kernel-survey failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
