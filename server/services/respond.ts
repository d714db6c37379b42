import { randomBytes } from "node:crypto";
import { isPostgres, unitOfWork, type Db, type Executor } from "../../db/client.js";
import {
  claimPersonalLink,
  countLinkUse,
  findLinkContext,
  findLinkContextKept,
  findLinkContextWithQuota,
  findQuota,
  type KeptLinkContext,
  lockQuota,
  type LinkContext,
  type QuotaState,
} from "../../db/queries/fieldwork.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import {
  DuplicateNonceError,
  findBrowserResponse,
  findBrowserResponseForPost,
  findLinkResponse,
  findResponseByNonce,
  findResponseForPost,
  replaceAnswers,
  startResponse,
  storePage,
  updateResponse,
  type ResponseProgress,
} from "../../db/queries/responses.js";
import type { Locale, QualityFlag, Study, SurveyResponse } from "../../db/schema.js";
import { validatePage, type AnswerError, type PageValidation } from "../domain/answers.js";
import { fillRedirect } from "../domain/pass-through.js";
import { paginate, type SurveyQuestion } from "../domain/questionnaire.js";
import { rotatedOrder } from "../domain/rotation.js";
import { hmac, randomBase64url, safeEqual } from "../domain/secrets.js";
import { Lru } from "../lru.js";
import { ownFlags } from "../quality/flag-service.js";

/**
 * The respondent flow, free of Express: resolve a link, decide what a visitor sees, and store a
 * submitted page durably and exactly once.
 */

/**
 * A link that answers: open, closed (known study, so its language), or unknown. An open link
 * resolved with `quota` carries its segment's quota as read with it.
 */
export type ResolvedLink = { kind: "open"; ctx: LinkContext; quota?: QuotaState } | { kind: "closed"; ctx: LinkContext } | { kind: "not_found" };

/** Links whose context one process keeps (a context is a few kilobytes). */
const CONTEXTS_KEPT = 1000;

/** Link contexts kept in process per token, each with the versions of its rows (findLinkContextKept). */
export type LinkContextCache = Lru<string, KeptLinkContext>;

export function linkContextCache(capacity = CONTEXTS_KEPT): LinkContextCache {
  return new Lru<string, KeptLinkContext>(capacity);
}

/**
 * `quota`: read the segment's quota in the same query (a first visit needs it; see quotaFull).
 * `contexts`: the context is taken from there when its rows have not changed since (one narrow
 * statement instead of the wide one; a change is seen at the very next request, made through any
 * connection or instance). What is kept is frozen, as every request shares it.
 */
export async function resolveLink(db: Db, token: string, options: { quota?: boolean; contexts?: LinkContextCache } = {}): Promise<ResolvedLink> {
  if (!/^[A-Za-z0-9_-]{10,64}$/.test(token)) return { kind: "not_found" };
  let quota: QuotaState | undefined;
  let ctx: LinkContext | undefined;
  if (options.contexts) {
    const kept = options.contexts.get(token);
    const found = await findLinkContextKept(db, token, kept, options);
    if (found) {
      if (found.ctx !== kept?.ctx) options.contexts.set(token, { ctx: frozenContext(found.ctx), versions: found.versions });
      ({ ctx, quota } = found);
    }
  } else if (options.quota) {
    const found = await findLinkContextWithQuota(db, token);
    if (found) ({ quota, ...ctx } = found);
  } else {
    ctx = await findLinkContext(db, token);
  }
  if (!ctx || ctx.link.disabledAt || ctx.study.status === "archived") return { kind: "not_found" };
  if (ctx.wave.status !== "open") return { kind: "closed", ctx };
  return quota ? { kind: "open", ctx, quota } : { kind: "open", ctx };
}

function frozenContext(ctx: LinkContext): LinkContext {
  for (const row of [ctx.link, ctx.wave, ctx.segment, ctx.study]) Object.freeze(row);
  return Object.freeze(ctx);
}

