/**
 * The whole data model of Brand Lift (see README "Glossary").
 *
 * Conventions:
 * - times are integer milliseconds since the epoch (`timestamp_ms`), so aggregation and
 *   durations stay plain arithmetic;
 * - localized text is a JSON object `{ "ru": "…", "en": "…" }` (one value per locale, read and
 *   written whole; never queried inside);
 * - enums are text columns guarded by CHECK constraints, so a bad value cannot reach the file
 *   even from a hand-written query.
 *
 * This file imports nothing but drizzle: drizzle-kit loads it on its own to generate migrations.
 */
import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

/** A member's role in a team, strongest first: each can do everything the roles after it can. */
export const TEAM_ROLES = ["owner", "researcher", "viewer"] as const;
export type TeamRole = (typeof TEAM_ROLES)[number];
/** What an account is created as: an administrator of the install, or a team role. */
export const ACCOUNT_KINDS = ["admin", ...TEAM_ROLES] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];
/** The team existing installs were moved into, and where users created without a team go. */
export const DEFAULT_TEAM_NAME = "Default";

export const LOCALES = ["ru", "en"] as const;
export type Locale = (typeof LOCALES)[number];
export type LocalizedText = Partial<Record<Locale, string>>;

export const QUESTION_TYPES = ["single", "multi", "scale", "text"] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export const SEGMENT_ROLES = ["exposed", "control"] as const;
export const WAVE_KINDS = ["pre", "post", "tracking"] as const;
export const WAVE_STATUSES = ["draft", "open", "closed"] as const;
export const LINK_KINDS = ["open", "personal"] as const;
export const RESPONSE_STATUSES = ["partial", "completed", "screened_out", "quota_full"] as const;
/** Work that grows with a study's size, run in the background in resumable chunks (server/jobs/). */
export const JOB_KINDS = ["recode", "flags", "personal_links", "wave_close", "results", "response_checks"] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export const JOB_STATUSES = ["queued", "running", "done", "failed"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

const createdAt = () =>
  integer("created_at", { mode: "timestamp_ms" })
    .notNull()
    .$defaultFn(() => new Date());

/** `'a','b'` for a CHECK (… IN (…)) built from the same constants the types use. */
const inList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

// ---------------------------------------------------------------- accounts

export const users = sqliteTable(
  "users",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** Stored lower-cased; unique. */
    email: text("email").notNull(),
    name: text("name").notNull(),
    /** `scrypt$N$r$p$salt$hash` — never the password itself. */
    passwordHash: text("password_hash").notNull(),
    /** Administrators manage users and teams and see every study; everyone else sees their teams' studies. */
    isAdmin: integer("is_admin", { mode: "boolean" }).notNull().default(false),
    locale: text("locale", { enum: LOCALES }),
    createdAt: createdAt(),
    disabledAt: integer("disabled_at", { mode: "timestamp_ms" }),
  },
  (t) => [uniqueIndex("users_email_unique").on(t.email)],
);

/** An agency's client, a brand, a department: the unit that owns studies. */
export const teams = sqliteTable(
  "teams",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("teams_name_unique").on(t.name)],
);

/** A user's role in a team. */
export const memberships = sqliteTable(
  "memberships",
  {
    teamId: integer("team_id")
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: TEAM_ROLES }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.teamId, t.userId] }),
    index("memberships_user_idx").on(t.userId),
    check("memberships_role_check", sql`${t.role} IN (${inList(TEAM_ROLES)})`),
  ],
);

export const sessions = sqliteTable(
  "sessions",
  {
    /** SHA-256 of the cookie value: a leaked database file gives no usable session. */
    idHash: text("id_hash").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId), index("sessions_expires_idx").on(t.expiresAt)],
);

export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** SHA-256 of the token; the token itself is shown once and never stored. */
    tokenHash: text("token_hash").notNull(),
    /** First characters of the token, to tell tokens apart in lists. */
    prefix: text("prefix").notNull(),
    createdAt: createdAt(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (t) => [uniqueIndex("api_tokens_hash_unique").on(t.tokenHash), index("api_tokens_user_idx").on(t.userId)],
);

