-- Teams (issue 13): existing installs move into one default team; every non-admin keeps their role there.
CREATE TABLE `memberships` (
	`team_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`role` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`team_id`, `user_id`),
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "memberships_role_check" CHECK("memberships"."role" IN ('owner', 'researcher', 'viewer'))
);
--> statement-breakpoint
CREATE INDEX `memberships_user_idx` ON `memberships` (`user_id`);--> statement-breakpoint
CREATE TABLE `teams` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `teams_name_unique` ON `teams` (`name`);--> statement-breakpoint
INSERT INTO `teams` (`id`, `name`, `created_at`) VALUES (1, 'Default', CAST(strftime('%s', 'now') AS integer) * 1000);--> statement-breakpoint
INSERT INTO `memberships` (`team_id`, `user_id`, `role`, `created_at`) SELECT 1, `id`, `role`, `created_at` FROM `users` WHERE `role` <> 'admin';--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`email` text NOT NULL,
	`name` text NOT NULL,
	`password_hash` text NOT NULL,
	`is_admin` integer DEFAULT false NOT NULL,
	`locale` text,
	`created_at` integer NOT NULL,
	`disabled_at` integer
);
--> statement-breakpoint
INSERT INTO `__new_users`("id", "email", "name", "password_hash", "is_admin", "locale", "created_at", "disabled_at") SELECT "id", "email", "name", "password_hash", "role" = 'admin', "locale", "created_at", "disabled_at" FROM `users`;--> statement-breakpoint
DROP TABLE `users`;--> statement-breakpoint
ALTER TABLE `__new_users` RENAME TO `users`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);--> statement-breakpoint
ALTER TABLE `studies` ADD `team_id` integer NOT NULL DEFAULT 1 REFERENCES teams(id);--> statement-breakpoint
CREATE INDEX `studies_team_idx` ON `studies` (`team_id`);