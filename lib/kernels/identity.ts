import * as tf from "@tensorflow/tfjs";

/** The part of a tfjs backend that counts the tensors sharing one buffer. */
interface RefCountingBackend {
  incRef(dataId: object): void;
}

/**
 * Identity for tfjs-backend-wasm that shares its input's buffer (one more reference) instead of copying it, as the
 * cpu and webgl backends' Identity do.
 *
 * Why: while recording gradients the engine clones every tensor a backward pass will need (`saveTensorsForBackwardMode`
 * runs Identity on each saved input and output), and the stock wasm Identity allocates and copies each one — about 15
 * copies per training step of a small CNN, some of a whole activation or weight matrix. Tensors are immutable, so the
 * clone may share the data; the values are the same bits either way.
 */
export function identityShared(): tf.KernelFunc {
  return ({ inputs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    (backend as unknown as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}