/** Fixed-window counters for rate limits: in the database, so several app instances share them. */
export const rateLimits = sqliteTable("rate_limits", {
  key: text("key").primaryKey(),
  hits: integer("hits").notNull(),
  resetAt: integer("reset_at", { mode: "timestamp_ms" }).notNull(),
});

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at", { mode: "timestamp_ms" })
      .notNull()
      .$defaultFn(() => new Date()),
    /** Null for actions by the system or the command line. */
    userId: integer("user_id").references(() => users.id, { onDelete: "set null" }),
    /** Who acted when no user did: "system" (flags, automatic exclusions), "demo" (the demo generator), "cli". */
    systemActor: text("system_actor"),
    action: text("action").notNull(),
    entityType: text("entity_type").notNull(),
    entityId: text("entity_id"),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [index("audit_log_entity_idx").on(t.entityType, t.entityId), index("audit_log_at_idx").on(t.at)],
);

// ---------------------------------------------------------------- studies and questionnaires

export const studies = sqliteTable(
  "studies",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** The team that owns the study: only its members (and administrators) see it. */
    teamId: integer("team_id")
      .notNull()
      .references(() => teams.id),
    name: text("name").notNull(),
    brand: text("brand").notNull(),
    category: text("category"),
    defaultLocale: text("default_locale", { enum: LOCALES }).notNull(),
    /** Locales the questionnaire is offered in, default first. */
    locales: text("locales", { mode: "json" }).$type<Locale[]>().notNull(),
    status: text("status", { enum: ["active", "archived"] })
      .notNull()
      .default("active"),
    /** Questions per page; null shows the whole questionnaire on one page. */
    pageSize: integer("page_size"),
    /** HMAC key for signed pass-through parameters (panel ids, payment). */
    signingSecret: text("signing_secret").notNull(),
    /**
     * Title shown to respondents (tab, heading) before the aided question: neutral, never the
     * brand ("Опрос о кофейнях"), so the survey does not prime unaided awareness. Null: a generic title.
     */
    publicTitle: text("public_title"),
    /** IANA time zone the study's dates and times are shown in (e.g. "Europe/Moscow"); null: the server's. */
    timeZone: text("time_zone"),
    /** Smallest absolute lift worth detecting (fraction), for "lift detectable yet?" during fieldwork. */
    targetLift: real("target_lift"),
    campaignCost: real("campaign_cost"),
    costCurrency: text("cost_currency"),
    /**
     * Raised by database triggers (see the migration "study_version") on every change to the study,
     * its questions or options: caches of what respondents see are keyed by it, so an instance never
     * serves a questionnaire another instance has changed.
     */
    version: integer("version").notNull().default(1),
    createdBy: integer("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" })
      .notNull()
      .$defaultFn(() => new Date()),
  },
  (t) => [
    index("studies_status_idx").on(t.status),
    index("studies_team_idx").on(t.teamId),
    check("studies_page_size_check", sql`${t.pageSize} IS NULL OR ${t.pageSize} > 0`),
  ],
);

export const segments = sqliteTable(
  "segments",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    studyId: integer("study_id")
      .notNull()
      .references(() => studies.id, { onDelete: "cascade" }),
    /** `subscribers`, `active_unsubscribed`, `inactive`, or a researcher's own. */
    key: text("key").notNull(),
    label: text("label", { mode: "json" }).$type<LocalizedText>().notNull(),
    role: text("role", { enum: SEGMENT_ROLES }).notNull().default("exposed"),
    position: integer("position").notNull(),
  },
  (t) => [
    uniqueIndex("segments_study_key_unique").on(t.studyId, t.key),
    check("segments_role_check", sql`${t.role} IN (${inList(SEGMENT_ROLES)})`),
  ],
);

