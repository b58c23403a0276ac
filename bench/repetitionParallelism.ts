/**
 * Which is faster for a multi-seed run on this machine: one repetition per worker thread
 * (`runRepetitions`, jobs = cores), or the repetitions one after another with the worker pool
 * inside each run (`createWorkerPool` as the run's fit executor), or plain serial? Runs the
 * label-skew scenario (10 participants, the pool's best case) with the same seeds three ways, in
 * one process, checks the three give the same tables, and prints wall-clock ratios to serial.
 *
 *   npx tsx bench/repetitionParallelism.ts [--seeds 0,1,2] [--rounds 10]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { parseExperimentConfig, repetitionDir, runExperiment, runRepetitions, singleSeedConfig } from "../lib/experiment/index";
import { createWorkerPool } from "../lib/parallel/workerPoolFitExecutor";
import { labelSkewExperimentConfig } from "../lib/scenario/labelSkewScenario";

async function main(argv: readonly string[]): Promise<void> {
  const arg = (name: string, d: string): string => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : d);
  const seeds = arg("--seeds", "0,1,2").split(",").map(Number);
  const rounds = Number(arg("--rounds", "10"));
  await initBackend({ log: false });
  const base = labelSkewExperimentConfig();
  const config = parseExperimentConfig({ ...base, seeds, federation: { ...base.federation, rounds } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-bench-reps-"));
  const cores = os.availableParallelism();
  const time = async (f: () => Promise<void>): Promise<number> => {
    const t0 = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  try {
    const serial = await time(async () => void (await runRepetitions(config, { outDir: path.join(dir, "serial"), jobs: 1, report: false })));
    const perWorker = await time(async () => void (await runRepetitions(config, { outDir: path.join(dir, "workers"), jobs: cores, report: false })));
    const pool = createWorkerPool({ size: cores });
    const inside = await time(async () => {
      for (const s of seeds) await runExperiment(singleSeedConfig(config, s), { outDir: path.join(dir, "pool", `seed-${s}`), report: false, fitExecutor: pool });
    });
    await pool.dispose();
    for (const s of seeds) {
      const a = fs.readFileSync(path.join(repetitionDir(path.join(dir, "serial"), s), "summary.csv"), "utf8");
      for (const other of [repetitionDir(path.join(dir, "workers"), s), path.join(dir, "pool", `seed-${s}`)]) {
        if (fs.readFileSync(path.join(other, "summary.csv"), "utf8") !== a) throw new Error(`seed ${s}: ${other} differs from the serial run`);
      }
    }
    const line = (name: string, t: number): string => `${name.padEnd(40)} ${t.toFixed(1).padStart(7)} s   ${(serial / t).toFixed(2)}× serial`;
    console.log(`label-skew scenario, seeds ${seeds.join(",")}, ${rounds} rounds, ${cores} cores (same tables all three ways)`);
    console.log(line("serial (jobs 1)", serial));
    console.log(line(`one repetition per worker (jobs ${cores})`, perWorker));
    console.log(line(`pool of ${cores} inside each run`, inside));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
