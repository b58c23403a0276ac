/** fedtune ⇄ Flower: a TypeScript SuperNode for Flower ≥ 1.23's Fleet API, and its fedtune participant app. */
export * from "./records";
export * from "./inflatable";
export * from "./npy";
export * from "./npz";
export * from "./arrayConversion";
export * from "./messageObjects";
export * from "./nodeIdentity";
export * from "./protoSchema";
export * from "./fleetClient";
export * from "./superNode";
export * from "./participantConfig";
export * from "./participantApp";
export * from "./participantRoundMetrics";
