CREATE TABLE `audience_points` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`study_id` integer NOT NULL,
	`segment_id` integer NOT NULL,
	`measure` text NOT NULL,
	`day` text NOT NULL,
	`count` integer NOT NULL,
	FOREIGN KEY (`study_id`) REFERENCES `studies`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`segment_id`) REFERENCES `segments`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "audience_points_measure_check" CHECK("audience_points"."measure" IN ('subscribers', 'reach')),
	CONSTRAINT "audience_points_count_check" CHECK("audience_points"."count" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audience_points_unique` ON `audience_points` (`study_id`,`segment_id`,`measure`,`day`);--> statement-breakpoint
ALTER TABLE `audit_log` ADD `system_actor` text;--> statement-breakpoint
ALTER TABLE `studies` ADD `time_zone` text;