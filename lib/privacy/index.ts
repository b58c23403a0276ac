/**
 * Privacy for federated fine-tuning: update clipping, Gaussian noise, DP strategy wrappers with
 * fixed and adaptive clipping, the RDP accountant, secure aggregation by pairwise masking, and
 * secure aggregation with secret-shared masks (Bonawitz et al. 2017, ./secagg).
 */
export { clipUpdate, clipLocalWeights } from "./clipping";
export type { ClippedUpdate } from "./clipping";
export { addGaussianNoise } from "./gaussianNoise";
export {
  RdpAccountant,
  DEFAULT_RDP_ORDERS,
  computeRdp,
  sampledGaussianRdp,
  rdpToEpsilon,
  findNoiseMultiplier,
  logErfc,
} from "./rdpAccountant";
export type { RdpConversion, PrivacySpent, RdpHistoryEntry, RdpAccountantOptions } from "./rdpAccountant";
export { DpStrategy } from "./dpStrategy";
export type { DpSide, DpStrategyOptions, DpRoundRecord } from "./dpStrategy";
export { DpFixedClipping } from "./dpFixedClipping";
export type { DpFixedClippingOptions } from "./dpFixedClipping";
export { DpAdaptiveClipping } from "./dpAdaptiveClipping";
export type { DpAdaptiveClippingOptions } from "./dpAdaptiveClipping";
export {
  SecAggParticipant,
  SecAggServer,
  createFixedPointCodec,
  encodeFixedPoint,
  decodeFixedPoint,
  sumMod32,
  expandMask,
  simulateSecureSum,
} from "./secureAggregation";
export type { FixedPointCodec, PublicKeyDirectory, SecAggServerOptions, SecureSumResult } from "./secureAggregation";
export * from "./secureRound";
export * from "./secagg/index";
export { SecureAggregation, pairwiseMasking } from "./secureAggregationStrategy";
export type {
  SecureAggregationStrategyOptions,
  SecureAggregationProtocolName,
  SecureMeanProtocol,
  SecureMeanInput,
  SecureMeanOutcome,
  SecAggStage,
  SecAggDropout,
} from "./secureAggregationStrategy";
export { SECAGG_STAGES, resolveDropoutProbabilities, drawsDropout, dropoutStage } from "./secAggDropouts";
export type { SecAggDropoutProbabilities } from "./secAggDropouts";