/** Who is answering: salted hashes only, never the raw cookie or address. */
export interface Respondent {
  browserHash: string | null;
  networkHash: string;
  /** The browser id was made for this request: nothing can be stored under it yet. */
  newBrowser: boolean;
}

export function respondentHashes(secret: string, browserId: string | undefined, ip: string, userAgent: string, newBrowser = false): Respondent {
  let networkHash: string | undefined;
  return {
    browserHash: browserId ? hmac(secret, `browser|${browserId}`) : null,
    // Only a stored page needs it: a page view does not compute it.
    get networkHash() {
      return (networkHash ??= hmac(secret, `network|${ip}|${userAgent}`));
    },
    newBrowser,
  };
}

/** Whether this browser may have responses to look up (not the case for an id just made). */
const knownBrowser = (who: Respondent): who is Respondent & { browserHash: string } => who.browserHash !== null && !who.newBrowser;

/** The response this visitor already has on this wave: by link for personal links, by browser for open ones. */
export async function existingResponse(db: Executor, ctx: LinkContext, who: Respondent): Promise<SurveyResponse | undefined> {
  if (ctx.link.kind === "personal") return findLinkResponse(db, ctx.link.id);
  return knownBrowser(who) ? findBrowserResponse(db, ctx.wave.id, who.browserHash) : undefined;
}

/**
 * Whether the segment's target of completes is reached. Checked when a respondent starts and
 * again in the transaction that would complete their response: only the second check is
 * exact, because completes race between the two (see submitPage). `asRead`: the quota read with
 * the link (resolveLink), for the first check only.
 */
export async function quotaFull(db: Executor, ctx: LinkContext, asRead?: QuotaState): Promise<boolean> {
  const { target, completed } = asRead ?? (await findQuota(db, ctx.wave.id, ctx.segment.id));
  return target !== null && completed >= target;
}

// ------------------------------------------------------------------ form tokens

/** Hidden fields of every rendered survey form: which response, since when, signed. */
export interface FormToken {
  nonce: string;
  startedAt: number;
  signature: string;
}

export function newFormToken(secret: string, linkToken: string, now = Date.now()): FormToken {
  const nonce = randomBase64url(16);
  return { nonce, startedAt: now, signature: signForm(secret, linkToken, nonce, now) };
}

export function resumedFormToken(secret: string, linkToken: string, response: SurveyResponse): FormToken {
  const startedAt = response.startedAt.getTime();
  return { nonce: response.nonce, startedAt, signature: signForm(secret, linkToken, response.nonce, startedAt) };
}

function signForm(secret: string, linkToken: string, nonce: string, startedAt: number): string {
  return hmac(secret, `form|${linkToken}|${nonce}|${startedAt}`);
}

/** The form token from a posted body, or undefined when missing, forged or from another link. */
export function readFormToken(secret: string, linkToken: string, body: Record<string, unknown>, now = Date.now()): FormToken | undefined {
  const { _n: nonce, _t: t, _s: signature } = body;
  if (typeof nonce !== "string" || typeof t !== "string" || typeof signature !== "string") return undefined;
  if (!/^[A-Za-z0-9_-]{16,32}$/.test(nonce) || !/^\d{1,15}$/.test(t)) return undefined;
  const startedAt = Number(t);
  if (startedAt > now + 60_000) return undefined;
  if (!safeEqual(signature, signForm(secret, linkToken, nonce, startedAt))) return undefined;
  return { nonce, startedAt, signature };
}

// ------------------------------------------------------------------ pages

export interface SurveyPage {
  questions: SurveyQuestion[];
  /** Index of this page and how many there are. */
  index: number;
  count: number;
  /** Number of the first question on this page (1-based) and of questions in all. */
  firstNumber: number;
  total: number;
  /** Option keys in display order, per question key. */
  order: Record<string, string[]>;
}

