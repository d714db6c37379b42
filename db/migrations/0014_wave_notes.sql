CREATE TABLE `wave_notes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`study_id` integer NOT NULL,
	`wave_label` text NOT NULL,
	`kind` text NOT NULL,
	`text` text NOT NULL,
	`date` text,
	`amount` real,
	`currency` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`study_id`) REFERENCES `studies`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "wave_notes_kind_check" CHECK("wave_notes"."kind" IN ('campaign', 'spend', 'post')),
	CONSTRAINT "wave_notes_amount_check" CHECK(("wave_notes"."amount" IS NULL AND "wave_notes"."currency" IS NULL) OR ("wave_notes"."amount" >= 0 AND "wave_notes"."currency" IS NOT NULL)),
	CONSTRAINT "wave_notes_spend_check" CHECK("wave_notes"."kind" <> 'spend' OR "wave_notes"."amount" IS NOT NULL)
);
--> statement-breakpoint
CREATE INDEX `wave_notes_study_idx` ON `wave_notes` (`study_id`,`wave_label`);