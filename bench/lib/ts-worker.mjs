// A worker thread's entry for a TypeScript module: Node 20 does not apply the parent's `--import tsx`
// to worker threads, so the module named in workerData.module is loaded through tsx's API.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.module, import.meta.url);
