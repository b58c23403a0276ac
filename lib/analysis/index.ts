/**
 * fedtune analysis: small verbs on history tables (round, participant, scope, metric, value, plus
 * any label columns), tables in and tables out, in arquero's style. Selecting a round has exactly
 * three meanings, each one verb: `lastValues`, `selectedByValidation` (the result to report; the one
 * definition of "best"), `maxOverRounds` (optimistic).
 */
export { labelColumns, HISTORY_COLUMNS } from "./historyInput";
export type { HistoryInput, LabelledRow } from "./historyInput";
export type { Selection, SelectOptions } from "./roundSelection";
export * from "./lastValue";
export * from "./selectedByValidation";
export * from "./maxOverRounds";
export * from "./lastSelectedMax";
export * from "./summarise";
export * from "./serverMetric";
export * from "./labelRuns";
export * from "./epochCurves";
export * from "./simulatedTimeline";
export * from "./studentT";
export * from "./meanInterval";
export * from "./roundsToTarget";