export const questions = sqliteTable(
  "questions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    studyId: integer("study_id")
      .notNull()
      .references(() => studies.id, { onDelete: "cascade" }),
    /** Stable key: the form field is `q_<key>`, exports use it as the column name. */
    key: text("key").notNull(),
    position: integer("position").notNull(),
    type: text("type", { enum: QUESTION_TYPES }).notNull(),
    text: text("text", { mode: "json" }).$type<LocalizedText>().notNull(),
    help: text("help", { mode: "json" }).$type<LocalizedText>(),
    required: integer("required", { mode: "boolean" }).notNull().default(true),
    /** Shuffle options per response (pinned options stay in place). */
    randomize: integer("randomize", { mode: "boolean" }).notNull().default(false),
    scaleMin: integer("scale_min"),
    scaleMax: integer("scale_max"),
    scaleMinLabel: text("scale_min_label", { mode: "json" }).$type<LocalizedText>(),
    scaleMaxLabel: text("scale_max_label", { mode: "json" }).$type<LocalizedText>(),
    maxLength: integer("max_length"),
    /** Metric this question feeds (e.g. `aided_awareness`); null when it is descriptive only. */
    metricName: text("metric_name"),
    /** Option keys (single/multi) or scale values (scale) that count as "aware"/positive. */
    metricPositive: text("metric_positive", { mode: "json" }).$type<Array<string | number>>(),
    /** Brand aliases for text metrics (unaided awareness). */
    metricMatch: text("metric_match", { mode: "json" }).$type<string[]>(),
    /** Option keys (decoys) whose choice leaves a respondent out of this question's metric base. */
    metricExclude: text("metric_exclude", { mode: "json" }).$type<string[]>(),
    /** The questionnaire starts a new page after this question (a page break element). */
    pageBreakAfter: integer("page_break_after", { mode: "boolean" }).notNull().default(false),
    /**
     * A profile variable (gender, age group): a single-choice question used to weight each wave to
     * its segment's population margins and to break results down. Never a metric.
     */
    profile: integer("profile", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [
    uniqueIndex("questions_study_key_unique").on(t.studyId, t.key),
    index("questions_study_position_idx").on(t.studyId, t.position),
    check("questions_type_check", sql`${t.type} IN (${inList(QUESTION_TYPES)})`),
    check(
      "questions_scale_check",
      sql`${t.scaleMin} IS NULL OR ${t.scaleMax} IS NULL OR ${t.scaleMin} < ${t.scaleMax}`,
    ),
  ],
);

export const options = sqliteTable(
  "options",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    questionId: integer("question_id")
      .notNull()
      .references(() => questions.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    position: integer("position").notNull(),
    text: text("text", { mode: "json" }).$type<LocalizedText>().notNull(),
    /** "None of these": chosen alone in a multi question. */
    exclusive: integer("exclusive", { mode: "boolean" }).notNull().default(false),
    /** Keeps its position when the question's options are shuffled ("none", "other"). */
    pinned: integer("pinned", { mode: "boolean" }).notNull().default(false),
    /** The answer an attentive respondent gives to an attention-check question. */
    attentionCheck: integer("attention_check", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [
    uniqueIndex("options_question_key_unique").on(t.questionId, t.key),
    index("options_question_position_idx").on(t.questionId, t.position),
  ],
);

// ---------------------------------------------------------------- fieldwork

export const waves = sqliteTable(
  "waves",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    studyId: integer("study_id")
      .notNull()
      .references(() => studies.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: WAVE_KINDS }).notNull(),
    label: text("label").notNull(),
    position: integer("position").notNull(),
    status: text("status", { enum: WAVE_STATUSES }).notNull().default("draft"),
    openedAt: integer("opened_at", { mode: "timestamp_ms" }),
    closedAt: integer("closed_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("waves_study_position_unique").on(t.studyId, t.position),
    check("waves_kind_check", sql`${t.kind} IN (${inList(WAVE_KINDS)})`),
    check("waves_status_check", sql`${t.status} IN (${inList(WAVE_STATUSES)})`),
  ],
);

/** Per wave and segment: the completes wanted, and the audience size (for "lifted users"). */
export const waveSegments = sqliteTable(
  "wave_segments",
  {
    waveId: integer("wave_id")
      .notNull()
      .references(() => waves.id, { onDelete: "cascade" }),
    segmentId: integer("segment_id")
      .notNull()
      .references(() => segments.id, { onDelete: "cascade" }),
    target: integer("target"),
    audienceSize: integer("audience_size"),
  },
  (t) => [
    primaryKey({ columns: [t.waveId, t.segmentId] }),
    check("wave_segments_target_check", sql`${t.target} IS NULL OR ${t.target} >= 0`),
    check("wave_segments_audience_check", sql`${t.audienceSize} IS NULL OR ${t.audienceSize} >= 0`),
  ],
);

export const links = sqliteTable(
  "links",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** nanoid, ≥ 120 bits: the link is the credential. */
    token: text("token").notNull(),
    waveId: integer("wave_id")
      .notNull()
      .references(() => waves.id, { onDelete: "cascade" }),
    segmentId: integer("segment_id")
      .notNull()
      .references(() => segments.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: LINK_KINDS }).notNull(),
    /** Completed uses; a personal link allows one. */
    uses: integer("uses").notNull().default(0),
    sourceLabel: text("source_label"),
    /** Extra pass-through query parameters accepted on this link, beyond rid, src and utm_*. */
    passParams: text("pass_params", { mode: "json" }).$type<string[]>(),
    /** Pass-through parameters that must arrive signed (HMAC with the study's secret), e.g. for quotas or payment. */
    signedParams: text("signed_params", { mode: "json" }).$type<string[]>(),
    /**
     * Every signed parameter must come, once, with its `sig`: a link a panel pays through. Off,
     * a link opened without its signed parameters is still answered (only a present one is checked).
     */
    requireSignature: integer("require_signature", { mode: "boolean" }).notNull().default(false),
    redirectComplete: text("redirect_complete"),
    redirectScreenout: text("redirect_screenout"),
    redirectQuotaFull: text("redirect_quota_full"),
    redirectQualityFail: text("redirect_quality_fail"),
    createdAt: createdAt(),
    disabledAt: integer("disabled_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("links_token_unique").on(t.token),
    index("links_wave_segment_idx").on(t.waveId, t.segmentId),
    check("links_kind_check", sql`${t.kind} IN (${inList(LINK_KINDS)})`),
    check("links_personal_single_use", sql`${t.kind} = 'open' OR ${t.uses} <= 1`),
  ],
);

export type QualityFlag = { code: string; detail?: string };

export const responses = sqliteTable(
  "responses",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    waveId: integer("wave_id")
      .notNull()
      .references(() => waves.id, { onDelete: "cascade" }),
    segmentId: integer("segment_id")
      .notNull()
      .references(() => segments.id, { onDelete: "cascade" }),
    linkId: integer("link_id").references(() => links.id, { onDelete: "set null" }),
    /** The per-render nonce of the submitting form: a retry or double click stores one response. */
    nonce: text("nonce").notNull(),
    status: text("status", { enum: RESPONSE_STATUSES }).notNull(),
    locale: text("locale", { enum: LOCALES }).notNull(),
    startedAt: integer("started_at", { mode: "timestamp_ms" }).notNull(),
    completedAt: integer("completed_at", { mode: "timestamp_ms" }),
    durationMs: integer("duration_ms"),
    /** Page reached by a multi-page respondent, for resuming. */
    currentPage: integer("current_page").notNull().default(0),
    /** Whitelisted pass-through query parameters (rid, src, utm_*, per-link names). */
    params: text("params", { mode: "json" }).$type<Record<string, string>>(),
    /** Option order shown per question key, as stored for rotation audits. */
    optionOrder: text("option_order", { mode: "json" }).$type<Record<string, string[]>>(),
    /** Salted hashes only: a browser cookie id, and network + user agent. Never a raw IP. */
    browserHash: text("browser_hash"),
    networkHash: text("network_hash"),
    qualityFlags: text("quality_flags", { mode: "json" }).$type<QualityFlag[]>(),
    excluded: integer("excluded", { mode: "boolean" }).notNull().default(false),
    excludedReason: text("excluded_reason"),
    excludedBy: integer("excluded_by").references(() => users.id, { onDelete: "set null" }),
    excludedAt: integer("excluded_at", { mode: "timestamp_ms" }),
    /**
     * When the background checks (coding of text answers, quality flags that compare with the rest
     * of the wave) ran on this response; null: not yet. Set after commit, never on the respondent's path.
     */
    checkedAt: integer("checked_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("responses_nonce_unique").on(t.nonce),
    index("responses_unchecked_idx").on(t.waveId, t.id).where(sql`${t.checkedAt} IS NULL`),
    // A wave page's counts per segment and each segment's median duration read only this index
    // (covering, in segment then duration order): no row of the table, no sort (the median walked
    // 50,000 rows and sorted them: 72 ms a wave page at 60,000 text answers).
    index("responses_wave_segment_duration_idx").on(t.waveId, t.segmentId, t.status, t.excluded, t.durationMs, t.completedAt),
    index("responses_link_idx").on(t.linkId),
    // Duplicate checks find the earliest completed response with a hash: the order is in the index.
    index("responses_browser_idx").on(t.waveId, t.browserHash, t.status, t.completedAt),
    // Quality flags: duplicates by network hash, and the wave's median duration for speeders.
    index("responses_network_idx").on(t.waveId, t.networkHash, t.status, t.completedAt),
    index("responses_wave_duration_idx").on(t.waveId, t.status, t.durationMs),
    // The exclusion ledger lists and counts flagged, and excluded, responses: a few per cent of a
    // wave, found without reading the others (db/queries/quality.ts names them on SQLite).
    index("responses_flagged_idx").on(t.waveId, t.status, t.segmentId, t.excluded).where(sql`${t.qualityFlags} IS NOT NULL`),
    index("responses_excluded_idx").on(t.waveId, t.status, t.segmentId, t.excluded).where(sql`${t.excluded}`),
    check("responses_status_check", sql`${t.status} IN (${inList(RESPONSE_STATUSES)})`),
  ],
);

/** Long format: one row per response × question × chosen option (or value). */
export const answers = sqliteTable(
  "answers",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    responseId: integer("response_id")
      .notNull()
      .references(() => responses.id, { onDelete: "cascade" }),
    questionId: integer("question_id")
      .notNull()
      .references(() => questions.id, { onDelete: "cascade" }),
    optionId: integer("option_id").references(() => options.id, { onDelete: "cascade" }),
    valueNumber: real("value_number"),
    valueText: text("value_text"),
  },
  (t) => [
    // Aggregation reads (question, option) → responses; the response side finds its own answers.
    index("answers_question_option_idx").on(t.questionId, t.optionId, t.responseId),
    // On SQLite migration 0018 makes it cover option_id, value_number and value_text as well (the
    // raw-responses export reads every answer through it); PostgreSQL cannot index long texts.
    index("answers_response_idx").on(t.responseId, t.questionId),
  ],
);

