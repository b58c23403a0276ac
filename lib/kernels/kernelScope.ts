import * as tf from "@tensorflow/tfjs";

/**
 * Runs registered kernels of one backend from inside another kernel and frees every intermediate.
 *
 * Why not `tf.engine().runKernel` or tf ops: a kernelFunc already runs inside the engine's bookkeeping, so nested
 * engine calls would create tracked tensors (and gradient tape entries) for what are private temporaries. Calling the
 * other kernels' kernelFuncs directly with the same backend — as tfjs-backend-wasm's own kernels do — produces bare
 * TensorInfos that only the backend knows; the scope returns their memory with `disposeData` (refcounted, so
 * Reshape's shared dataIds are safe).
 */
export class KernelScope {
  private readonly owned: tf.TensorInfo[] = [];

  /** `backend` is the one handed to the enclosing kernelFunc; `backendName` picks the kernels to call. */
  constructor(
    private readonly backend: tf.KernelBackend,
    private readonly backendName: string,
  ) {}

  /** Runs kernel `kernelName` and remembers its output for disposal. */
  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const config = tf.getKernel(kernelName, this.backendName) as tf.KernelConfig | undefined;
    if (config === undefined) {
      throw new Error(`KernelScope: kernel '${kernelName}' is not registered for backend '${this.backendName}'`);
    }
    return this.runFunc(kernelName, config.kernelFunc, inputs, attrs);
  }

  /** Runs a specific kernelFunc (e.g. a stock kernel that fedtune has since replaced); `kernelName` is for errors. */
  runFunc(kernelName: string, kernelFunc: tf.KernelFunc, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const out = kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) {
      // Only single-output kernels are used here; accepting several would leak the ones nobody asked for.
      for (const o of out) this.backend.disposeData(o.dataId);
      throw new Error(`KernelScope: kernel '${kernelName}' returned ${out.length} outputs, expected one`);
    }
    this.owned.push(out);
    return out;
  }

  /** Makes the scope own `info`, a tensor allocated on the backend by other means (e.g. `WasmHeap.output`). */
  adopt(info: tf.TensorInfo): tf.TensorInfo {
    this.owned.push(info);
    return info;
  }

  /**
   * Takes `info` out of the scope so that `disposeAll` keeps it (the kernel's result). `info` may be the output itself
   * or its data under another shape: one owned reference to its data is given up.
   */
  keep(info: tf.TensorInfo): tf.TensorInfo {
    const i = this.owned.findIndex((o) => o.dataId === info.dataId);
    if (i < 0) throw new Error("KernelScope.keep: tensor was not produced in this scope");
    this.owned.splice(i, 1);
    return info;
  }

  /** Frees every intermediate still owned; call in `finally`. */
  disposeAll(): void {
    for (const info of this.owned.splice(0)) this.backend.disposeData(info.dataId);
  }
}

/** Runs `body` with a fresh scope and frees its intermediates, keeping only the returned TensorInfo. */
export function withKernelScope(
  backend: object,
  backendName: string,
  body: (scope: KernelScope) => tf.TensorInfo,
): tf.TensorInfo {
  const scope = new KernelScope(backend as tf.KernelBackend, backendName);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.disposeAll();
  }
}
