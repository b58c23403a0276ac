/**
 * All server strategies, and `createStrategy(name, options)` for configs, CLIs and notebooks that
 * pick a method by name.
 */
import type { Strategy } from "../types";
import { FedAdagrad, FedAdagradOptions } from "./fedAdagrad";
import { FedAdam, FedAdamOptions } from "./fedAdam";
import { FedAvg, FedAvgOptions } from "./fedAvg";
import { FedAvgM, FedAvgMOptions } from "./fedAvgM";
import { FedMedian, FedMedianOptions } from "./fedMedian";
import { FedProx, FedProxOptions } from "./fedProx";
import { FedTrimmedAvg, FedTrimmedAvgOptions } from "./fedTrimmedAvg";
import { FedYogi, FedYogiOptions } from "./fedYogi";
import { Krum, KrumOptions } from "./krum";

export { FedAvg, FedProx, FedAvgM, FedAdam, FedYogi, FedAdagrad, FedMedian, FedTrimmedAvg, Krum };
export { FedOpt } from "./fedOpt";
export type {
  FedAvgOptions,
  FedProxOptions,
  FedAvgMOptions,
  FedAdamOptions,
  FedYogiOptions,
  FedAdagradOptions,
  FedMedianOptions,
  FedTrimmedAvgOptions,
  KrumOptions,
};
export type { FedOptOptions, FedOptParams } from "./fedOpt";
export type { BaseStrategyOptions } from "./common";

/** The options each strategy name accepts. */
export interface StrategyOptionsByName {
  FedAvg: FedAvgOptions;
  FedProx: FedProxOptions;
  FedAvgM: FedAvgMOptions;
  FedAdam: FedAdamOptions;
  FedYogi: FedYogiOptions;
  FedAdagrad: FedAdagradOptions;
  FedMedian: FedMedianOptions;
  FedTrimmedAvg: FedTrimmedAvgOptions;
  Krum: KrumOptions;
}

/** A strategy name accepted by `createStrategy`. */
export type StrategyName = keyof StrategyOptionsByName;

const factories: { [K in StrategyName]: (options: StrategyOptionsByName[K]) => Strategy } = {
  FedAvg: (o) => new FedAvg(o),
  FedProx: (o) => new FedProx(o),
  FedAvgM: (o) => new FedAvgM(o),
  FedAdam: (o) => new FedAdam(o),
  FedYogi: (o) => new FedYogi(o),
  FedAdagrad: (o) => new FedAdagrad(o),
  FedMedian: (o) => new FedMedian(o),
  FedTrimmedAvg: (o) => new FedTrimmedAvg(o),
  Krum: (o) => new Krum(o),
};

const common = ["acceptFailures"];
const fedOptKeys = [...common, "eta", "etaL", "beta1", "beta2", "tau"];
/** The option names each strategy understands (createStrategy refuses others, to catch typos). */
const allowedOptions: { [K in StrategyName]: readonly string[] } = {
  FedAvg: [...common, "weighted"],
  FedProx: [...common, "weighted", "mu"],
  FedAvgM: [...common, "serverLearningRate", "serverMomentum"],
  FedAdam: [...fedOptKeys, "biasCorrection"],
  FedYogi: fedOptKeys,
  FedAdagrad: fedOptKeys,
  FedMedian: common,
  FedTrimmedAvg: [...common, "beta"],
  Krum: [...common, "numMalicious", "numToKeep"],
};

/** Every name `createStrategy` accepts, in a stable order. */
export const strategyNames: readonly StrategyName[] = Object.keys(factories) as StrategyName[];

/** Build a strategy by name (case-insensitive), e.g. createStrategy("FedAdam", { eta: 0.01 }). */
export function createStrategy<K extends StrategyName>(name: K, options?: StrategyOptionsByName[K]): Strategy;
/** Build a strategy from a name only known at run time (throws listing the allowed names). */
export function createStrategy(name: string, options?: object): Strategy;
export function createStrategy(name: string, options: object = {}): Strategy {
  const key = strategyNames.find((n) => n.toLowerCase() === String(name).toLowerCase());
  if (key === undefined) {
    throw new Error(`createStrategy: unknown strategy "${name}"; allowed: ${strategyNames.join(", ")}`);
  }
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new Error(`createStrategy: options of ${key} must be an object, got ${options === null ? "null" : Array.isArray(options) ? "an array" : typeof options}`);
  }
  const unknown = Object.keys(options).filter((k) => !allowedOptions[key].includes(k));
  if (unknown.length > 0) {
    throw new Error(
      `createStrategy: ${key} has no option(s) ${unknown.join(", ")}; allowed: ${allowedOptions[key].join(", ")}`,
    );
  }
  const factory = factories[key] as (o: object) => Strategy;
  return factory(options);
}
