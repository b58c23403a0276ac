/** Ready-made scenarios: the document's three-participant setting, self-supervised pretext tasks. */
export * from "./documentScenario";
export * from "./rotationPretext";
export * from "./transfer";
export * from "./compareMethods";
export * from "./labelSkewScenario";
