/** Published results reproduced with fedtune's parts: McMahan et al. 2017 (FedSGD vs FedAvg) and PFLlib's personalised-FL benchmark. */
export * from "./fedAvgPaper";
export * from "./pflBenchmark";
export * from "./seededRuns";
export * from "./resumableFederation";
export * from "./reproductionLanes";
