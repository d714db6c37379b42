import type { z } from "zod";
import type { Translate } from "./i18n/index.js";

export type FieldErrors = Record<string, string>;
export type FormResult<T> = { ok: true; data: T } | { ok: false; errors: FieldErrors };

/**
 * Parses a form body with a zod schema and turns its issues into translated messages, one per
 * field. Schemas name i18n keys as their messages (`"validation.required"`, or an area's own key);
 * bounds are passed on.
 */
export function parseForm<S extends z.ZodType>(schema: S, body: unknown, t: Translate): FormResult<z.output<S>> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return { ok: true, data: parsed.data };
  // No prototype, own keys only: a field named "constructor" must not read as already answered.
  const errors: FieldErrors = Object.create(null);
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? "form");
    if (Object.hasOwn(errors, field)) continue;
    errors[field] = translateIssue(issue, t);
  }
  return { ok: false, errors };
}

function translateIssue(issue: z.core.$ZodIssue, t: Translate): string {
  const params = {
    min: "minimum" in issue ? Number(issue.minimum) : undefined,
    max: "maximum" in issue ? Number(issue.maximum) : undefined,
  };
  // Schemas name message keys ("validation.tooLong", "quality.errors.reason"): translate them.
  if (/^[a-z]\w*(\.\w+)+$/.test(issue.message)) return t(issue.message, params);
  switch (issue.code) {
    case "too_small":
      return t("validation.tooShort", params);
    case "too_big":
      return t("validation.tooLong", params);
    case "invalid_value":
      return t("validation.oneOf");
    default:
      return t("validation.required");
  }
}

/** A text field: trimmed, required unless said otherwise, bounded. Forms send strings or arrays. */
export function formText(zod: typeof z, max: number) {
  return zod
    .string("validation.required")
    .trim()
    .min(1, "validation.required")
    .max(max, "validation.tooLong");
}
