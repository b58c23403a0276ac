/**
 * The second default scenario, the usual federated setting: participants that share ONE task, each
 * with little data and a skewed label distribution. Ten participants split the first 900
 * Fashion-MNIST training images by the pathological shard partition of McMahan et al. (2017):
 * sorted by label, cut into 20 single-label shards of 38–50, two shards each (at most two labels
 * per participant), seeded. Each keeps its ≤ 100 labelled images as 70 % train / 10 % validation /
 * 20 % test.
 * They fine-tune the shipped body — pretrained on rendered letters, never on clothes — with a fresh
 * 10-class head: phase 1 alone (the local-only baseline), then ten rounds of FedAvg with FedPer heads.
 * Since they share one task, the global model is also scored centrally, on held-out images: the
 * whole shipped Fashion-MNIST test file (2,000 images no participant holds), the table's "central"
 * row (`evaluation.central`, the `CentralEvaluation` wrapper). It only evaluates: every
 * per-participant figure is the same as without it.
 *
 * Nothing here was tuned to make a method win: the sizes follow the issue (≤ 100 labelled images
 * each), and the training settings are the document scenario's (every default of the config).
 */
import type { ExperimentConfig } from "../experiment/experimentConfig";
import { parseExperimentConfig } from "../experiment/experimentConfig";
import type { ExperimentParticipant } from "../experiment/buildExperiment";
import { buildParticipantData } from "../experiment/buildExperiment";

/** Participants of the label-skew scenario. */
export const LABEL_SKEW_PARTICIPANTS = 10;
/** At most this many labelled images per participant (train + validation + test). */
export const LABEL_SKEW_IMAGES_PER_PARTICIPANT = 100;
/**
 * The first 900 training images are partitioned: shards never straddle two labels, so their sizes
 * follow the label counts (38–50 images each) and every participant holds 76–99 images (seeds 0–19).
 */
export const LABEL_SKEW_LIMIT = 900;

/** Held-out images of the central test set: the whole shipped Fashion-MNIST test file. */
export const LABEL_SKEW_CENTRAL_TEST_SIZE = 2000;

/** The label-skew scenario as an experiment config (`npm start` runs it after the document's scenario). */
export function labelSkewExperimentConfig(): ExperimentConfig {
  return parseExperimentConfig(
    {
      name: "label-skew-scenario",
      description:
        `The usual federated setting: ${LABEL_SKEW_PARTICIPANTS} participants share one task (Fashion-MNIST), at most ${LABEL_SKEW_IMAGES_PER_PARTICIPANT} labelled images each, ` +
        "two label shards each (pathological non-IID); pretrained letters body, personalised fine-tuning, then joint fine-tuning rounds (FedAvg + FedPer).",
      data: {
        kind: "partition",
        dataset: "fashion-mnist",
        participants: LABEL_SKEW_PARTICIPANTS,
        limit: LABEL_SKEW_LIMIT,
        partitioner: { kind: "shard", shardsPerParticipant: 2 },
        validationFraction: 0.1,
        testFraction: 0.2,
      },
      evaluation: { central: { dataset: "fashion-mnist", size: LABEL_SKEW_CENTRAL_TEST_SIZE } },
    },
    "labelSkewExperimentConfig",
  );
}

/** The label-skew scenario's participants for `seed` (ids p0…p9), exactly as a run of `labelSkewExperimentConfig()` with that seed builds them. */
export function labelSkewParticipants(seed = 0): ExperimentParticipant[] {
  return buildParticipantData({ ...labelSkewExperimentConfig(), seed });
}