/**
 * The seed that fixes option order before a response exists: the personal link, or this
 * browser on this wave. A reload renders the same order; a stored response keeps its own.
 */
export function rotationSeed(ctx: LinkContext, who: Respondent): string {
  return ctx.link.kind === "personal" ? `link|${ctx.link.token}` : `browser|${who.browserHash ?? randomBytes(8).toString("hex")}|${ctx.wave.id}`;
}

export function optionOrders(questions: readonly SurveyQuestion[], seed: string): Record<string, string[]> {
  const order: Record<string, string[]> = {};
  for (const q of questions) {
    if (q.randomize && q.options.length > 1) order[q.key] = rotatedOrder(q.options, seed, q.key);
  }
  return order;
}

/** Studies whose questionnaire one process keeps (a questionnaire is a few kilobytes to tens of them). */
const QUESTIONNAIRES_KEPT = 200;

/**
 * The questionnaires respondents are answering, kept in process per study and `studies.version`
 * (raised by database triggers on any change of the study, its questions or options). The version
 * comes from the link-context query of the same request, so a change made through any instance is
 * seen at the very next request: an old version's entry is only never asked for again. What is
 * kept is frozen, as every request shares it.
 */
export function questionnaireCache(db: Db, capacity = QUESTIONNAIRES_KEPT): (study: Pick<Study, "id" | "version">) => Promise<readonly SurveyQuestion[]> {
  const kept = new Lru<number, { version: number; questions: Promise<readonly SurveyQuestion[]> }>(capacity);
  return (study) => {
    const entry = kept.get(study.id);
    if (entry?.version === study.version) return entry.questions;
    const questions = loadQuestionnaire(db, study.id).then(frozen);
    // Requests arriving while it loads share the one read; a failed read is not kept.
    kept.set(study.id, { version: study.version, questions });
    questions.catch(() => {
      if (kept.get(study.id)?.questions === questions) kept.delete(study.id);
    });
    return questions;
  };
}

function frozen(questions: SurveyQuestion[]): readonly SurveyQuestion[] {
  for (const q of questions) {
    for (const o of q.options) Object.freeze(o);
    Object.freeze(q.options);
    Object.freeze(q);
  }
  return Object.freeze(questions);
}

export function surveyPage(questions: readonly SurveyQuestion[], pageSize: number | null, index: number, order: Record<string, string[]>): SurveyPage {
  const pages = paginate(questions, pageSize);
  const i = Math.min(Math.max(index, 0), pages.length - 1);
  const before = pages.slice(0, i).reduce((n, p) => n + p.length, 0);
  return { questions: pages[i] ?? [], index: i, count: pages.length, firstNumber: before + 1, total: questions.length, order };
}

// ------------------------------------------------------------------ submission

export type SubmitOutcome =
  | { kind: "invalid"; validation: PageValidation; page: SurveyPage }
  | { kind: "next_page"; page: number }
  | { kind: "completed"; response: SurveyResponse }
  | { kind: "already_answered" }
  /** The segment's quota is full: at the start (nothing stored), or as the last page came (`response`, kept as quota_full). */
  | { kind: "quota_full"; response?: SurveyResponse }
  | { kind: "expired" }
  /** Over the sender's limit of posts: nothing was read or written for it. */
  | { kind: "rate_limited" }
  /** The last page came without answers to required questions of earlier pages: nothing stored, their page shown again. */
  | { kind: "incomplete"; page: SurveyPage; errors: Record<string, AnswerError> };

export interface Submission {
  ctx: LinkContext;
  who: Respondent;
  form: FormToken;
  body: Record<string, unknown>;
  params: Record<string, string>;
  locale: Locale;
  honeypotFilled: boolean;
  now: Date;
  /**
   * Counts the post against its sender's limit as the first write of the submission's unit of
   * work, so both share one commit; false: over the limit, nothing else is read or written.
   * Absent when the caller counts posts elsewhere.
   */
  countPost?: (tx: Executor) => Promise<boolean>;
}

