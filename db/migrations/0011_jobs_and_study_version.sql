CREATE TABLE `jobs` (
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
	CONSTRAINT "jobs_kind_check" CHECK("jobs"."kind" IN ('recode', 'flags', 'personal_links', 'wave_close', 'themes', 'results', 'response_checks')),
	CONSTRAINT "jobs_status_check" CHECK("jobs"."status" IN ('queued', 'running', 'done', 'failed'))
);
--> statement-breakpoint
CREATE INDEX `jobs_status_idx` ON `jobs` (`status`,`lease_until`);--> statement-breakpoint
CREATE INDEX `jobs_study_idx` ON `jobs` (`study_id`,`kind`,`status`);--> statement-breakpoint
CREATE INDEX `jobs_team_idx` ON `jobs` (`team_id`);--> statement-breakpoint
CREATE TABLE `result_snapshots` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`study_id` integer NOT NULL,
	`variant` text NOT NULL,
	`data_version` text NOT NULL,
	`payload` text NOT NULL,
	`computed_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	FOREIGN KEY (`study_id`) REFERENCES `studies`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `result_snapshots_study_variant_unique` ON `result_snapshots` (`study_id`,`variant`);--> statement-breakpoint
ALTER TABLE `responses` ADD `checked_at` integer;--> statement-breakpoint
CREATE INDEX `responses_unchecked_idx` ON `responses` (`wave_id`,`id`) WHERE "responses"."checked_at" IS NULL;--> statement-breakpoint
ALTER TABLE `studies` ADD `version` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Responses stored before background checks existed were coded and flagged as they completed.
UPDATE `responses` SET `checked_at` = coalesce(`completed_at`, `started_at`);--> statement-breakpoint
-- study_version: any change to a study, its questions or options raises studies.version (caches key on it).
CREATE TRIGGER `studies_version_on_update` AFTER UPDATE ON `studies` FOR EACH ROW WHEN NEW.`version` = OLD.`version`
BEGIN UPDATE `studies` SET `version` = OLD.`version` + 1 WHERE `id` = NEW.`id`; END;--> statement-breakpoint
CREATE TRIGGER `questions_version_on_insert` AFTER INSERT ON `questions` FOR EACH ROW
BEGIN UPDATE `studies` SET `version` = `version` + 1 WHERE `id` = NEW.`study_id`; END;--> statement-breakpoint
CREATE TRIGGER `questions_version_on_update` AFTER UPDATE ON `questions` FOR EACH ROW
BEGIN UPDATE `studies` SET `version` = `version` + 1 WHERE `id` IN (OLD.`study_id`, NEW.`study_id`); END;--> statement-breakpoint
CREATE TRIGGER `questions_version_on_delete` AFTER DELETE ON `questions` FOR EACH ROW
BEGIN UPDATE `studies` SET `version` = `version` + 1 WHERE `id` = OLD.`study_id`; END;--> statement-breakpoint
CREATE TRIGGER `options_version_on_insert` AFTER INSERT ON `options` FOR EACH ROW
BEGIN UPDATE `studies` SET `version` = `version` + 1 WHERE `id` = (SELECT `study_id` FROM `questions` WHERE `id` = NEW.`question_id`); END;--> statement-breakpoint
CREATE TRIGGER `options_version_on_update` AFTER UPDATE ON `options` FOR EACH ROW
BEGIN UPDATE `studies` SET `version` = `version` + 1 WHERE `id` IN (SELECT `study_id` FROM `questions` WHERE `id` IN (OLD.`question_id`, NEW.`question_id`)); END;--> statement-breakpoint
CREATE TRIGGER `options_version_on_delete` AFTER DELETE ON `options` FOR EACH ROW
BEGIN UPDATE `studies` SET `version` = `version` + 1 WHERE `id` = (SELECT `study_id` FROM `questions` WHERE `id` = OLD.`question_id`); END;
