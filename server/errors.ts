/**
 * Typed errors carry an HTTP status, a stable machine code (the JSON API's `error.code`) and the
 * i18n key of the message a user sees. The error middleware turns them into pages or JSON.
 */
import { DatabaseBusy } from "../db/client.js";
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    /** Key under `errors.` in the message catalogue. */
    readonly messageKey: string,
    /** Field errors for forms and the API, already translated or as i18n keys. */
    readonly details?: Record<string, string>,
  ) {
    super(code);
    this.name = new.target.name;
  }
}

export class BadRequestError extends HttpError {
  constructor(details?: Record<string, string>) {
    super(400, "bad_request", "badRequest", details);
  }
}

export class ValidationError extends HttpError {
  constructor(details: Record<string, string>) {
    super(422, "validation_failed", "validation", details);
  }
}

export class UnauthorizedError extends HttpError {
  constructor(code = "unauthorized", messageKey = "unauthorized") {
    super(401, code, messageKey);
  }
}

export class ForbiddenError extends HttpError {
  constructor() {
    super(403, "forbidden", "forbidden");
  }
}

export class CsrfError extends HttpError {
  constructor() {
    super(403, "csrf_invalid", "csrf");
  }
}

export class NotFoundError extends HttpError {
  constructor() {
    super(404, "not_found", "notFound");
  }
}

export class TooManyRequestsError extends HttpError {
  constructor() {
    super(429, "too_many_requests", "tooManyRequests");
  }
}

/**
 * Errors raised by Express's own body parsers carry `status`/`type`; they are the client's fault
 * (malformed JSON, oversized body) and must not become a 500.
 */
export function fromBodyParserError(error: unknown): HttpError | undefined {
  // The database stayed locked by another process through every retry: nothing was written.
  if (error instanceof DatabaseBusy) return new HttpError(503, "database_busy", "unavailable");
  // Express's router marks a malformed percent-encoding in a path parameter as a 400 URIError.
  if (error instanceof URIError) return new BadRequestError();
  if (typeof error !== "object" || error === null || !("type" in error)) return undefined;
  const type = (error as { type?: unknown }).type;
  if (type === "entity.too.large") return new HttpError(413, "payload_too_large", "tooLarge");
  if (
    type === "entity.parse.failed" ||
    type === "encoding.unsupported" ||
    type === "charset.unsupported" ||
    type === "request.aborted" ||
    type === "parameters.too.many" ||
    type === "entity.verify.failed"
  ) {
    return new BadRequestError();
  }
  return undefined;
}
