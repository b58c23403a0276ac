/**
 * The Flower participant config as part of the experiment schema: one fedtune participant of a
 * real federation — which shipped dataset and which share of it (the experiment's partitioner and
 * split fractions), the model (the experiment's cnn or mlp, plus an initialiser seed), local
 * training (the experiment's `training` section, so the same defaults) and the personalisation
 * method (the experiment's section; absent = "none"). One validator: the same zod pieces, the same
 * `ConfigError` naming the file and each bad field.
 */
import { z } from "zod";
import { ConfigError, configIssuesFromZod } from "./configError";
import { modelSchema, partitionSchema, personalisationSchema, trainingSchema } from "./experimentConfig";

const int = (min: number, max?: number): z.ZodNumber => {
  const n = z.number().int().min(min);
  return max === undefined ? n : n.max(max);
};

const [, cnnKind, mlpKind] = modelSchema.removeDefault().options;
if (cnnKind.shape.kind.value !== "cnn" || mlpKind.shape.kind.value !== "mlp") throw new Error("participantConfigSchema: the experiment schema's model kinds moved");
const seedField = { seed: int(0, 2 ** 31 - 1).default(0).describe("initialiser seed of the model (used by --write-initial-arrays)") };

const data = partitionSchema.shape;

const baseParticipantSchema = z
  .object({
    id: z.string().min(1).describe('name of the participant in logs and reports, e.g. "hospital-1"'),
    dataset: data.dataset,
    partition: data.partitioner,
    participantIndex: int(0).describe("which share of the partition this participant holds (0-based)"),
    numParticipants: int(1, 1000).describe("number of shares the dataset is partitioned into (same on every participant)"),
    seed: int(0, 2 ** 31 - 1).describe("seed of the partition and of local training shuffles (same on every participant)"),
    limit: data.limit,
    validationFraction: data.validationFraction,
    testFraction: data.testFraction,
    model: z
      .discriminatedUnion("kind", [mlpKind.extend(seedField), cnnKind.extend(seedField)])
      .describe("the model architecture (must match the ServerApp's arrays)"),
    training: trainingSchema,
    personalisation: personalisationSchema.removeDefault().optional().describe('the personalisation method; the ServerApp\'s "personalisation" overrides it; default none'),
  })
  .strict();

/** The Flower participant config schema (zod), with the cross-field check participantIndex < numParticipants. */
export const participantConfigSchema = baseParticipantSchema.superRefine((c, ctx) => {
  if (c.participantIndex >= c.numParticipants) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["participantIndex"], message: `must be < numParticipants (${c.numParticipants}), got ${c.participantIndex}` });
  }
});

/** A validated Flower participant config (defaults filled in). */
export type ParticipantConfig = z.output<typeof participantConfigSchema>;

/**
 * Check a parsed JSON value as a Flower participant config and fill in defaults. Throws a
 * `ConfigError` naming `source` (the file) and every bad field.
 */
export function parseParticipantConfigValue(raw: unknown, source: string): ParticipantConfig {
  const result = participantConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(source, configIssuesFromZod(result.error, raw, baseParticipantSchema), "participant config");
}
