/**
 * SGD with momentum over an explicit variable list, with velocities that belong to one fit call.
 *
 * Why not `tf.train.momentum`: a single tfjs optimizer is reused across participants that train
 * different variable subsets (frozen layers differ by method and phase), its accumulators are
 * keyed by position, it cannot be reset, and disposing it leaks a scalar (tfjs issue 4647). Here
 * the velocities start at zero for every fit and are disposed with it, so nothing accumulates.
 * Update rule (tfjs/Keras/PyTorch convention): v ← m·v + g; θ ← θ − lr·v.
 */
import * as tf from "@tensorflow/tfjs";
import { momentumUpdateInPlace, sgdUpdateInPlace } from "../kernels/sgdUpdate";

/** Momentum SGD state for one local training run. */
export class SgdMomentum {
  private velocities: tf.Tensor[] | undefined;

  /** Optimise `variables` with step size `learningRate` and momentum coefficient `momentum` ∈ [0, 1). */
  constructor(
    private readonly variables: readonly tf.Variable[],
    private readonly learningRate: number,
    private readonly momentum: number,
  ) {
    if (!(Number.isFinite(learningRate) && learningRate >= 0)) throw new Error(`SgdMomentum: learningRate must be ≥ 0, got ${learningRate}`);
    if (!(momentum >= 0 && momentum < 1)) throw new Error(`SgdMomentum: momentum must be in [0, 1), got ${momentum}`);
  }

  /**
   * Apply one step with `grads[i]` the gradient of `variables[i]`. Does not dispose `grads`. On the wasm backend each
   * variable is updated in place by one fused kernel (lib/kernels/sgdUpdate.ts, the same float32 arithmetic); the tfjs
   * ops below run where that is not possible.
   */
  step(grads: readonly tf.Tensor[]): void {
    if (grads.length !== this.variables.length) {
      throw new Error(`SgdMomentum.step: ${grads.length} gradients for ${this.variables.length} variables`);
    }
    let lr: tf.Scalar | undefined;
    let m: tf.Scalar | undefined;
    const lrTensor = (): tf.Scalar => (lr ??= tf.scalar(this.learningRate));
    const update = (variable: tf.Variable, v: tf.Tensor): void => {
      if (sgdUpdateInPlace(variable, v, this.learningRate)) return;
      const rate = lrTensor();
      tf.tidy(() => {
        variable.assign(tf.sub(variable, tf.mul(rate, v)));
      });
    };
    try {
      if (this.momentum === 0) {
        // Plain SGD keeps no velocity: θ ← θ − lr·g, the same arithmetic as v = g; θ − lr·v without copying g.
        this.variables.forEach((variable, i) => update(variable, grads[i]));
        return;
      }
      const previous = this.velocities;
      const next = this.variables.map((variable, i) => {
        const prev = previous?.[i];
        if (prev === undefined) {
          const v = tf.clone(grads[i]);
          update(variable, v);
          return v;
        }
        if (momentumUpdateInPlace(variable, prev, grads[i], this.learningRate, this.momentum)) return prev;
        const mu = (m ??= tf.scalar(this.momentum));
        const v = tf.tidy(() => tf.add(tf.mul(mu, prev), grads[i]));
        update(variable, v);
        return v;
      });
      // Velocities updated in place are in both lists; dispose only those that were replaced.
      if (previous) tf.dispose(previous.filter((v, i) => v !== next[i]));
      this.velocities = next;
    } finally {
      lr?.dispose();
      m?.dispose();
    }
  }

  /** Release the velocities. */
  dispose(): void {
    if (this.velocities) tf.dispose(this.velocities);
    this.velocities = undefined;
  }
}
