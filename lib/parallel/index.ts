/** Parallel local training: a worker-thread pool executor, and personalisation methods as data for the workers. */
export * from "./workerPoolFitExecutor";
