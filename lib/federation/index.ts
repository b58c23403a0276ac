/**
 * fedtune federation: participants, the round loop, personalisation, heterogeneity, history, and
 * the strategies. Aggregation arithmetic is exported by name, so that only its public functions
 * reach the package's API.
 */
export * from "./types";
export * from "./strategies/index";
export {
  weightedAverage,
  unweightedAverage,
  coordinateMedian,
  trimmedMean,
  krum,
  krumSelect,
  assertSameLayout,
  weightsL2Norm,
  squaredL2Distance,
  weightsL2Distance,
} from "./aggregate";
export type { LabelledWeights, WeightedWeights, KrumSelection } from "./aggregate";
export * from "./sampling";
export * from "./heterogeneity";
export * from "./history";
export * from "./participant";
export * from "./personalisation/index";
export * from "./federation";
export * from "./fedSgd";
export { checkFederationOptions } from "./federationOptions";
export * from "./roundPlan";
export { collectUpdates, updateValidators } from "./collectUpdates";
export type { CollectInput, Collected } from "./collectUpdates";
export * from "./aggregateRound";
export * from "./evaluateModels";
export * from "./convergence";
export * from "./runState";
export * from "./checkpointObserver";
export * from "./weightedEvaluation";
export * from "./updateClipping";
export { StrategyWrapper } from "./strategies/strategyWrapper";
export * from "./strategies/centralEvaluation";
export * from "./executor";
export * from "./snapshot";
export * from "./checkpoint";
export * from "./faults";
export * from "./localTrainingDefaults";