/**
 * What a post means given the response its nonce already names (if any): a retry of a finished
 * response, a page that does not belong to it, or undefined to go on. Read inside the
 * transaction, where no other instance can move it on meanwhile.
 */
function settledOutcome(existing: SurveyResponse | undefined, ctx: LinkContext, posted: number): SubmitOutcome | undefined {
  if (existing && (existing.linkId !== ctx.link.id || existing.waveId !== ctx.wave.id)) return { kind: "expired" };
  if (existing && existing.status !== "partial") {
    if (existing.status === "completed") return { kind: "completed", response: existing };
    // A retry of the last page of a response the quota stopped gets the same exit again.
    if (existing.status === "quota_full") return { kind: "quota_full", response: existing };
    return { kind: "already_answered" };
  }
  // A page from the past (a double click, the back button) is accepted again; one from the future is not.
  if (!Number.isInteger(posted) || posted < 0 || posted > (existing?.currentPage ?? 0)) return { kind: "expired" };
  return undefined;
}

/**
 * Required questions of the whole questionnaire left without an answer once this page is stored,
 * not only this page's: pages that moved, or a crafted post, must not complete a response without them.
 */
function missingRequired(questions: readonly SurveyQuestion[], answeredBefore: readonly number[], page: SurveyPage, validation: PageValidation): string[] {
  const onPage = new Set(page.questions.map((q) => q.id));
  const answered = new Set([...answeredBefore.filter((id) => !onPage.has(id)), ...validation.rows.map((r) => r.questionId)]);
  return questions.filter((q) => q.required && !answered.has(q.id)).map((q) => q.key);
}

/** Whether a post of page `posted` is of the questionnaire's last page (the one that completes), known before its response is read. */
function postsLastPage(questions: readonly SurveyQuestion[], pageSize: number | null, posted: number): boolean {
  const page = surveyPage(questions, pageSize, posted, {});
  return page.index === page.count - 1;
}

/**
 * Stores one submitted page in one unit of work (one commit): the post's count, the response
 * read by its nonce, validation (an invalid page writes nothing), then the response created or
 * advanced. A nonce seen before is a retry and stores nothing new; a personal link is claimed
 * atomically, so of many simultaneous posts one wins.
 *
 * On PostgreSQL the unit runs at READ COMMITTED with the locks it needs, so that concurrent
 * respondents queue on a row instead of failing and being retried as SERIALIZABLE units did
 * (they read the quota's count of completes, which every other complete of the segment writes):
 * the response's row (two posts of one form), the quota row before completes are counted, the
 * personal link's single use and the open link's count as atomic UPDATEs.
 */
