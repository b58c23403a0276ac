/**
 * What a pretrained body saw: the `pretraining.json` that `npm run pretrain` writes beside a saved
 * model, read back so that runs, reports and notebooks can say it in one line.
 */
import * as fs from "fs";
import * as path from "path";

/** The part of pretraining.json that says what the body was trained on. */
export interface PretrainedBodyInfo {
  /** The model folder. */
  readonly dir: string;
  /** One line: what the body saw (e.g. "letters A–Z rendered from 466 fonts …"). */
  readonly saw: string;
  /** A longer description of the body and its pretraining. */
  readonly description: string;
  /** Accuracy on the pretraining validation split, if recorded. */
  readonly validationAccuracy: number | undefined;
}

/**
 * Read `<dir>/pretraining.json`; undefined when the folder has none (a model the user saved), an
 * error naming the file when it is there but says nothing usable.
 */
export function readPretrainedBodyInfo(dir: string): PretrainedBodyInfo | undefined {
  const file = path.join(dir, "pretraining.json");
  if (!fs.existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const r = raw as { saw?: unknown; description?: unknown; validation?: { accuracy?: unknown } } | null;
  if (r === null || typeof r !== "object") throw new Error(`${file}: expected an object`);
  const description = typeof r.description === "string" ? r.description : "";
  const saw = typeof r.saw === "string" ? r.saw : description;
  if (saw === "") throw new Error(`${file}: field "saw" (what the body was trained on) is missing`);
  const acc = r.validation && typeof r.validation.accuracy === "number" ? r.validation.accuracy : undefined;
  return { dir, saw, description, validationAccuracy: acc };
}
