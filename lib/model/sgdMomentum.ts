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

  /** Apply one step with `grads[i]` the gradient of `variables[i]`. Does not dispose `grads`. */
  step(grads: readonly tf.Tensor[]): void {
    if (grads.length !== this.variables.length) {
      throw new Error(`SgdMomentum.step: ${grads.length} gradients for ${this.variables.length} variables`);
    }
    const lr = tf.scalar(this.learningRate);
    if (this.momentum === 0) {
      // Plain SGD keeps no velocity: θ ← θ − lr·g, the same arithmetic as v = g; θ − lr·v without copying g.
      this.variables.forEach((variable, i) => tf.tidy(() => variable.assign(tf.sub(variable, tf.mul(lr, grads[i])))));
      lr.dispose();
      return;
    }
    const m = tf.scalar(this.momentum);
    const next = this.variables.map((variable, i) => {
      const prev = this.velocities ? this.velocities[i] : undefined;
      const v = tf.tidy(() => (prev && this.momentum > 0 ? tf.add(tf.mul(m, prev), grads[i]) : tf.clone(grads[i])));
      tf.tidy(() => {
        variable.assign(tf.sub(variable, tf.mul(lr, v)));
      });
      return v;
    });
    if (this.velocities) tf.dispose(this.velocities);
    this.velocities = next;
    lr.dispose();
    m.dispose();
  }

  /** Release the velocities. */
  dispose(): void {
    if (this.velocities) tf.dispose(this.velocities);
    this.velocities = undefined;
  }
}
