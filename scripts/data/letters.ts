/**
 * The `letters` dataset: the 26 Latin letters (upper and lower case in one class, as in EMNIST Letters)
 * rendered from every usable font of a fixed list of Debian font packages, MNIST-style (20×20 box,
 * centre of mass at the centre of 28×28), one rendering per font and letter with a seeded small
 * rotation, shear and thickening. Train and test hold *different font families*.
 *
 * It is the public pretraining set of fedtune's shipped body: images and classes that no participant
 * holds (the participants hold digits and clothes). Rendering is done by Debian's Pillow + FreeType
 * (scripts/data/render_letters.py); every random choice is made here from the build seed.
 */
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { RawSamples } from "./sources";
import type { Rng } from "../../lib/util/rng";

/** The Debian font packages the letters are rendered from (install them first; see data/README.md). */
export const LETTER_FONT_PACKAGES: readonly string[] = [
  "fonts-adf-accanthis", "fonts-adf-baskervald", "fonts-adf-gillius", "fonts-adf-mekanus", "fonts-adf-romande",
  "fonts-adf-tribun", "fonts-adf-verana", "fonts-anonymous-pro", "fonts-averia-gwf", "fonts-beteckna",
  "fonts-blankenburg", "fonts-breip", "fonts-bwht", "fonts-cabin", "fonts-cantarell", "fonts-cmu",
  "fonts-comic-neue", "fonts-crosextra-caladea", "fonts-crosextra-carlito", "fonts-dancingscript",
  "fonts-dejavu-core", "fonts-dejavu-extra", "fonts-dkg-handwriting", "fonts-dustin", "fonts-ebgaramond",
  "fonts-f500", "fonts-fantasma", "fonts-femkeklaver", "fonts-firacode", "fonts-freefont-ttf", "fonts-gfs-didot",
  "fonts-go", "fonts-goudybookletter", "fonts-hack", "fonts-humor-sans", "fonts-inconsolata", "fonts-isabella",
  "fonts-jura", "fonts-kristi", "fonts-lato", "fonts-leckerli-one", "fonts-liberation", "fonts-lindenhill",
  "fonts-linuxlibertine", "fonts-lmodern", "fonts-mononoki", "fonts-oflb-euterpe", "fonts-okolaks",
  "fonts-oldstandard", "fonts-open-sans", "fonts-opendyslexic", "fonts-play", "fonts-prociono",
  "fonts-quattrocento", "fonts-radisnoir", "fonts-roboto-unhinted", "fonts-rufscript", "fonts-sil-andika",
  "fonts-sixtyfour", "fonts-staypuft", "fonts-stix", "fonts-texgyre", "fonts-tomsontalks", "fonts-urw-base35",
  "fonts-vollkorn", "fonts-yusei-magic",
];

/** The 26 classes: upper and lower case of one letter share a class. */
export const LETTER_CLASS_NAMES: readonly string[] = Array.from({ length: 26 }, (_, i) => String.fromCharCode(65 + i));

/** Share of font families held out for the test split. */
const TEST_FAMILY_FRACTION = 0.15;

/** One usable font file. */
export interface LetterFont {
  readonly pkg: string;
  readonly version: string;
  readonly file: string;
  readonly family: string;
  readonly style: string;
  readonly sha256: string;
}

/** The rendered dataset: train and test samples and the fonts of each split. */
export interface LetterSamples {
  readonly train: RawSamples;
  readonly test: RawSamples;
  readonly fonts: ReadonlyArray<LetterFont & { readonly split: "train" | "test" }>;
  /** Font files refused by the probe, with the reason (symbol fonts, missing letters). */
  readonly refused: ReadonlyArray<{ readonly pkg: string; readonly file: string; readonly reason: string }>;
}

const RENDERER = path.join(__dirname, "render_letters.py");
const PYTHON = process.env.FEDTUNE_PYTHON ?? "/usr/bin/python3";

/** The .ttf/.otf files of one installed Debian package and its version; an error names a missing package. */
function packageFonts(pkg: string): { version: string; files: string[] } {
  let version: string;
  let listing: string;
  try {
    version = execFileSync("dpkg-query", ["-W", "-f=${Version}", pkg], { encoding: "utf8" }).trim();
    listing = execFileSync("dpkg", ["-L", pkg], { encoding: "utf8" });
  } catch {
    throw new Error(`letters: Debian package ${pkg} is not installed; install the font packages listed in scripts/data/letters.ts (apt-get install ${pkg})`);
  }
  const files = listing.split("\n").filter((f) => /\.(ttf|otf)$/i.test(f) && fs.statSync(f, { throwIfNoEntry: false })?.isFile()).sort();
  return { version, files };
}

