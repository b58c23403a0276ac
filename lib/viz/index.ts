/** Plots: figures from arquero tables, inline display in notebooks, self-contained HTML. */
export * from "./figure";
export * from "./charts";
export * from "./html";
export * from "./display";
export * from "./labelDistribution";
export * from "./images";
