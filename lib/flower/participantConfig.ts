/**
 * The JSON file that describes one fedtune participant of a Flower federation. Its schema is part
 * of the experiment schema (lib/experiment/participantConfigSchema.ts): the experiment's
 * partitioner, split fractions, cnn/mlp model, `training` section (so the same local-training
 * defaults as every run) and personalisation section. Errors name the file and every bad field.
 */
import * as fs from "fs";
import { parseParticipantConfigValue } from "../experiment/participantConfigSchema";
import type { ParticipantConfig } from "../experiment/participantConfigSchema";

export type { ParticipantConfig } from "../experiment/participantConfigSchema";

/** Check a parsed JSON value as a participant config; `source` (a path) names it in every error. */
export function parseParticipantConfig(value: unknown, source = "participant config"): ParticipantConfig {
  return parseParticipantConfigValue(value, source);
}

/** Read and check a participant config file. */
export function readParticipantConfig(path: string): ParticipantConfig {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`participant config ${path}: cannot read it (${(e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`participant config ${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseParticipantConfig(parsed, path);
}
