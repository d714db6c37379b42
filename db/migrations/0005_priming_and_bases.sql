ALTER TABLE `questions` ADD `metric_exclude` text;--> statement-breakpoint
ALTER TABLE `questions` ADD `page_break_after` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `studies` ADD `public_title` text;--> statement-breakpoint
ALTER TABLE `studies` ADD `target_lift` real;