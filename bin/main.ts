/**
 * `npm start`: the default experiment — the document's scenario, end to end. A CNN pretrained on
 * public data; three participants holding MNIST, Fashion-MNIST and UCI digits (600 local samples
 * each); phase 1, each fine-tunes its last layers alone with early stopping (SGD, lr 0.001,
 * momentum 0.9); phase 2, ten joint rounds of FedAvg with FedPer personal heads. Prints the
 * per-participant table and writes runs/<timestamp>-document-scenario/ with report.html.
 *
 * Options: --out <dir>, --rounds <n>, --quiet, --plain, --no-report (see fedtune run --help).
 */
import { documentExperimentConfig, parseExperimentConfig } from "../lib/experiment/index";
import { runAndPrint } from "./cli";

async function main(argv: readonly string[]): Promise<number> {
  let outDir: string | undefined;
  let rounds: number | undefined;
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") outDir = argv[++i];
    else if (argv[i] === "--rounds") rounds = Number(argv[++i]);
    else if (["--quiet", "--plain", "--no-report"].includes(argv[i])) flags.add(argv[i]);
    else {
      process.stderr.write(`npm start: unknown option ${argv[i]}; allowed: --out <dir>, --rounds <n>, --quiet, --plain, --no-report\n`);
      return 2;
    }
  }
  let config = documentExperimentConfig();
  if (rounds !== undefined) config = parseExperimentConfig({ ...config, federation: { ...config.federation, rounds } }, "npm start --rounds");
  process.stderr.write(`fedtune: ${config.description}\n`);
  await runAndPrint(config, { outDir, quiet: flags.has("--quiet"), plain: flags.has("--plain"), report: !flags.has("--no-report") });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`fedtune: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
