// Worker threads of Node 20 do not inherit the main thread's `--import tsx` hooks, so each worker
// starts here, registers tsx itself, then loads its TypeScript entry (workerData.entry).
import { register } from "tsx/esm/api";
import { workerData } from "node:worker_threads";

register();
await import(workerData.entry);
