-- Themes are computed with the results' snapshot now: the themes job kind and its snapshots go.
DELETE FROM "jobs" WHERE "kind" = 'themes';--> statement-breakpoint
DELETE FROM "result_snapshots" WHERE "variant" LIKE 'themes:%';--> statement-breakpoint
ALTER TABLE "jobs" DROP CONSTRAINT "jobs_kind_check";--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_kind_check" CHECK ("jobs"."kind" IN ('recode', 'flags', 'personal_links', 'wave_close', 'results', 'response_checks'));