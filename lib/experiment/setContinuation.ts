/**
 * Which config may continue a multi-seed set (`fedtune run --resume <set> [--seeds …]`,
 * `runRepetitions` with `resume`): the set's own config, with the same seeds or more. Everything
 * but the seeds (`seed`, `seeds`, `repetitions`) must be equal, so every kept seed folder is still a
 * repetition of the config; every seed the set already has must still be listed, so the set's
 * summary.csv keeps covering every seed folder in it.
 */
import type { ExperimentConfig } from "./experimentConfig";
import { repetitionSeeds } from "./experimentConfig";
import { firstDifference } from "./repetitionFolder";

/** Why a config cannot continue a set: a field outside the seeds differs, or seeds the set has are left out. */
export type SetContinuationProblem =
  | { readonly kind: "field"; readonly field: string; readonly recorded: unknown; readonly given: unknown }
  | { readonly kind: "seeds"; readonly missing: readonly number[] };

/** What every repetition of `config` shares: the config as JSON without `seed`, `seeds` and `repetitions`. */
export function configBesidesSeeds(config: ExperimentConfig): Record<string, unknown> {
  const { seed: _seed, seeds: _seeds, repetitions: _repetitions, ...rest } = config;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

/** Why `config` cannot continue the set whose config.json is `recorded` (undefined when it can: same config, a superset of its seeds). */
export function setContinuationProblem(recorded: ExperimentConfig, config: ExperimentConfig): SetContinuationProblem | undefined {
  const d = firstDifference(configBesidesSeeds(recorded), configBesidesSeeds(config));
  if (d !== undefined) return { kind: "field", field: d.field, recorded: d.a, given: d.b };
  const listed = new Set(repetitionSeeds(config));
  const missing = repetitionSeeds(recorded).filter((s) => !listed.has(s));
  return missing.length > 0 ? { kind: "seeds", missing } : undefined;
}
