import { test } from "node:test";
import assert from "node:assert/strict";
import { gridRuns, runRepetitionGrid } from "../../lib/parallel/repetitionGrid";

test("runRepetitionGrid on one lane is 'for each seed: build; for each method: run; release', results seed-major", async () => {
  const log: string[] = [];
  const out = await runRepetitionGrid({
    seeds: [7, 3],
    methods: 2,
    perSeed: (seed) => {
      log.push(`build ${seed}`);
      return { seed };
    },
    release: (s) => log.push(`release ${s.seed}`),
    run: async (r, shared, lane) => {
      log.push(`run m${r.method} s${r.seed} lane ${lane}`);
      assert.equal(shared.seed, r.seed);
      return `${r.index}:${r.method}/${r.seed}`;
    },
  });
  assert.deepEqual(out, ["0:0/7", "1:1/7", "2:0/3", "3:1/3"]);
  assert.deepEqual(log, ["build 7", "run m0 s7 lane 0", "run m1 s7 lane 0", "release 7", "build 3", "run m0 s3 lane 0", "run m1 s3 lane 0", "release 3"]);
  assert.deepEqual(gridRuns([1, 2], 1), [{ method: 0, seed: 1, index: 0 }, { method: 0, seed: 2, index: 1 }]);
});

test("runRepetitionGrid on several lanes: same results in run order whatever finishes first; each seed built once and released once", async () => {
  const built: number[] = [];
  const released: number[] = [];
  const delays = [30, 0, 10, 0, 20, 0];
  const out = await runRepetitionGrid({
    seeds: [1, 2, 3],
    methods: 2,
    lanes: 3,
    perSeed: (seed) => (built.push(seed), seed * 100),
    release: (v) => released.push(v),
    run: async (r, shared) => {
      await new Promise((ok) => setTimeout(ok, delays[r.index]));
      return shared + r.method;
    },
  });
  assert.deepEqual(out, [100, 101, 200, 201, 300, 301]);
  assert.deepEqual([...built].sort(), [1, 2, 3]);
  assert.deepEqual([...released].sort(), [100, 200, 300]);
});

test("runRepetitionGrid: a failing run rejects, lanes start nothing new, and every seed that was built is released after its running runs end", async () => {
  const released: number[] = [];
  let running = 0;
  let releasedWhileRunning = false;
  await assert.rejects(
    runRepetitionGrid({
      seeds: [1, 2, 3],
      methods: 2,
      lanes: 2,
      perSeed: (seed) => seed,
      release: (v) => {
        if (running > 0) releasedWhileRunning = true;
        released.push(v);
      },
      run: async (r) => {
        running++;
        try {
          if (r.index === 0) throw new Error("run 0 broke");
          await new Promise((ok) => setTimeout(ok, 20));
          return r.index;
        } finally {
          running--;
        }
      },
    }),
    /run 0 broke/,
  );
  assert.equal(releasedWhileRunning, false);
  assert.deepEqual(released, [1]);
});

test("runRepetitionGrid: errors name the caller and the value", async () => {
  const run = async (): Promise<number> => 1;
  await assert.rejects(runRepetitionGrid({ caller: "compareMethods", seeds: [], methods: 1, run }), /compareMethods: seeds must list at least one seed/);
  await assert.rejects(runRepetitionGrid({ seeds: [1, 2, 1], methods: 1, run }), /runRepetitionGrid: seeds lists a seed twice \(1\): 1, 2, 1/);
  await assert.rejects(runRepetitionGrid({ seeds: [1], methods: 0, run }), /methods must be an integer ≥ 1, got 0/);
  await assert.rejects(runRepetitionGrid({ seeds: [1], methods: 1, lanes: 0, run }), /lanes must be an integer ≥ 1, got 0/);
});
