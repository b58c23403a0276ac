/**
 * A training step without tfjs's gradient tape, for the Sequential stacks fedtune trains most (Dense/Conv2D with ReLU,
 * MaxPooling2D, Flatten, a softmax head, cross-entropy on its probabilities): the forward and backward kernels are
 * called directly on the wasm backend, as tapeFreeLayers.ts replays them — the same kernels with the same inputs as
 * `tf.variableGrads` runs, so the same loss and gradients, bit for bit.
 *
 * Why: under the tape every kernel call also records a tape node, clones the tensors its gradient will need (16
 * Identity calls per MLP step), wraps each output in a tracked tensor, and the backward pass reshapes operands back and
 * forth (11 Reshape calls) inside nested tidy scopes. For the MLP 784-128-10 at batch 64 that bookkeeping was about a
 * quarter of the step's CPU time. Here the step is ~20 kernel calls on bare backend tensors, freed by one KernelScope.
 *
 * The loss replayed is `mean(crossEntropyPerSample(p, labels))` with fedtune's cross-entropy kernels (lib/model/loss.ts
 * picks the same on wasm), plus the Trainer's proximal term when it has one (tapeFreeProximal.ts); the gradient seed is
 * tfjs's Mean gradient, (1 · 1) / n in float32 for every sample. `TapeFreeStep.plan` returns undefined — and the
 * Trainer records a tape as before — for anything else: another backend, a model that is not Sequential, a layer,
 * activation, regulariser, constraint or call hook without a replay, logits outputs, or trainable variables that are
 * not exactly the replayed layers' weights.
 */
import * as tf from "@tensorflow/tfjs";
import { KernelScope } from "../kernels/kernelScope";
import { WasmHeap } from "../kernels/wasmHeap";
import { CROSS_ENTROPY, CROSS_ENTROPY_GRAD } from "../kernels/crossEntropy";
import { RELU_GRAD, SOFTMAX_GRAD } from "../kernels/activationGrads";
import { tapeFreeLayer, type LayerBackward, type TapeFreeLayer, type WeightGradient } from "./tapeFreeLayers";
import { CROSS_ENTROPY_EPSILON, type OutputKind } from "./loss";
import { proximalForward, type ProximalSetting } from "./tapeFreeProximal";

const BACKEND = "wasm";
const KERNELS = [CROSS_ENTROPY, CROSS_ENTROPY_GRAD, RELU_GRAD, SOFTMAX_GRAD] as const;

let enabled = true;

