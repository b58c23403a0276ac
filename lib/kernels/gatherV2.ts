import * as tf from "@tensorflow/tfjs";

/** The parts of tfjs-backend-wasm's `BackendWasm` that this kernel uses (not exported as types). */
interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * GatherV2 for tfjs-backend-wasm: one `TypedArray.set` (a memcpy) per gathered slice, on the backend's heap.
 *
 * Why: the stock wasm kernel (4.22) converts every output element's offset to coordinates and back, ~65 ns per
 * element; `model.fit` and fedtune's Trainer gather every batch from the training set with it. MLP 784-128-10 at
 * batch 64 (bench item 2): the two gathers of a step took 3.3 of `model.fit`'s 4.8 ms CPU time per step. The output
 * is the same copy of the same values in the same order, so results are bitwise unchanged; indices out of range
 * throw with the stock kernel's message.
 */
export function gatherV2Wasm(): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
    const wasm = backend as unknown as WasmBackendInternals;
    if (typeof wasm.makeOutput !== "function" || typeof wasm.typedArrayFromHeap !== "function") {
      throw new Error("GatherV2: needs the tfjs-backend-wasm backend (its makeOutput and typedArrayFromHeap)");
    }
    const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
    const axisDim = x.shape[parsedAxis];
    const idx = wasm.typedArrayFromHeap(indices);
    for (let i = 0; i < idx.length; i++) {
      const index = idx[i];
      if (!(index <= axisDim - 1 && index >= 0)) throw new Error(`GatherV2: the index value ${index} is not in [0, ${axisDim - 1}]`);
    }
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x as tf.Tensor, indices as tf.Tensor, parsedAxis, batchDims ?? 0);
    const out = wasm.makeOutput(info.outputShape, x.dtype);
    const size = tf.util.sizeFromShape(info.outputShape);
    if (size === 0 || tf.util.sizeFromShape(x.shape) === 0) return out;
    // Views after makeOutput: growing the heap replaces its buffer.
    const src = wasm.typedArrayFromHeap(x);
    const ids = wasm.typedArrayFromHeap(indices);
    const dst = wasm.typedArrayFromHeap(out);
    // x as [batch, outer, dim, slice], indices as [batch, perBatch]: out[b, o, j, :] = x[b, o, ids[b, j], :].
    const { batchSize, outerSize, dimSize, sliceSize } = info;
    const perBatch = ids.length / batchSize;
    let at = 0;
    for (let b = 0; b < batchSize; b++) {
      for (let o = 0; o < outerSize; o++) {
        const base = (b * outerSize + o) * dimSize;
        for (let j = 0; j < perBatch; j++) {
          const from = (base + ids[b * perBatch + j]) * sliceSize;
          dst.set(src.subarray(from, from + sliceSize), at);
          at += sliceSize;
        }
      }
    }
    return out;
  };
}
