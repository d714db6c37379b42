import { describe, expect, it } from "vitest";
import { WorkerThread } from "../../server/worker-thread.js";

/**
 * Issue 16 (memory): a worker thread without tasks is ended after its idle time, giving its heap
 * back, and the next task starts a new one.
 */

const ECHO = `const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage({ id: m.id, echo: m.value }));`;

type Message = { id: number; value: string };
type Reply = { id: number; echo: string };

function ask(thread: WorkerThread<Message, Reply>, value: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const task = thread.open({
      reply: (reply) => {
        resolve(reply.echo);
        return true;
      },
      fail: reject,
    });
    task.post({ id: task.id, value });
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("worker threads", () => {
  it("end once idle and start again for the next task", async () => {
    const thread = new WorkerThread<Message, Reply>("echo worker", () => ({ script: ECHO, eval: true }), 20);
    try {
      expect(thread.running).toBe(false);
      expect(await ask(thread, "one")).toBe("one");
      while (thread.running) await pause(10);
      expect(await ask(thread, "two")).toBe("two");
      expect(thread.running).toBe(true);
    } finally {
      await thread.stop();
    }
  });

  it("are kept while a task is open, however long it takes", async () => {
    const thread = new WorkerThread<Message, Reply>("echo worker", () => ({ script: ECHO, eval: true }), 1);
    try {
      expect(await ask(thread, "warm")).toBe("warm");
      const task = thread.open({ reply: () => false, fail: () => undefined });
      await pause(50);
      expect(thread.running).toBe(true);
      task.close();
      while (thread.running) await pause(10);
    } finally {
      await thread.stop();
    }
  });
});