export async function submitPage(db: Db, questions: readonly SurveyQuestion[], s: Submission): Promise<SubmitOutcome> {
  const { ctx, who, form } = s;
  const posted = Number(s.body["_p"] ?? 0);
  const qualityFlags: QualityFlag[] = s.honeypotFilled ? [{ code: "honeypot" }] : [];

  try {
    return await unitOfWork(db,
      async (tx): Promise<SubmitOutcome> => {
        // Read under the write lock (SQLite) or the row's (PostgreSQL): another instance may have
        // stored or finished it meanwhile. A last page also locks the quota it may fill.
        const quota = postsLastPage(questions, ctx.study.pageSize, posted) ? { waveId: ctx.wave.id, segmentId: ctx.segment.id } : null;
        const read = await firstReads(tx, s, { nonce: form.nonce, posted, quota, ctx, who });
        if (!read) return { kind: "rate_limited" };
        const stored = read.stored;
        let response = stored?.response;
        const settled = settledOutcome(response, ctx, posted);
        if (settled) return settled;
        const order = response?.optionOrder ?? optionOrders(questions, rotationSeed(ctx, who));
        const page = surveyPage(questions, ctx.study.pageSize, posted, order);
        const validation = validatePage(page.questions, s.body);
        if (Object.keys(validation.errors).length > 0) return { kind: "invalid", validation, page };

        const isLast = page.index === page.count - 1;
        const given = stored?.given ?? [];
        const answeredBefore = [...new Set(given.map((a) => a.questionId))];
        // An incomplete last page stores nothing (checked before a personal link is claimed).
        const missing = isLast ? missingRequired(questions, answeredBefore, page, validation) : [];
        const startedNow = !response;
        if (!response) {
          // PostgreSQL read these with the post's first reads (firstReads); SQLite reads them now, in turn.
          const previous = await (read.starting ? read.starting.previous : browserResponse(tx, ctx, who));
          // Committed since this post's nonce was looked up (PostgreSQL: each statement sees the latest commits): a second post of this same form.
          if (previous?.nonce === form.nonce) throw new DuplicateNonceError();
          if (previous?.status === "quota_full") return { kind: "quota_full", response: previous };
          if (previous && previous.status !== "partial") return { kind: "already_answered" };
          // A first page that is also the last completes at once: its count of completes is exact only under the quota's lock.
          if (await (read.starting?.full ?? startQuotaCheck(tx, ctx, quota))) return { kind: "quota_full" };
          if (missing.length) return incompleteOutcome(questions, ctx.study.pageSize, order, missing);
          if (ctx.link.kind === "personal" && !(await claimPersonalLink(tx, ctx.link.id))) {
            // A second post of this same form that waited for the first to claim the link is a retry of it.
            if (await findResponseByNonce(tx, form.nonce)) throw new DuplicateNonceError();
            return { kind: "already_answered" };
          }
          response = await startResponse(tx, {
            waveId: ctx.wave.id,
            segmentId: ctx.segment.id,
            linkId: ctx.link.id,
            nonce: form.nonce,
            status: "partial",
            locale: s.locale,
            startedAt: new Date(form.startedAt),
            currentPage: isLast ? page.index : page.index + 1,
            params: Object.keys(s.params).length ? s.params : null,
            optionOrder: Object.keys(order).length ? order : null,
            browserHash: who.browserHash,
            networkHash: who.networkHash,
            qualityFlags: qualityFlags.length ? qualityFlags : null,
          });
        } else if (qualityFlags.length && !response.qualityFlags?.some((f) => f.code === "honeypot")) {
          response = { ...response, qualityFlags: [...(response.qualityFlags ?? []), ...qualityFlags] };
          await updateResponse(tx, response.id, { qualityFlags: response.qualityFlags });
        }
        const current = response.currentPage;
        const onPage = new Set(page.questions.map((q) => q.id));
        // Answers of this page's questions stored before (a page posted again) are replaced, never added to.
        const replacing = answeredBefore.filter((id) => onPage.has(id));
        // Coding of text answers and the flags that compare with the wave come after commit, in the
        // background (server/quality/checks-service.ts): the progress stored with the answers leaves the response unchecked.
        const storeWith = (progress: ResponseProgress) => storePage(tx, response.id, replacing, validation.rows, progress);

        // The quota again, under the write lock of this IMMEDIATE transaction (PostgreSQL: the quota
        // row's, taken as the response was read): the check at the start let everyone in who began
        // before the target was reached, and two instances must not both read "2 of 3" and both complete. A response the quota stopped keeps
        // its answers as quota_full (not a complete, counted nowhere) and gets the quota-full exit.
        // (A response started by this very post was checked above, in this transaction.)
        if (isLast && !startedNow && (await (read.quotaFull ?? quotaFull(tx, ctx)))) {
          const stopped = { status: "quota_full" as const, currentPage: page.index, locale: s.locale, completedAt: null, durationMs: null };
          await storeWith({ ...stopped, qualityFlags: response.qualityFlags });
          return { kind: "quota_full", response: { ...response, ...stopped } };
        }
        if (missing.length) return incompleteOutcome(questions, ctx.study.pageSize, order, missing);

        if (!isLast) {
          // A response started by this post was stored with its progress: only its answers are left.
          if (startedNow) await replaceAnswers(tx, response.id, [], validation.rows);
          else {
            const progress = { status: "partial" as const, currentPage: Math.max(current, page.index + 1), locale: s.locale, completedAt: null, durationMs: null };
            await storeWith({ ...progress, qualityFlags: response.qualityFlags });
          }
          return { kind: "next_page", page: page.index + 1 };
        }
        const fields = {
          status: "completed" as const,
          completedAt: s.now,
          durationMs: Math.max(0, s.now.getTime() - response.startedAt.getTime()),
          currentPage: page.index,
          locale: s.locale,
        };
        // The flags its own answers give, as it completes (every answer: earlier pages' and this one's);
        // speeders and duplicates come with the background checks.
        const answersNow = [...given.filter((a) => !onPage.has(a.questionId)), ...validation.rows];
        const flags = await ownFlags(tx, ctx.study.id, { ...response, ...fields }, questions, answersNow, ctx.qualitySettings);
        // Two independent writes: on PostgreSQL sent together, one round trip.
        await Promise.all([storeWith({ ...fields, qualityFlags: flags.length ? flags : null }), ctx.link.kind === "open" ? countLinkUse(tx, ctx.link.id) : undefined]);
        // The flags as stored now decide the panel exit (a honeypot goes to quality-fail).
        return { kind: "completed", response: { ...response, ...fields, qualityFlags: flags.length ? flags : null } };
      },
      // Pages posted at the same moment share one commit (SQLite), each answered once it is durable;
      // PostgreSQL: the locks above instead of SERIALIZABLE's retries.
      { groupCommit: true, readCommitted: true },
    );
  } catch (error) {
    // Two posts of the same fresh form: the second one lost the race on the nonce. It is a retry.
    if (error instanceof DuplicateNonceError) {
      const winner = await findResponseByNonce(db, form.nonce);
      if (winner?.status === "completed") return { kind: "completed", response: winner };
      if (winner?.status === "quota_full") return { kind: "quota_full", response: winner };
      return { kind: "next_page", page: winner?.currentPage ?? 0 };
    }
    throw error;
  }
}

