/**
 * fedtune's public API. Notebooks import it as `./lib` (the root file lib.ts re-exports this one,
 * because tslab resolves `./x` to `x.ts` only, never to a folder's index). For the same reason,
 * files inside lib/ import each other by file (`./viz/index`), never by folder (`./viz`).
 */
export * from "./backend";
export * from "./util/rng";
export * from "./data/index";
export * from "./model/index";
export * from "./federation/index";
export * from "./privacy/index";
export * from "./parallel/index";
export * from "./viz/index";
export * from "./scenario/index";
export * from "./experiment/index";
export * from "./report/index";
export * from "./analysis/index";
export * from "./reproduction/index";
