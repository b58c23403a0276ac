/** Personalisation methods: global-only, local-only, FedAvg+FT, FedPer, FedRep, Ditto, FedBN. */
export * from "./personalisation";
export * from "./noPersonalisation";
export * from "./localOnly";
export * from "./fedAvgFineTune";
export * from "./partialSharing";
export * from "./fedPer";
export * from "./fedRep";
export * from "./ditto";
export * from "./fedBn";
export * from "./personalisationSpec";
export * from "./personalisationRegistry";