/** What a submission reads first (firstReads). */
interface FirstReads {
  stored: Awaited<ReturnType<typeof findResponseForPost>>;
  /** PostgreSQL, a post that may complete a response: whether the quota is full, counted under its lock. */
  quotaFull?: Promise<boolean>;
  /** PostgreSQL, a post of the first page: what starting a response reads (StartingReads). */
  starting?: StartingReads;
}

/** What starting a response reads: the browser's latest response (open links) and whether the quota is full. */
interface StartingReads {
  previous: Promise<SurveyResponse | undefined> | undefined;
  full: Promise<boolean>;
}

const ignore = () => undefined;

/**
 * A submission's first reads: the post counted against its sender's limit (undefined: refused)
 * and the response its nonce names with its answers so far. SQLite reads the response only once
 * the post is allowed. PostgreSQL sends them together on the unit of work's pipelined connection,
 * one round trip, with what the rest of the post may need (dropped when it does not): a last
 * page's quota count, and for a first page what starting a response reads. The connection runs
 * them in turn, so a count follows the quota lock taken before it (by the response's read, or
 * lockQuota) and sees every complete committed before that lock.
 */
async function firstReads(
  tx: Executor,
  s: Submission,
  post: { nonce: string; posted: number; quota: { waveId: number; segmentId: number } | null; ctx: LinkContext; who: Respondent },
): Promise<FirstReads | undefined> {
  const { nonce, posted, quota, ctx, who } = post;
  if (!isPostgres(tx)) {
    if (s.countPost && !(await s.countPost(tx))) return undefined;
    return { stored: await findResponseForPost(tx, nonce, quota) };
  }
  const counted = s.countPost ? s.countPost(tx) : true;
  const found = findResponseForPost(tx, nonce, quota);
  // Only a post of the first page starts a response (a later page without one has expired).
  const starting = posted === 0 ? startingReads(tx, ctx, who, quota) : undefined;
  const full = starting?.full ?? (quota ? quotaFull(tx, ctx) : undefined);
  full?.catch(ignore);
  const [allowed, stored] = await Promise.all([counted, found]);
  if (!allowed) return undefined;
  return { stored, ...(full ? { quotaFull: full } : {}), ...(starting ? { starting } : {}) };
}