/** Turns the tape-free step on or off for this thread (for side-by-side tests and measurement); returns the previous setting. */
export function useTapeFreeStep(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** What the Trainer's step trains, as `TapeFreeStep.plan` needs it. */
export interface StepSetting {
  /** The model (only a tf.Sequential has a plan). */
  readonly model: tf.LayersModel;
  /** Index of the first layer the step runs (after a cached frozen prefix, else 0). */
  readonly fromLayer: number;
  /** The variables the step updates, in the optimiser's order. */
  readonly variables: readonly tf.Variable[];
  /** What the model emits. */
  readonly outputs: OutputKind;
  /** The objective's proximal term, if it has one (references in `variables`' order). */
  readonly proximal?: ProximalSetting;
}

/** Loss and gradients of one batch. */
export interface StepResult {
  /** The batch's mean cross-entropy (a float32 value). */
  readonly loss: number;
  /** dL/dvariable for each of the setting's variables, in its order; the caller disposes them. */
  readonly grads: tf.Tensor[];
}

/** One model's tape-free step (see the file's comment). */
export class TapeFreeStep {
  private constructor(
    private readonly layers: readonly TapeFreeLayer[],
    /** Per layer: whether a layer before it trains, so the step needs dL/d(its input). */
    private readonly needDx: readonly boolean[],
    private readonly variables: readonly tf.Variable[],
    private readonly proximal: ProximalSetting | undefined,
  ) {}

  /** The step for `setting`, or undefined when the tape must run it (see the file's comment). */
  static plan(setting: StepSetting): TapeFreeStep | undefined {
    const { model, fromLayer, variables } = setting;
    if (!enabled || setting.outputs !== "probabilities" || !(model instanceof tf.Sequential)) return undefined;
    if (tf.getBackend() !== BACKEND || KERNELS.some((k) => tf.getKernel(k, BACKEND) === undefined)) return undefined;
    const modelLayers = model.layers;
    const layers: TapeFreeLayer[] = [];
    for (let i = fromLayer; i < modelLayers.length; i++) {
      const layer = tapeFreeLayer(modelLayers[i], i === modelLayers.length - 1);
      if (layer === undefined) return undefined;
      layers.push(layer);
    }
    // The replayed layers must train exactly the optimiser's variables, in its order.
    const trained = layers.flatMap((l) => l.trainedVariables);
    if (trained.length !== variables.length || trained.some((v, i) => v !== variables[i])) return undefined;
    if (setting.proximal && setting.proximal.references.length !== variables.length) return undefined;
    const needDx = layers.map((_, i) => layers.slice(0, i).some((l) => l.trainedVariables.length > 0));
    return new TapeFreeStep(layers, needDx, variables, setting.proximal);
  }

  /**
   * Forward and backward pass on the batch `x` with int32 `labels` [n]: the loss and one gradient per variable. Every
   * intermediate is freed; only the returned gradients are new tensors.
   */
  run(x: tf.Tensor, labels: tf.Tensor): StepResult {
    const n = x.shape[0];
    if (labels.dtype !== "int32" || labels.rank !== 1 || labels.shape[0] !== n) {
      throw new Error(`TapeFreeStep.run: labels must be int32 [${n}], got ${labels.dtype} [${labels.shape}]`);
    }
    const backend = tf.backend();
    const heap = new WasmHeap(backend, "TapeFreeStep");
    const scope = new KernelScope(backend, BACKEND);
    try {
      const backwards: LayerBackward[] = [];
      let h: tf.TensorInfo = x;
      for (const layer of this.layers) {
        const { y, backward } = layer.forward(scope, h);
        backwards.push(backward);
        h = y;
      }
      const attrs = { epsilon: CROSS_ENTROPY_EPSILON };
      const perSample = scope.run(CROSS_ENTROPY, { probabilities: h, labels }, attrs);
      const mean = scope.run("Mean", { x: perSample }, { axis: null, keepDims: false } as unknown as tf.NamedAttrMap);
      const term = this.proximal ? proximalForward(scope, heap, this.proximal, this.variables, mean) : undefined;
      const loss = heap.view(term ? term.objective : mean)[0];
      // tfjs's Mean gradient of the seed dy = 1: (1 · 1) / n, one float32 division, for every sample.
      const dMean = scope.adopt(heap.output([n]));
      heap.view(dMean).fill(Math.fround(1 / n));
      let dy: tf.TensorInfo | undefined = scope.run(CROSS_ENTROPY_GRAD, { dy: dMean, probabilities: h, labels }, attrs);
      const grads: WeightGradient[] = [];
      for (let i = this.layers.length - 1; i >= 0 && dy !== undefined; i--) dy = backwards[i](dy, this.needDx[i], grads);
      const ce = this.variables.map((v) => gradientOf(v, grads));
      const all = term ? term.addGradients(ce) : ce;
      return { loss, grads: all.map((g, i) => adopt(scope, g, this.variables[i])) };
    } finally {
      scope.disposeAll();
    }
  }
}

/** The gradient of `variable` among `grads`, under the variable's shape. */
function gradientOf(variable: tf.Variable, grads: readonly WeightGradient[]): tf.TensorInfo {
  const g = grads.find((x) => x.variable === variable);
  if (g === undefined) throw new Error(`TapeFreeStep.run: no gradient for variable ${variable.name}`);
  return { dataId: g.grad.dataId, shape: [...variable.shape], dtype: g.grad.dtype };
}

/** `grad` (a scope's output under another shape, perhaps) as a tensor of `variable`'s shape, taken out of `scope`. */
function adopt(scope: KernelScope, grad: tf.TensorInfo, variable: tf.Variable): tf.Tensor {
  scope.keep(grad);
  return tf.engine().makeTensorFromTensorInfo({ dataId: grad.dataId, shape: [...variable.shape], dtype: grad.dtype });
}