/** Coded brand mentions in text answers (unaided awareness), recomputed when aliases change. */
export const textMentions = sqliteTable(
  "text_mentions",
  {
    answerId: integer("answer_id")
      .notNull()
      .references(() => answers.id, { onDelete: "cascade" }),
    /** The brand or competitor key matched. */
    code: text("code").notNull(),
    /** 0 for the first brand named (top of mind). */
    rank: integer("rank").notNull(),
  },
  (t) => [primaryKey({ columns: [t.answerId, t.code] }), index("text_mentions_code_idx").on(t.code)],
);

// ---------------------------------------------------------------- data quality

/**
 * A study's quality thresholds (speeder fraction, straight-lining, duplicates, warning margin…):
 * validated and completed with defaults by server/quality/settings.ts, so a missing key reads as
 * its default. No row means every default.
 */
export const qualitySettings = sqliteTable("quality_settings", {
  studyId: integer("study_id")
    .primaryKey()
    .references(() => studies.id, { onDelete: "cascade" }),
  settings: text("settings", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  /** When the flags of the whole study were last recomputed. */
  flagsComputedAt: integer("flags_computed_at", { mode: "timestamp_ms" }),
  updatedBy: integer("updated_by").references(() => users.id, { onDelete: "set null" }),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" })
    .notNull()
    .$defaultFn(() => new Date()),
});

/**
 * Aliases researchers add for coding text answers, beyond the brand's `metric.match` and the
 * aided question's option texts: `code` is "brand" or a competitor's option key. One code per
 * normalised alias in a study: the same words cannot mean two brands.
 */
export const textAliases = sqliteTable(
  "text_aliases",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    studyId: integer("study_id")
      .notNull()
      .references(() => studies.id, { onDelete: "cascade" }),
    code: text("code").notNull(),
    /** As typed (shown in lists). */
    alias: text("alias").notNull(),
    /** normalizeText(alias): what uniqueness is checked on. */
    normalized: text("normalized").notNull(),
    createdBy: integer("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("text_aliases_study_normalized_unique").on(t.studyId, t.normalized), index("text_aliases_study_idx").on(t.studyId, t.code)],
);

/** Read-only links to a study's report, for people without an account; revocable, may expire. */
export const shareLinks = sqliteTable(
  "share_links",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    studyId: integer("study_id")
      .notNull()
      .references(() => studies.id, { onDelete: "cascade" }),
    token: text("token").notNull(),
    createdBy: integer("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    /** Whether the shared report shows verbatim answers (and theme examples); hidden unless chosen. */
    showVerbatims: integer("show_verbatims", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [uniqueIndex("share_links_token_unique").on(t.token), index("share_links_study_idx").on(t.studyId)],
);

// ---------------------------------------------------------------- audience over time

export const AUDIENCE_MEASURES = ["subscribers", "reach"] as const;
export type AudienceMeasure = (typeof AUDIENCE_MEASURES)[number];

/**
 * A segment's audience over time, as community statistics export it (date, count): subscribers
 * of the brand's community, or reach. Answers "is the audience growing?" with the study's waves
 * marked on the series.
 */
export const audiencePoints = sqliteTable(
  "audience_points",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    studyId: integer("study_id")
      .notNull()
      .references(() => studies.id, { onDelete: "cascade" }),
    segmentId: integer("segment_id")
      .notNull()
      .references(() => segments.id, { onDelete: "cascade" }),
    measure: text("measure", { enum: AUDIENCE_MEASURES }).notNull(),
    /** Calendar day, YYYY-MM-DD, in the study's time zone. */
    day: text("day").notNull(),
    count: integer("count").notNull(),
  },
  (t) => [
    uniqueIndex("audience_points_unique").on(t.studyId, t.segmentId, t.measure, t.day),
    check("audience_points_measure_check", sql`${t.measure} IN (${inList(AUDIENCE_MEASURES)})`),
    check("audience_points_count_check", sql`${t.count} >= 0`),
  ],
);

// ---------------------------------------------------------------- weighting targets

/**
 * Population margins of a segment (DESIGN.md "Weighting"): the share of each level of a profile
 * variable, e.g. 58 % women among the community's subscribers, as its statistics publish them.
 * `wave_id` null: the margins apply to every wave of the study unless a wave has its own.
 * Levels are option keys (stable while options are edited; ids are not). The shares of one
 * (segment, wave, variable) sum to 1; server/domain/margins.ts checks that before anything is written.
 */
export const profileMargins = sqliteTable(
  "profile_margins",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    studyId: integer("study_id")
      .notNull()
      .references(() => studies.id, { onDelete: "cascade" }),
    waveId: integer("wave_id").references(() => waves.id, { onDelete: "cascade" }),
    segmentId: integer("segment_id")
      .notNull()
      .references(() => segments.id, { onDelete: "cascade" }),
    /** A profile question of the study. */
    questionId: integer("question_id")
      .notNull()
      .references(() => questions.id, { onDelete: "cascade" }),
    optionKey: text("option_key").notNull(),
    share: real("share").notNull(),
  },
  (t) => [
    uniqueIndex("profile_margins_unique").on(t.studyId, t.waveId, t.segmentId, t.questionId, t.optionKey),
    // NULLs are distinct in a unique index: the study-wide rows (no wave) need an index of their own.
    uniqueIndex("profile_margins_study_wide_unique")
      .on(t.studyId, t.segmentId, t.questionId, t.optionKey)
      .where(sql`${t.waveId} IS NULL`),
    index("profile_margins_question_idx").on(t.questionId),
    check("profile_margins_share_check", sql`${t.share} >= 0 AND ${t.share} <= 1`),
  ],
);

/** Kinds of KPI target: a lift of the share against the baseline wave, or a level of the share. */
export const KPI_KINDS = ["lift", "level"] as const;

/**
 * KPIs agreed up front (study definition `kpis`): per metric and segment, a target lift against
 * the baseline or a target level (fractions), by the wave with the label `byWave`. The wave is
 * named by label because a tracking study's later waves do not exist when the KPIs are agreed.
 */
export const kpis = sqliteTable(
  "kpis",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    studyId: integer("study_id")
      .notNull()
      .references(() => studies.id, { onDelete: "cascade" }),
    /** The order of the definition (its KPIs are listed in it). */
    position: integer("position").notNull(),
    /** A metric name of the study's questionnaire. */
    metric: text("metric").notNull(),
    segmentId: integer("segment_id")
      .notNull()
      .references(() => segments.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: KPI_KINDS }).notNull(),
    target: real("target").notNull(),
    byWave: text("by_wave").notNull(),
  },
  (t) => [
    uniqueIndex("kpis_study_position_unique").on(t.studyId, t.position),
    index("kpis_segment_idx").on(t.segmentId),
    check("kpis_kind_check", sql`${t.kind} IN ('lift', 'level')`),
    check("kpis_target_check", sql`${t.target} > 0 AND ${t.target} < 1`),
  ],
);

