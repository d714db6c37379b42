CREATE TABLE `profile_margins` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`study_id` integer NOT NULL,
	`wave_id` integer,
	`segment_id` integer NOT NULL,
	`question_id` integer NOT NULL,
	`option_key` text NOT NULL,
	`share` real NOT NULL,
	FOREIGN KEY (`study_id`) REFERENCES `studies`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`wave_id`) REFERENCES `waves`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`segment_id`) REFERENCES `segments`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`question_id`) REFERENCES `questions`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "profile_margins_share_check" CHECK("profile_margins"."share" >= 0 AND "profile_margins"."share" <= 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `profile_margins_unique` ON `profile_margins` (`study_id`,`wave_id`,`segment_id`,`question_id`,`option_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `profile_margins_study_wide_unique` ON `profile_margins` (`study_id`,`segment_id`,`question_id`,`option_key`) WHERE "profile_margins"."wave_id" IS NULL;--> statement-breakpoint
CREATE INDEX `profile_margins_question_idx` ON `profile_margins` (`question_id`);--> statement-breakpoint
ALTER TABLE `questions` ADD `profile` integer DEFAULT false NOT NULL;