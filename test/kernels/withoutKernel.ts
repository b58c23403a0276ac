import * as tf from "@tensorflow/tfjs";

/** Runs `body` with kernel `name` unregistered on wasm (tfjs falls back to its own composition), then registers it again. */
export function withoutKernel<T>(name: string, body: () => T): T {
  const config = tf.getKernel(name, "wasm");
  if (config === undefined) throw new Error(`withoutKernel: ${name} is not registered on wasm`);
  tf.unregisterKernel(name, "wasm");
  try {
    return body();
  } finally {
    tf.registerKernel(config);
  }
}