/** Run the Python renderer with one JSON job per line; returns stdout. */
function runRenderer(args: string[], lines: readonly string[]): Buffer {
  try {
    return execFileSync(PYTHON, [RENDERER, ...args], { input: lines.join("\n") + "\n", maxBuffer: 1 << 30 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`letters: ${RENDERER} failed (needs Debian python3-pil): ${err.stderr?.toString().trim() || err.message}`);
  }
}

/** Every font file of the packages, probed: usable ones (all 52 letters, distinct glyphs) and refused ones. */
function probeFonts(): { fonts: LetterFont[]; refused: Array<{ pkg: string; file: string; reason: string }> } {
  const candidates: Array<{ pkg: string; version: string; file: string }> = [];
  for (const pkg of LETTER_FONT_PACKAGES) {
    const { version, files } = packageFonts(pkg);
    for (const file of files) candidates.push({ pkg, version, file });
  }
  const out = runRenderer(["--probe"], candidates.map((c) => c.file)).toString("utf8").trim().split("\n");
  if (out.length !== candidates.length) throw new Error(`letters: probe answered ${out.length} lines for ${candidates.length} fonts`);
  const fonts: LetterFont[] = [];
  const refused: Array<{ pkg: string; file: string; reason: string }> = [];
  const seen = new Set<string>();
  out.forEach((line, i) => {
    const r = JSON.parse(line) as { font: string; ok: boolean; reason: string | null; family: string; style: string };
    const c = candidates[i];
    if (r.font !== c.file) throw new Error(`letters: probe answered for ${r.font}, expected ${c.file}`);
    const sha256 = createHash("sha256").update(fs.readFileSync(c.file)).digest("hex");
    if (!r.ok) refused.push({ pkg: c.pkg, file: c.file, reason: r.reason ?? "unknown" });
    else if (seen.has(sha256)) refused.push({ pkg: c.pkg, file: c.file, reason: "same file as another font" });
    else fonts.push({ ...c, family: r.family, style: r.style, sha256 });
    seen.add(sha256);
  });
  return { fonts, refused };
}

/** One image to render: a font file, a letter, and its seeded augmentation. */
interface RenderJob {
  readonly font: string;
  readonly char: string;
  readonly rotate: number;
  readonly shear: number;
  readonly thicken: number;
}

/** Render `jobs` and pack them with their class labels. */
function renderSamples(jobs: readonly RenderJob[]): RawSamples {
  const bytes = runRenderer([], jobs.map((j) => JSON.stringify(j)));
  if (bytes.length !== jobs.length * 784) throw new Error(`letters: renderer wrote ${bytes.length} bytes for ${jobs.length} images`);
  const labels = new Uint8Array(jobs.map((j) => j.char.toUpperCase().charCodeAt(0) - 65));
  return { features: new Uint8Array(bytes), labels, count: jobs.length };
}

/**
 * Render the whole dataset: font families split train/test with `rng`, then for every font and each of
 * the 52 letters one image with a rotation in ±12°, an x-shear in ±0.25 and, for 30 %, a thicker stroke.
 * Each split is returned shuffled.
 */
export function renderLetters(rng: Rng): LetterSamples {
  const { fonts, refused } = probeFonts();
  const families = [...new Set(fonts.map((f) => f.family))].sort();
  rng.fork("families").shuffle(families);
  const testFamilies = new Set<string>();
  let testFonts = 0;
  for (const fam of families) {
    if (testFonts >= TEST_FAMILY_FRACTION * fonts.length) break;
    testFamilies.add(fam);
    testFonts += fonts.filter((f) => f.family === fam).length;
  }
  const chars = [...LETTER_CLASS_NAMES, ...LETTER_CLASS_NAMES.map((c) => c.toLowerCase())];
  const aug = rng.fork("augment");
  const jobs: { train: RenderJob[]; test: RenderJob[] } = { train: [], test: [] };
  const split = fonts.map((f) => ({ ...f, split: testFamilies.has(f.family) ? ("test" as const) : ("train" as const) }));
  for (const f of split) {
    for (const char of chars) {
      const rotate = Math.round((aug.next() * 24 - 12) * 100) / 100;
      const shear = Math.round((aug.next() * 0.5 - 0.25) * 1000) / 1000;
      const thicken = aug.next() < 0.3 ? 1 : 0;
      jobs[f.split].push({ font: f.file, char, rotate, shear, thicken });
    }
  }
  rng.fork("order-train").shuffle(jobs.train);
  rng.fork("order-test").shuffle(jobs.test);
  return { train: renderSamples(jobs.train), test: renderSamples(jobs.test), fonts: split, refused };
}

/** The font table written beside the data (data/letters/fonts.tsv): what every image was rendered from. */
export function fontsTsv(samples: LetterSamples): string {
  const rows = samples.fonts.map((f) => [f.split, f.pkg, f.version, f.file, f.family, f.style, f.sha256].join("\t"));
  const refused = samples.refused.map((r) => ["refused", r.pkg, "", r.file, r.reason, "", ""].join("\t"));
  return ["split\tpackage\tversion\tfile\tfamily\tstyle\tsha256", ...rows, ...refused].join("\n") + "\n";
}
