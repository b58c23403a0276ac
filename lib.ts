/** Entry point for notebooks and scripts: `import { ... } from "./lib"` (see lib/index.ts). */
export * from "./lib/index";
