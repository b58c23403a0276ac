/**
 * The record that `npm run pretrain` writes next to the pretrained checkpoint
 * (`<dir>/pretraining.json`): what was trained, how, how long, how well, and the learning curves.
 * One reader and one schema for everything that reads it (the runner's run.json line "what the body
 * saw", the report, notebook 02): every field is checked, and an error names the file and the field.
 */
import * as fs from "fs";
import * as path from "path";
import type { EpochRecord } from "./trainer";

/** Contents of pretraining.json. */
export interface PretrainingInfo {
  /** What the checkpoint is. */
  readonly description: string;
  /** One line: what the body saw (records written before the field existed give their description). */
  readonly saw: string;
  /** Training and validation set sizes and class names, the dataset's name and how validation was drawn (when recorded). */
  readonly data: {
    readonly train: number;
    readonly validation: number;
    readonly classes: readonly string[];
    readonly dataset: string | undefined;
    readonly validationNote: string | undefined;
  };
  /** Training options (epochs, batchSize, learningRate, momentum, seed, earlyStoppingPatience). */
  readonly options: Readonly<Record<string, number>>;
  /** tfjs backend it trained on. */
  readonly backend: string;
  /** Wall-clock seconds of training. */
  readonly seconds: number;
  /** Validation loss and accuracy of the saved weights. */
  readonly validation: { readonly loss: number; readonly accuracy: number; readonly numExamples: number };
  /** Per-epoch training and validation loss (turn into a table with `epochCurves`). */
  readonly history: readonly EpochRecord[];
}

/** Options of `readPretrainingInfo`. */
export interface ReadPretrainingInfoOptions {
  /** A folder without pretraining.json (a model the user saved) gives undefined instead of an error. */
  readonly optional: true;
}

/**
 * Read and check `<dir>/pretraining.json`; a missing file (unless `optional`), bad JSON or a missing
 * or mistyped field is an error naming the file and the field.
 */
export function readPretrainingInfo(dir: string): PretrainingInfo;
/** As above, but undefined when `<dir>` has no pretraining.json. */
export function readPretrainingInfo(dir: string, options: ReadPretrainingInfoOptions): PretrainingInfo | undefined;
export function readPretrainingInfo(dir: string, read?: ReadPretrainingInfoOptions): PretrainingInfo | undefined {
  const file = path.join(dir, "pretraining.json");
  if (read?.optional === true && !fs.existsSync(file)) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`readPretrainingInfo: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`readPretrainingInfo: ${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const fail = (field: string, want: string, got: unknown): never => {
    throw new Error(`readPretrainingInfo: ${file}: field "${field}" must be ${want}, got ${JSON.stringify(got)}`);
  };
  const obj = (v: unknown, field: string): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(field, "an object", v));
  const num = (v: unknown, field: string): number => (typeof v === "number" ? v : fail(field, "a number", v));
  const str = (v: unknown, field: string): string => (typeof v === "string" ? v : fail(field, "a string", v));
  const optionalStr = (v: unknown, field: string): string | undefined => (v === undefined ? undefined : str(v, field));
  const root = obj(json, "(root)");
  const data = obj(root.data, "data");
  const classes = Array.isArray(data.classes) ? data.classes.map((c, i) => str(c, `data.classes[${i}]`)) : fail("data.classes", "an array of strings", data.classes);
  const options = obj(root.options, "options");
  const validation = obj(root.validation, "validation");
  const history = Array.isArray(root.history) ? root.history : fail("history", "an array of epoch records", root.history);
  const description = str(root.description, "description");
  return {
    description,
    saw: optionalStr(root.saw, "saw") ?? description,
    data: {
      train: num(data.train, "data.train"),
      validation: num(data.validation, "data.validation"),
      classes,
      dataset: optionalStr(data.dataset, "data.dataset"),
      validationNote: optionalStr(data.validationNote, "data.validationNote"),
    },
    options: Object.fromEntries(Object.entries(options).map(([k, v]) => [k, num(v, `options.${k}`)])),
    backend: str(root.backend, "backend"),
    seconds: num(root.seconds, "seconds"),
    validation: { loss: num(validation.loss, "validation.loss"), accuracy: num(validation.accuracy, "validation.accuracy"), numExamples: num(validation.numExamples, "validation.numExamples") },
    history: history.map((e, i) => {
      const r = obj(e, `history[${i}]`);
      // JSON has no NaN: a validation loss that was not computed is written as null.
      const valLoss = r.valLoss === null ? NaN : num(r.valLoss, `history[${i}].valLoss`);
      return { epoch: num(r.epoch, `history[${i}].epoch`), trainLoss: num(r.trainLoss, `history[${i}].trainLoss`), valLoss };
    }),
  };
}
