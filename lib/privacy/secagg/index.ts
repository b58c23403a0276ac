/**
 * Secure aggregation with secret-shared masks (Bonawitz et al. 2017): Shamir sharing, the client
 * and server state machines, their messages, and an in-process driver for one round.
 */
export { runSecAggRound, SECAGG_STEPS } from "./driver";
export type { DropoutPlan, SecAggRoundInput, SecAggRoundResult, SecAggTraffic } from "./driver";
export { SharedMaskClient } from "./client";
export type { SharedMaskClientOptions } from "./client";
export { SharedMaskServer } from "./server";
export type { SharedMaskServerOptions, SharedMaskServerResult } from "./server";
export { SecAggError } from "./errors";
export type { SecAggErrorKind } from "./errors";
export { wireBytes } from "./messages";
export type {
  AdvertiseKeys,
  DirectoryEntry,
  KeyDirectory,
  EncryptedShare,
  ShareKeys,
  ForwardedShares,
  MaskedInput,
  UnmaskRequest,
  RevealedShare,
  UnmaskResponse,
  SecAggMessage,
} from "./messages";
export { shamirSplit, shamirCombine, lagrangeAtZero, SHAMIR_PRIME, SHARE_BYTES, SECRET_BYTES } from "./shamir";
export type { ShamirShare } from "./shamir";
export { osRandom, seededRandom } from "./random";
export type { RandomSource } from "./random";
export { X25519Key, pairMaskSeed, shareEncryptionKey } from "./keys";
export { applyMask, pairSign } from "./masks";
export { encryptShare, decryptShare, SHARE_CIPHER_OVERHEAD } from "./shareCipher";
export { sharedMaskProtocol } from "./secureMeanProtocol";
