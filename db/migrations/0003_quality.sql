CREATE TABLE `quality_settings` (
	`study_id` integer PRIMARY KEY NOT NULL,
	`settings` text NOT NULL,
	`flags_computed_at` integer,
	`updated_by` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`study_id`) REFERENCES `studies`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`updated_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE TABLE `text_aliases` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`study_id` integer NOT NULL,
	`code` text NOT NULL,
	`alias` text NOT NULL,
	`normalized` text NOT NULL,
	`created_by` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`study_id`) REFERENCES `studies`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `text_aliases_study_normalized_unique` ON `text_aliases` (`study_id`,`normalized`);--> statement-breakpoint
CREATE INDEX `text_aliases_study_idx` ON `text_aliases` (`study_id`,`code`);--> statement-breakpoint
CREATE INDEX `responses_network_idx` ON `responses` (`wave_id`,`network_hash`);--> statement-breakpoint
CREATE INDEX `responses_wave_duration_idx` ON `responses` (`wave_id`,`status`,`duration_ms`);