/** What a wave note records about the work of its period. */
export const WAVE_NOTE_KINDS = ["campaign", "spend", "post"] as const;
export type WaveNoteKind = (typeof WAVE_NOTE_KINDS)[number];

/**
 * Notes on the work done in a wave's period (campaigns, spend, posts): the link between the work
 * and the numbers. A note names its wave by label, as a KPI does, so a media plan agreed up front
 * travels with the study definition before its waves exist; it belongs to the first wave of that
 * label (the wave KPIs use). An amount is money spent in the period, always with its ISO currency
 * (a spend note must have one); the spend of a period is the sum of its notes' amounts.
 */
export const waveNotes = sqliteTable(
  "wave_notes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    studyId: integer("study_id")
      .notNull()
      .references(() => studies.id, { onDelete: "cascade" }),
    waveLabel: text("wave_label").notNull(),
    kind: text("kind", { enum: WAVE_NOTE_KINDS }).notNull(),
    text: text("text").notNull(),
    /** A day of the period (YYYY-MM-DD), when the note is about one. */
    date: text("date"),
    amount: real("amount"),
    /** ISO 4217 code, upper case; set exactly when `amount` is. */
    currency: text("currency"),
    createdAt: createdAt(),
  },
  (t) => [
    index("wave_notes_study_idx").on(t.studyId, t.waveLabel),
    check("wave_notes_kind_check", sql`${t.kind} IN (${inList(WAVE_NOTE_KINDS)})`),
    check("wave_notes_amount_check", sql`(${t.amount} IS NULL AND ${t.currency} IS NULL) OR (${t.amount} >= 0 AND ${t.currency} IS NOT NULL)`),
    check("wave_notes_spend_check", sql`${t.kind} <> 'spend' OR ${t.amount} IS NOT NULL`),
  ],
);