function startingReads(tx: Executor, ctx: LinkContext, who: Respondent, quota: { waveId: number; segmentId: number } | null): StartingReads {
  const previous = browserResponse(tx, ctx, who);
  const full = startQuotaCheck(tx, ctx, quota);
  previous?.catch(ignore);
  full.catch(ignore);
  return { previous, full };
}

/** An open link's latest response from this browser, read locked (findBrowserResponseForPost); undefined when there is none to look for. */
function browserResponse(tx: Executor, ctx: LinkContext, who: Respondent): Promise<SurveyResponse | undefined> | undefined {
  return ctx.link.kind === "open" && knownBrowser(who) ? findBrowserResponseForPost(tx, ctx.wave.id, who.browserHash) : undefined;
}

/** Whether the quota is full, for a response this post starts; a last page takes the quota's lock before counting. */
async function startQuotaCheck(tx: Executor, ctx: LinkContext, quota: { waveId: number; segmentId: number } | null): Promise<boolean> {
  const locked = quota ? lockQuota(tx, quota.waveId, quota.segmentId) : undefined;
  const full = quotaFull(tx, ctx);
  // A lock refused (a deadlock) aborts the transaction, failing the count behind it too: that failure is the lock's.
  full.catch(ignore);
  await locked;
  return full;
}

/** The page holding the first unanswered required question, each of them on it marked "required". */
function incompleteOutcome(questions: readonly SurveyQuestion[], pageSize: number | null, order: Record<string, string[]>, keys: readonly string[]): SubmitOutcome {
  const pages = paginate(questions, pageSize);
  const index = Math.max(0, pages.findIndex((p) => p.some((q) => keys.includes(q.key))));
  const page = surveyPage(questions, pageSize, index, order);
  const errors: Record<string, AnswerError> = {};
  for (const q of page.questions) if (keys.includes(q.key)) errors[q.key] = { code: "required" };
  return { kind: "incomplete", page, errors };
}

// ------------------------------------------------------------------ exits

export type Exit = "complete" | "quota_full" | "quality_fail" | "screenout";

/** The panel redirect for an exit, with `{rid}` filled in, or undefined to show our own page. */
export function exitRedirect(ctx: LinkContext, exit: Exit, params: Record<string, string>): string | undefined {
  const template = {
    complete: ctx.link.redirectComplete,
    quota_full: ctx.link.redirectQuotaFull,
    quality_fail: ctx.link.redirectQualityFail,
    screenout: ctx.link.redirectScreenout,
  }[exit];
  return template ? fillRedirect(template, params) : undefined;
}

/** Error messages for a page, keyed by question key, with their interpolation values. */
export function errorMessages(
  errors: Record<string, AnswerError>,
  questions: readonly SurveyQuestion[],
  t: (key: string, params?: Record<string, unknown>) => string,
  optionText: (q: SurveyQuestion, key: string) => string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, error] of Object.entries(errors)) {
    const q = questions.find((x) => x.key === key);
    const exclusive = q?.options.find((o) => o.exclusive);
    out[key] = t(`survey.errors.${error.code}`, {
      ...error.params,
      option: q && exclusive ? optionText(q, exclusive.key) : "",
    });
  }
  return out;
}
