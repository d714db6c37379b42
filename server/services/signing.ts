import { randomBytes } from "node:crypto";
import { unitOfWork, type Db } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { updateStudy } from "../../db/queries/studies.js";
import type { Study } from "../../db/schema.js";
import { canonicalSigned, MAX_VALUE_LENGTH, SIGNATURE_PARAM, signParams } from "../domain/pass-through.js";

/**
 * The study's signing secret: the HMAC key a panel signs pass-through parameters (rid) with, so
 * that nobody can change them in the address. Researchers read it and rotate it; viewers never see it.
 */

/** 32 random bytes as base64url (43 characters); the key is this text itself, not its decoding. */
export function newSigningSecret(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Replaces the study's secret and records who did it (never the secret itself), in one
 * transaction. Signatures made with the old secret are refused from now on.
 */
export async function rotateSigningSecret(db: Db, study: Pick<Study, "id">, actorId: number, via: "web" | "api"): Promise<string> {
  const secret = newSigningSecret();
  await unitOfWork(db, async (tx) => {
    await updateStudy(tx, study.id, { signingSecret: secret });
    await recordAudit(tx, { userId: actorId, action: "study.rotate_secret", entityType: "study", entityId: study.id, details: { via } });
  });
  return secret;
}

/** What a panel needs to sign, as the settings page and the API show it. */
export interface SigningGuide {
  secret: string;
  algorithm: "HMAC-SHA256";
  encoding: "base64url";
  signatureParam: string;
  maxValueLength: number;
  /** A worked example with this study's secret: a link signing `rid` and `panel`. */
  example: { params: Record<string, string>; signedParams: string[]; canonical: string; sig: string; query: string };
}

export function signingGuide(study: Pick<Study, "signingSecret">): SigningGuide {
  const params = { rid: "12345", panel: "7" };
  const signedParams = ["rid", "panel"];
  const sig = signParams(study.signingSecret, params, signedParams);
  return {
    secret: study.signingSecret,
    algorithm: "HMAC-SHA256",
    encoding: "base64url",
    signatureParam: SIGNATURE_PARAM,
    maxValueLength: MAX_VALUE_LENGTH,
    example: { params, signedParams, canonical: canonicalSigned(params, signedParams), sig, query: `rid=12345&panel=7&${SIGNATURE_PARAM}=${sig}` },
  };
}
