import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { isMainThread } from "node:worker_threads";

/**
 * The nice value of this process's worker threads (results, review queue, flags recompute, XLSX
 * exports): work no respondent waits for. Where a worker shares a core with the event loop that
 * serves respondents (two cores here, the app pinned to one in the benchmarks), the kernel shares
 * it by weight: at equal priority the event loop ran at half speed whenever a worker computed
 * (every event-loop stall over 60 ms of the heavy benchmark had the results worker running beside
 * it); at nice 10 it gets about nine tenths of the core, the worker the rest, and all of an idle one.
 */
export const WORKER_NICE = 10;

/** This thread's id in the kernel (Linux: /proc/thread-self names it), or undefined elsewhere. */
function threadId(): number | undefined {
  try {
    const id = Number(readlinkSync("/proc/thread-self").split("/").pop());
    return Number.isSafeInteger(id) && id > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lowers the calling worker thread's scheduling priority to WORKER_NICE (on Linux a thread's nice
 * value is its own, set through its thread id); returns that id, or undefined where it cannot (not
 * Linux, or called on the main thread, whose priority is the process's): the thread then runs as before.
 */
export function lowerWorkerPriority(nice = WORKER_NICE): number | undefined {
  if (isMainThread) return undefined;
  const id = threadId();
  if (id === undefined || id === process.pid) return undefined;
  try {
    setPriority(id, nice);
    return id;
  } catch {
    return undefined;
  }
}
