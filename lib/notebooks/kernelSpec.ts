/**
 * Find a Jupyter kernelspec (`kernels/<name>/kernel.json`) the way jupyter_client does, without
 * Python: the project's own `jupyter/` folder first, then JUPYTER_PATH, then the user and system
 * data folders.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A kernelspec read from kernel.json. */
export interface KernelSpec {
  readonly name: string;
  /** The folder holding kernel.json (`{resource_dir}` in argv). */
  readonly resourceDir: string;
  /** Command line with `{connection_file}` and `{resource_dir}` placeholders. */
  readonly argv: readonly string[];
  readonly displayName: string;
  readonly language: string;
  readonly env: Readonly<Record<string, string>>;
  /** "signal" (default) or "message". */
  readonly interruptMode: string;
}

/** Folders searched for `kernels/<name>`, in order. */
export function kernelSearchPath(projectRoot?: string): string[] {
  const list: string[] = [];
  if (projectRoot) list.push(path.join(projectRoot, "jupyter"));
  for (const p of (process.env.JUPYTER_PATH ?? "").split(path.delimiter)) if (p) list.push(p);
  list.push(path.join(process.env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share"), "jupyter"));
  list.push("/usr/local/share/jupyter", "/usr/share/jupyter");
  return Array.from(new Set(list.map((p) => path.resolve(p))));
}

/** Read the kernelspec called `name`; the error lists where it was looked for. */
export function findKernelSpec(name: string, projectRoot?: string): KernelSpec {
  const searched = kernelSearchPath(projectRoot);
  for (const dir of searched) {
    const file = path.join(dir, "kernels", name, "kernel.json");
    if (!fs.existsSync(file)) continue;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    const argv = raw.argv;
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === "string")) {
      throw new Error(`${file}: argv must be a non-empty list of strings`);
    }
    return {
      name,
      resourceDir: path.dirname(file),
      argv: argv as string[],
      displayName: typeof raw.display_name === "string" ? raw.display_name : name,
      language: typeof raw.language === "string" ? raw.language : "",
      env: (raw.env && typeof raw.env === "object" ? raw.env : {}) as Record<string, string>,
      interruptMode: typeof raw.interrupt_mode === "string" ? raw.interrupt_mode : "signal",
    };
  }
  throw new Error(`no Jupyter kernel named "${name}": looked for kernels/${name}/kernel.json in ${searched.join(", ")}`);
}
