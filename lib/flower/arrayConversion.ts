/**
 * tfjs weights ⇄ Flower ArrayRecord: each WeightTensor becomes one float32 `.npy` Array under its
 * weight name ("hidden_1/kernel"), in model order. float32 round-trips exactly.
 */
import type { ModelWeights, WeightTensor } from "../model/weights";
import { decodeNpy, encodeNpyFloat32 } from "./npy";
import type { FlowerArray, FlowerRecord } from "./records";

/** Weights as an ArrayRecord (names and order kept). */
export function weightsToArrayRecord(weights: ModelWeights): Extract<FlowerRecord, { kind: "array" }> {
  const arrays = new Map<string, FlowerArray>();
  for (const w of weights) {
    if (arrays.has(w.name)) throw new Error(`weightsToArrayRecord: weight name "${w.name}" appears twice`);
    arrays.set(w.name, { dtype: "float32", shape: [...w.shape], stype: "numpy.ndarray", data: encodeNpyFloat32(w.values, w.shape) });
  }
  return { kind: "array", arrays };
}

/** One Flower Array as float32 values; float64/int data are converted (rounded to float32). */
export function arrayToWeight(name: string, array: FlowerArray): WeightTensor {
  if (array.stype !== "numpy.ndarray") throw new Error(`array "${name}": stype must be "numpy.ndarray", got ${JSON.stringify(array.stype)}`);
  const npy = decodeNpy(array.data, `array "${name}"`);
  const values = npy.values instanceof Float32Array ? npy.values : Float32Array.from(npy.values);
  return { name, shape: [...npy.shape], values };
}

/**
 * Read an ArrayRecord into weights laid out like `template` (names, order, shapes). Extra or
 * missing arrays and shape mismatches are errors naming the array.
 */
export function arrayRecordToWeights(record: Extract<FlowerRecord, { kind: "array" }>, template: ModelWeights): ModelWeights {
  const expected = new Set(template.map((w) => w.name));
  for (const name of record.arrays.keys()) {
    if (!expected.has(name)) throw new Error(`ArrayRecord has array "${name}", which the model does not have (model arrays: ${[...expected].join(", ")})`);
  }
  return template.map((t) => {
    const a = record.arrays.get(t.name);
    if (!a) throw new Error(`ArrayRecord lacks array "${t.name}" of the model`);
    const w = arrayToWeight(t.name, a);
    const same = w.shape.length === t.shape.length && w.shape.every((d, i) => d === t.shape[i]);
    if (!same) throw new Error(`array "${t.name}" has shape [${w.shape}], the model needs [${t.shape}]`);
    return w;
  });
}
