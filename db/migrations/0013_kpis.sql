CREATE TABLE `kpis` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`study_id` integer NOT NULL,
	`position` integer NOT NULL,
	`metric` text NOT NULL,
	`segment_id` integer NOT NULL,
	`kind` text NOT NULL,
	`target` real NOT NULL,
	`by_wave` text NOT NULL,
	FOREIGN KEY (`study_id`) REFERENCES `studies`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`segment_id`) REFERENCES `segments`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "kpis_kind_check" CHECK("kpis"."kind" IN ('lift', 'level')),
	CONSTRAINT "kpis_target_check" CHECK("kpis"."target" > 0 AND "kpis"."target" < 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `kpis_study_position_unique` ON `kpis` (`study_id`,`position`);--> statement-breakpoint
CREATE INDEX `kpis_segment_idx` ON `kpis` (`segment_id`);