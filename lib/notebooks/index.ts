/**
 * Run notebooks without Python: a Jupyter client in Node (kernelspec → kernel over ZeroMQ →
 * executed nbformat-4 notebook), an HTML renderer, and a chart check in headless Chromium.
 * Not re-exported from lib/index (it needs zeromq and, for the chart check, puppeteer-core).
 */
export { executeNotebook } from "./executeNotebook";
export type { CellResult, ExecutedNotebook, ExecuteOptions } from "./executeNotebook";
export { KernelClient, KernelTimeoutError } from "./kernelClient";
export type { ExecuteResult, KernelStartOptions } from "./kernelClient";
export { channelAddress, launchKernel } from "./kernelProcess";
export type { ConnectionInfo, LaunchedKernel, LaunchOptions } from "./kernelProcess";
export { findKernelSpec, kernelSearchPath } from "./kernelSpec";
export type { KernelSpec } from "./kernelSpec";
export { OutputCollector } from "./cellOutputs";
export type { NotebookOutput } from "./cellOutputs";
export { parseNotebook, readNotebook, serializeNotebook, validateNotebook, writeNotebook } from "./notebookFile";
export type { Notebook, NotebookCell } from "./notebookFile";
export { renderHtml } from "./renderHtml";
export { checkCharts, findChromium, findSystemChromium, launchBrowser } from "./checkCharts";
export type { BrowserChoice, PageCheck } from "./checkCharts";
export { compareOutputs } from "./compareOutputs";
