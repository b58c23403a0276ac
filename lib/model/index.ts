/** fedtune models: builders, weights in and out of tfjs, freezing, saving, and the local trainer. */
export * from "./weights";
export * from "./weightOps";
export * from "./modelWeights";
export * from "./initializers";
export * from "./mlp";
export * from "./cnn";
export * from "./freeze";
export * from "./io";
export * from "./pretrainingInfo";
export * from "./loss";
export * from "./sgdMomentum";
export * from "./trainer";
