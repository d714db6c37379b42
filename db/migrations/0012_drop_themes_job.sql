PRAGMA foreign_keys=OFF;--> statement-breakpoint
-- Themes are computed with the results' snapshot now: the themes job kind and its snapshots go.
DELETE FROM `jobs` WHERE `kind` = 'themes';--> statement-breakpoint
DELETE FROM `result_snapshots` WHERE `variant` LIKE 'themes:%';--> statement-breakpoint
CREATE TABLE `__new_jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`team_id` integer NOT NULL,
	`study_id` integer,
	`kind` text NOT NULL,
	`params` text,
	`cursor` text,
	`status` text DEFAULT 'queued' NOT NULL,
	`done` integer DEFAULT 0 NOT NULL,
	`total` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`lease_owner` text,
	`lease_until` integer,
	`error` text,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`study_id`) REFERENCES `studies`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "jobs_kind_check" CHECK("__new_jobs"."kind" IN ('recode', 'flags', 'personal_links', 'wave_close', 'results', 'response_checks')),
	CONSTRAINT "jobs_status_check" CHECK("__new_jobs"."status" IN ('queued', 'running', 'done', 'failed'))
);
--> statement-breakpoint
INSERT INTO `__new_jobs`("id", "team_id", "study_id", "kind", "params", "cursor", "status", "done", "total", "attempts", "lease_owner", "lease_until", "error", "created_by", "created_at", "updated_at", "finished_at") SELECT "id", "team_id", "study_id", "kind", "params", "cursor", "status", "done", "total", "attempts", "lease_owner", "lease_until", "error", "created_by", "created_at", "updated_at", "finished_at" FROM `jobs`;--> statement-breakpoint
DROP TABLE `jobs`;--> statement-breakpoint
ALTER TABLE `__new_jobs` RENAME TO `jobs`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `jobs_status_idx` ON `jobs` (`status`,`lease_until`);--> statement-breakpoint
CREATE INDEX `jobs_study_idx` ON `jobs` (`study_id`,`kind`,`status`);--> statement-breakpoint
CREATE INDEX `jobs_team_idx` ON `jobs` (`team_id`);