/** Structured logging: one JSON object per line on stdout (stderr for errors). */
type Fields = Record<string, unknown>;

function write(stream: NodeJS.WriteStream, level: string, msg: string, fields?: Fields): void {
  if (logger.silent) return;
  stream.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + "\n");
}

export const logger = {
  /** Tests silence the log; nothing else should. */
  silent: process.env["LOG_SILENT"] === "1",
  info: (msg: string, fields?: Fields) => write(process.stdout, "info", msg, fields),
  warn: (msg: string, fields?: Fields) => write(process.stdout, "warn", msg, fields),
  error: (msg: string, error: unknown, fields?: Fields) =>
    write(process.stderr, "error", msg, {
      ...fields,
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    }),
};