export type WaveNote = typeof waveNotes.$inferSelect;
export type Kpi = typeof kpis.$inferSelect;
export type ProfileMargin = typeof profileMargins.$inferSelect;
export type AudiencePoint = typeof audiencePoints.$inferSelect;
export type Team = typeof teams.$inferSelect;
export type Membership = typeof memberships.$inferSelect;
export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type Session = typeof sessions.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;
export type Study = typeof studies.$inferSelect;
export type Segment = typeof segments.$inferSelect;
export type Question = typeof questions.$inferSelect;
export type QuestionOption = typeof options.$inferSelect;
export type Wave = typeof waves.$inferSelect;
export type Link = typeof links.$inferSelect;
export type SurveyResponse = typeof responses.$inferSelect;
export type NewResponse = typeof responses.$inferInsert;
export type Answer = typeof answers.$inferSelect;
export type ShareLink = typeof shareLinks.$inferSelect;
export type QualitySettingsRow = typeof qualitySettings.$inferSelect;
export type TextAlias = typeof textAliases.$inferSelect;

// ---------------------------------------------------------------- background work

/**
 * A durable unit of background work (server/jobs/): written in the same transaction as the change
 * that needs it, claimed by one instance at a time under a lease, advanced chunk by chunk with its
 * cursor saved after each, so a crash resumes where it stopped.
 */
