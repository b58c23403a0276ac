/**
 * Open HTML files in headless Chromium, offline, and check that every fedtune chart drew (plotly's
 * SVG is in the page) and that no page script threw. The browser: FEDTUNE_CHROMIUM, else the system
 * Chromium/Chrome, else the Chromium shipped inside the `@sparticuz/chromium` npm package (a
 * devDependency: unpacked once to the temp folder, never downloaded). `puppeteer-core` drives it.
 */
import * as fs from "fs";
import * as path from "path";
import type { Browser } from "puppeteer-core";

/** Where a browser was found. */
export interface BrowserChoice {
  readonly executablePath: string;
  /** "env" (FEDTUNE_CHROMIUM), "system" or "npm" (@sparticuz/chromium). */
  readonly source: "env" | "system" | "npm";
}

const SYSTEM_BROWSERS = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

/** A system (or FEDTUNE_CHROMIUM) Chromium, if there is one; no npm fallback. */
export function findSystemChromium(): BrowserChoice | undefined {
  const forced = process.env.FEDTUNE_CHROMIUM;
  if (forced) {
    if (!fs.existsSync(forced)) throw new Error(`FEDTUNE_CHROMIUM=${forced}: no such file`);
    return { executablePath: forced, source: "env" };
  }
  const found = SYSTEM_BROWSERS.find((p) => fs.existsSync(p));
  return found ? { executablePath: found, source: "system" } : undefined;
}

/** The browser to use: FEDTUNE_CHROMIUM, the system Chromium, else the npm-packaged one (undefined if none). */
export async function findChromium(): Promise<BrowserChoice | undefined> {
  const system = findSystemChromium();
  if (system) return system;
  let mod: { default: { executablePath(): Promise<string> } };
  try {
    mod = (await import("@sparticuz/chromium")) as unknown as typeof mod;
  } catch {
    return undefined; // not installed (e.g. fedtune installed as a library without devDependencies)
  }
  return { executablePath: await mod.default.executablePath(), source: "npm" };
}

/** Result of checking one page. */
export interface PageCheck {
  readonly file: string;
  /** fedtune charts in the page (`div.fedtune-plot`). */
  readonly charts: number;
  /** Charts with plotly's SVG drawn. */
  readonly drawn: number;
  /** Uncaught page errors. */
  readonly errors: readonly string[];
}

const LAUNCH_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** Launch headless Chromium at `executablePath` (puppeteer-core). */
export async function launchBrowser(executablePath: string): Promise<Browser> {
  const puppeteer = (await import("puppeteer-core")).default;
  return puppeteer.launch({ executablePath, headless: true, args: LAUNCH_ARGS });
}

/** Load each HTML file offline and count its charts and drawn charts. */
export async function checkCharts(files: readonly string[], executablePath?: string): Promise<PageCheck[]> {
  const exe = executablePath ?? (await findChromium())?.executablePath;
  if (!exe) throw new Error("no Chromium found: install the devDependencies (@sparticuz/chromium) or a system Chromium, or set FEDTUNE_CHROMIUM");
  const browser = await launchBrowser(exe);
  const results: PageCheck[] = [];
  try {
    for (const file of files) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      // Offline by design: any request leaving the machine fails (charts must be self-contained;
      // nbconvert's template may reference CDNs for MathJax/require, which we ignore).
      await page.setRequestInterception(true);
      page.on("request", (req) => {
        if (req.url().startsWith("file:") || req.url().startsWith("data:")) void req.continue();
        else void req.abort();
      });
      await page.goto("file://" + path.resolve(file), { waitUntil: "load", timeout: 120_000 });
      await page
        .waitForFunction(
          () => Array.from(document.querySelectorAll("div.fedtune-plot")).every((d) => d.querySelector("svg.main-svg") !== null),
          { timeout: 30_000 },
        )
        .catch(() => undefined);
      const counts = await page.evaluate(() => {
        const divs = Array.from(document.querySelectorAll("div.fedtune-plot"));
        return { charts: divs.length, drawn: divs.filter((d) => d.querySelector("svg.main-svg") !== null).length };
      });
      results.push({ file, charts: counts.charts, drawn: counts.drawn, errors });
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return results;
}
