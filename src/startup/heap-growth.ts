import v8 from 'node:v8';

/**
 * Old-generation growth: the limit after each full collection becomes 4 × the live heap (V8's
 * dynamic factor, 1.1–4, sat at 1.1 under the frames load). V8 counts external memory allocated
 * since the last full collection against that limit, and every WADO-RS frame brings ~0.5 MB of
 * socket-read Buffers: with the gateway's ~20 MB live heap that meant a full Mark-Compact every ~15
 * frames, much of the frames path's CPU beyond nginx's (bench/README.md, "Issue 16", "Garbage
 * collector"). The price is memory: a few tens of MB more between collections. A value given on the
 * command line (`node --heap-growing-percent=N`) or in NODE_OPTIONS wins.
 */
export const HEAP_GROWING_PERCENT = 300;

/** The V8 flag to set, or undefined when the operator chose a value (`node` command line or NODE_OPTIONS). */
export function heapGrowthFlag(execArgv: readonly string[], nodeOptions = ''): string | undefined {
  const chosen = [...execArgv, ...nodeOptions.split(/\s+/)].some((flag) => /^--heap[-_]growing[-_]percent\b/.test(flag));
  return chosen ? undefined : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

export function widenHeapGrowth(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env['NODE_OPTIONS']): void {
  const flag = heapGrowthFlag(execArgv, nodeOptions);
  if (flag) v8.setFlagsFromString(flag);
}
