/**
 * Reading an experiment config from a file: JSON (`.json`) or YAML (`.yaml`, `.yml`). Syntax errors
 * name the file, line and column; a relative `model.path` is resolved against the config file's
 * folder, so a config and its model can travel together.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { ConfigError } from "./configError";
import type { ExperimentConfig } from "./experimentConfig";
import { parseExperimentConfig } from "./experimentConfig";

/** Parse config text; `format` is taken from the file extension by `loadExperimentConfig`. */
export function parseConfigText(text: string, format: "json" | "yaml", source: string): unknown {
  if (format === "json") {
    try {
      return JSON.parse(text);
    } catch (e) {
      const msg = (e as Error).message;
      const m = /position (\d+)/.exec(msg);
      let where = "";
      if (m) {
        const before = text.slice(0, Number(m[1]));
        const line = before.split("\n").length;
        where = ` at line ${line}, column ${Number(m[1]) - before.lastIndexOf("\n")}`;
      }
      throw new ConfigError(source, [{ path: "(file)", message: `not valid JSON${where}: ${msg}` }]);
    }
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(source, doc.errors.map((e) => ({ path: "(file)", message: `not valid YAML: ${e.message.split("\n")[0]}` })));
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

/** Read, parse and validate the config file at `file` (.json, .yaml or .yml). */
export function loadExperimentConfig(file: string): ExperimentConfig {
  const ext = path.extname(file).toLowerCase();
  const format = ext === ".json" ? "json" : ext === ".yaml" || ext === ".yml" ? "yaml" : undefined;
  if (format === undefined) throw new ConfigError(file, [{ path: "(file)", message: `unknown config format "${ext || "(none)"}"; allowed extensions: .json, .yaml, .yml` }]);
  if (!fs.existsSync(file)) throw new ConfigError(file, [{ path: "(file)", message: "file does not exist" }]);
  const raw = parseConfigText(fs.readFileSync(file, "utf8"), format, file);
  const config = parseExperimentConfig(raw, file);
  if (config.model.kind === "pretrained" && config.model.path !== undefined && !path.isAbsolute(config.model.path)) {
    return { ...config, model: { ...config.model, path: path.resolve(path.dirname(file), config.model.path) } };
  }
  return config;
}
