/**
 * FedOpt — the family of adaptive server optimisers of Reddi et al. 2021, "Adaptive Federated
 * Optimization" (ICLR, https://arxiv.org/abs/2003.00295), Algorithm 2, as in Flower's fedopt.py:
 *   Δ = avg − θ_current                          (pseudo-gradient; avg = FedAvg of the updates)
 *   m ← β₁·m + (1 − β₁)·Δ
 *   v ← method-specific (Adagrad / Adam / Yogi)
 *   θ ← θ_current + η_t · m / (√v + τ)
 * Moments start at 0 and live in Float64; the result is rounded to float32 once. Subclasses only
 * say how v is updated and what η_t is.
 */
import type { ModelWeights } from "../../model/weights";
import type { AggregateFitResult, FitConfig, FitFailure, FitInstructions, FitUpdate, Strategy, StrategyState } from "../types";
import { sameInstructions } from "../types";
import { weightedAverage } from "../aggregate";
import {
  BaseStrategyOptions,
  Moments,
  checkMomentsLayout,
  checkNumber,
  checkRound,
  checkRoundInputs,
  momentsFromState,
  momentsToState,
  stateNumber,
  tensorLike,
  zeroMoments,
} from "./common";

/** Options shared by FedAdam, FedYogi and FedAdagrad. Defaults depend on the method (Flower's). */
export interface FedOptOptions extends BaseStrategyOptions {
  /** Server learning rate η > 0. */
  readonly eta?: number;
  /**
   * Participants' learning rate η_l. If set, `configureFit` overrides `learningRate` with it;
   * if unset the run's base config is kept (Flower stores eta_l but never sends it).
   */
  readonly etaL?: number;
  /** First-moment decay β₁ in [0, 1). */
  readonly beta1?: number;
  /** Second-moment decay β₂ in [0, 1) (not used by FedAdagrad). */
  readonly beta2?: number;
  /** Adaptivity τ > 0: added to √v, bounds the step where v is tiny. */
  readonly tau?: number;
}

/** Resolved FedOpt hyper-parameters. */
export interface FedOptParams {
  readonly eta: number;
  readonly etaL: number | undefined;
  readonly beta1: number;
  readonly beta2: number;
  readonly tau: number;
}

/** Base class of the adaptive server optimisers; one server step per aggregated round. */
export abstract class FedOpt implements Strategy {
  /** Hyper-parameters after defaults. */
  readonly params: FedOptParams;
  /** Whether rounds with failures are aggregated. */
  readonly acceptFailures: boolean;
  /** Number of server steps taken so far (t in Adam's bias correction). */
  protected step = 0;
  private m: Moments | null = null;
  private v: Moments | null = null;
  private names: string[] = [];

  /** Validate and store the options; `defaults` are the method's Flower defaults. */
  protected constructor(
    private readonly methodName: string,
    options: FedOptOptions,
    defaults: { eta: number; beta1: number; beta2: number; tau: number },
  ) {
    const owner = methodName;
    this.params = {
      eta: checkNumber(owner, "eta", options.eta ?? defaults.eta, { min: 0, minExclusive: true }),
      etaL:
        options.etaL === undefined ? undefined : checkNumber(owner, "etaL", options.etaL, { min: 0, minExclusive: true }),
      beta1: checkNumber(owner, "beta1", options.beta1 ?? defaults.beta1, { min: 0, max: 1, maxExclusive: true }),
      beta2: checkNumber(owner, "beta2", options.beta2 ?? defaults.beta2, { min: 0, max: 1, maxExclusive: true }),
      tau: checkNumber(owner, "tau", options.tau ?? defaults.tau, { min: 0, minExclusive: true }),
    };
    this.acceptFailures = options.acceptFailures ?? true;
  }

  /** E.g. "FedAdam(eta=0.1, tau=1e-9)". */
  get name(): string {
    return `${this.methodName}(eta=${this.params.eta}, tau=${this.params.tau})`;
  }

  /** New second moment from the old one and the pseudo-gradient coordinate d. */
  protected abstract secondMoment(v: number, d: number): number;

  /** The server step size η_t for step t (1-based). */
  protected stepSize(_t: number): number {
    return this.params.eta;
  }

  /** The base config, with `learningRate = etaL` if etaL was given. */
  configureFit(round: number, base: FitConfig, participants: readonly string[]): FitInstructions[] {
    checkRound(this.name, round);
    return sameInstructions(participants, this.params.etaL === undefined ? base : { ...base, learningRate: this.params.etaL });
  }

  /** FedAvg of the updates, then one adaptive server step from `current`. */
  aggregateFit(
    round: number,
    current: ModelWeights,
    updates: readonly FitUpdate[],
    failures: readonly FitFailure[],
  ): AggregateFitResult {
    checkRoundInputs(this.name, round, current, updates, failures, this.acceptFailures);
    const avg = weightedAverage(updates);
    if (this.m === null || this.v === null) {
      this.m = zeroMoments(current);
      this.v = zeroMoments(current);
      this.names = current.map((t) => t.name);
    }
    checkMomentsLayout(this.name, this.names, this.m, current);
    checkMomentsLayout(this.name, this.names, this.v, current);
    this.step += 1;
    const { beta1, tau } = this.params;
    const eta = this.stepSize(this.step);
    const mAll = this.m;
    const vAll = this.v;
    const weights = current.map((t, idx) => {
      const m = mAll[idx];
      const v = vAll[idx];
      const x = t.values;
      const a = avg[idx].values;
      const out = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) {
        const d = a[k] - x[k];
        m[k] = beta1 * m[k] + (1 - beta1) * d;
        v[k] = this.secondMoment(v[k], d);
        out[k] = x[k] + (eta * m[k]) / (Math.sqrt(v[k]) + tau);
      }
      return tensorLike(t, out);
    });
    return { weights, metrics: {} };
  }

  /** { step, m, v } with moments as {variable: number[]} (or null before the first round). */
  getState(): StrategyState {
    return {
      step: this.step,
      m: momentsToState(this.name, this.names, this.m),
      v: momentsToState(this.name, this.names, this.v),
    };
  }

  /** Restore what getState returned. */
  setState(state: StrategyState): void {
    const step = stateNumber(this.name, state, "step");
    const m = momentsFromState(this.name, "m", state.m);
    const v = momentsFromState(this.name, "v", state.v);
    if ((m === null) !== (v === null)) throw new Error(`${this.name}.setState: m and v must both be set or both be null`);
    this.step = step;
    this.m = m ? m.m : null;
    this.v = v ? v.m : null;
    this.names = m ? m.names : [];
  }
}
