import { open, stat, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Makes SQLite commits durable off the event loop. Units of work commit at synchronous=NORMAL, where
 * SQLite writes the WAL frames but does not sync them ("Writers sync the WAL on every transaction
 * commit if PRAGMA synchronous is set to FULL but omit this sync if PRAGMA synchronous is set to
 * NORMAL", sqlite.org/wal.html); an fsync of the WAL file afterwards is that same sync, so every
 * transaction committed before it began survives a power cut (sqlite.org/forum/forumpost/d1a6bc7c4cd2baca).
 * Checkpoints need nothing from here: at NORMAL SQLite still syncs the WAL before each checkpoint,
 * the database file after it, and the WAL header when the file is reused (pragma.html#pragma_synchronous),
 * so frames are only ever overwritten once they are durable in the database file.
 */

/**
 * Flushes shared by concurrent commits: at most one `sync` runs at a time. A commit that finished
 * while one was running waits for the next one (the running one may have begun before its frames
 * were written), and every commit that arrived meanwhile shares that next one.
 */
export function sharedFlushes(sync: () => Promise<void>): () => Promise<void> {
  let running = false;
  let next: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | undefined;
  const run = (): Promise<void> => {
    running = true;
    const flushed = sync();
    const done = () => {
      running = false;
      const waiting = next;
      next = undefined;
      if (waiting) run().then(waiting.resolve, waiting.reject);
    };
    flushed.then(done, done);
    return flushed;
  };
  return () => {
    if (!running) return run();
    if (!next) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      next = { promise, resolve, reject };
    }
    return next.promise;
  };
}

export interface WalFile {
  /**
   * fsyncs the WAL file on libuv's threadpool (and its folder, the first time a WAL file is seen);
   * resolves to the file's size seen just before (0 when there is no WAL file left to flush).
   */
  sync(): Promise<number>;
  /** The connection closed: the file is let go once no sync needs it. */
  close(): void;
}

const isMissing = (error: unknown) => (error as { code?: unknown }).code === "ENOENT";

/**
 * The WAL file of a database, opened lazily and reopened whenever the path names another file
 * (SQLite deletes it when the last connection closes and creates it anew). `connectionOpen` tells
 * whether the connection is still open: once it is not, a missing WAL file means SQLite checkpointed
 * it into the database file (synced) and deleted it, nothing left to flush.
 *
 * A failed fsync is final: the kernel may have dropped the pages it could not write, so a later fsync
 * that succeeds proves nothing about them, and after a power cut SQLite's recovery stops at the first
 * missing frame, taking every later commit with it. Every later sync fails with the same error.
 */
export function walFile(path: string, connectionOpen: () => boolean): WalFile {
  let handle: FileHandle | undefined;
  let inode: { dev: number; ino: number } | undefined;
  let failed: unknown;
  let syncing = false;
  const letGo = () => {
    const previous = handle;
    handle = undefined;
    inode = undefined;
    void previous?.close().catch(() => undefined);
  };
  let size = 0;
  const current = async (): Promise<FileHandle | undefined> => {
    let named;
    try {
      named = await stat(path);
    } catch (error) {
      if (isMissing(error) && !connectionOpen()) return undefined;
      throw error;
    }
    size = named.size;
    if (handle && inode && inode.dev === named.dev && inode.ino === named.ino) return handle;
    letGo();
    const opened = await open(path, "r");
    try {
      const seen = await opened.stat();
      // The file's name in its folder must survive a power cut too (SQLite syncs the folder as well,
      // at the first sync of a WAL file it created; this costs one fsync per new WAL file).
      const folder = await open(dirname(path), "r");
      try {
        await folder.sync();
      } finally {
        await folder.close();
      }
      handle = opened;
      inode = { dev: seen.dev, ino: seen.ino };
      return opened;
    } catch (error) {
      await opened.close();
      throw error;
    }
  };
  return {
    async sync() {
      if (failed !== undefined) throw failed;
      syncing = true;
      try {
        const file = await current();
        if (!file) return 0;
        try {
          await file.sync();
        } catch (error) {
          failed = error;
          throw error;
        }
        return size;
      } finally {
        syncing = false;
        if (!connectionOpen()) letGo();
      }
    },
    close() {
      if (!syncing) letGo();
    },
  };
}
