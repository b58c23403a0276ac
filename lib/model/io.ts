/**
 * Save and load a model to a directory as `model.json` + `weights.bin` (the tfjs layers format).
 * tfjs's `file://` handlers live in tfjs-node, which we do not require, so this is our own IOHandler.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";

const MODEL_FILE = "model.json";
const WEIGHTS_FILE = "weights.bin";

/** Write `model` (topology, weights, frozen flags) to `dir`, creating it if needed. Returns the file paths. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<{ modelPath: string; weightsPath: string }> {
  fs.mkdirSync(dir, { recursive: true });
  const modelPath = path.join(dir, MODEL_FILE);
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      if (artifacts.modelTopology == null || artifacts.weightSpecs == null || artifacts.weightData == null) {
        throw new Error(`saveModel(${dir}): tfjs produced no topology or weights for model "${model.name}"`);
      }
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? "layers-model",
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs }],
        userDefinedMetadata: { savedBy: "fedtune" },
      };
      fs.writeFileSync(weightsPath, new Uint8Array(weightData));
      fs.writeFileSync(modelPath, JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return { modelPath, weightsPath };
}

/** Load a model written by `saveModel` (or any single-shard tfjs layers model) from `dir`. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const modelPath = path.join(dir, MODEL_FILE);
  if (!fs.existsSync(modelPath)) throw new Error(`loadModel: no ${MODEL_FILE} in ${dir}`);
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(fs.readFileSync(modelPath, "utf8")) as tf.io.ModelJSON;
  } catch (e) {
    throw new Error(`loadModel: ${modelPath} is not valid JSON (${(e as Error).message})`);
  }
  if (json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
    throw new Error(`loadModel: ${modelPath} lacks modelTopology or weightsManifest`);
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      const file = path.join(dir, p);
      if (!fs.existsSync(file)) throw new Error(`loadModel: weights file ${file} named in ${modelPath} does not exist`);
      const bytes = fs.readFileSync(file);
      buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    }
  }
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: tf.io.CompositeArrayBuffer.join(buffers) }),
  );
}
