/**
 * Experiments from a config: the schema (zod) with defaults and clear errors, building data, model,
 * strategy and personalisation from it, running phase 1 (local fine-tuning) and phase 2 (joint
 * rounds) with checkpoints and resume, progress printing, the final table and the run folder.
 */
export * from "./experimentConfig";
export * from "./configError";
export * from "./configFile";
export * from "./configHelp";
export * from "./schemaIntrospection";
export * from "./buildExperiment";
export * from "./trainingSettings";
export * from "./progress";
export * from "./resultsTable";
export * from "./runFolder";
export * from "./runExperiment";
export * from "./repetitionProtocol";
export * from "./resultsIntervals";
export * from "./runRepetitions";
export * from "./repetitionFolder";
export * from "./setContinuation";