export const jobs = sqliteTable(
  "jobs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    teamId: integer("team_id")
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    studyId: integer("study_id").references(() => studies.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: JOB_KINDS }).notNull(),
    /** What to do (kind-specific, fixed when queued). */
    params: text("params", { mode: "json" }).$type<Record<string, unknown>>(),
    /** Where the work stands (kind-specific, saved after every chunk). */
    cursor: text("cursor", { mode: "json" }).$type<Record<string, unknown>>(),
    status: text("status", { enum: JOB_STATUSES }).notNull().default("queued"),
    done: integer("done").notNull().default(0),
    /** Units of work in all, when known (for progress). */
    total: integer("total"),
    attempts: integer("attempts").notNull().default(0),
    /** The instance working on it and until when; an expired lease is taken over. */
    leaseOwner: text("lease_owner"),
    leaseUntil: integer("lease_until", { mode: "timestamp_ms" }),
    /** Why it failed (an error code, translated when shown). */
    error: text("error"),
    createdBy: integer("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" })
      .notNull()
      .$defaultFn(() => new Date()),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    index("jobs_status_idx").on(t.status, t.leaseUntil),
    index("jobs_study_idx").on(t.studyId, t.kind, t.status),
    index("jobs_team_idx").on(t.teamId),
    check("jobs_kind_check", sql`${t.kind} IN (${inList(JOB_KINDS)})`),
    check("jobs_status_check", sql`${t.status} IN (${inList(JOB_STATUSES)})`),
  ],
);

/**
 * Results computed in the background for one version of a study's data, read by pages instead of
 * computing on the request; `dataVersion` says what they were computed from (compared to decide freshness).
 */
export const resultSnapshots = sqliteTable(
  "result_snapshots",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    studyId: integer("study_id")
      .notNull()
      .references(() => studies.id, { onDelete: "cascade" }),
    /** Which view of the results (waves compared, weighting, sensitivity…), as a stable key. */
    variant: text("variant").notNull(),
    dataVersion: text("data_version").notNull(),
    /** The computed results as JSON text, stored as written. */
    payload: text("payload").notNull(),
    computedAt: integer("computed_at", { mode: "timestamp_ms" }).notNull(),
    durationMs: integer("duration_ms").notNull(),
  },
  (t) => [uniqueIndex("result_snapshots_study_variant_unique").on(t.studyId, t.variant)],
);

export type Job = typeof jobs.$inferSelect;
export type ResultSnapshot = typeof resultSnapshots.$inferSelect;
