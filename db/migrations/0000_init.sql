CREATE TABLE `answers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`response_id` integer NOT NULL,
	`question_id` integer NOT NULL,
	`option_id` integer,
	`value_number` real,
	`value_text` text,
	FOREIGN KEY (`response_id`) REFERENCES `responses`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`question_id`) REFERENCES `questions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`option_id`) REFERENCES `options`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `answers_question_option_idx` ON `answers` (`question_id`,`option_id`,`response_id`);--> statement-breakpoint
CREATE INDEX `answers_response_idx` ON `answers` (`response_id`,`question_id`);--> statement-breakpoint
CREATE TABLE `api_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash_unique` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `api_tokens_user_idx` ON `api_tokens` (`user_id`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`user_id` integer,
	`action` text NOT NULL,
	`entity_type` text NOT NULL,
	`entity_id` text,
	`details` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `audit_log_entity_idx` ON `audit_log` (`entity_type`,`entity_id`);--> statement-breakpoint
CREATE INDEX `audit_log_at_idx` ON `audit_log` (`at`);--> statement-breakpoint
CREATE TABLE `links` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`token` text NOT NULL,
	`wave_id` integer NOT NULL,
	`segment_id` integer NOT NULL,
	`kind` text NOT NULL,
	`uses` integer DEFAULT 0 NOT NULL,
	`source_label` text,
	`pass_params` text,
	`redirect_complete` text,
	`redirect_screenout` text,
	`redirect_quota_full` text,
	`redirect_quality_fail` text,
	`created_at` integer NOT NULL,
	`disabled_at` integer,
	FOREIGN KEY (`wave_id`) REFERENCES `waves`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`segment_id`) REFERENCES `segments`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "links_kind_check" CHECK("links"."kind" IN ('open', 'personal')),
	CONSTRAINT "links_personal_single_use" CHECK("links"."kind" = 'open' OR "links"."uses" <= 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `links_token_unique` ON `links` (`token`);--> statement-breakpoint
CREATE INDEX `links_wave_segment_idx` ON `links` (`wave_id`,`segment_id`);--> statement-breakpoint
CREATE TABLE `options` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`question_id` integer NOT NULL,
	`key` text NOT NULL,
	`position` integer NOT NULL,
	`text` text NOT NULL,
	`exclusive` integer DEFAULT false NOT NULL,
	`pinned` integer DEFAULT false NOT NULL,
	`attention_check` integer DEFAULT false NOT NULL,
	FOREIGN KEY (`question_id`) REFERENCES `questions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `options_question_key_unique` ON `options` (`question_id`,`key`);--> statement-breakpoint
CREATE INDEX `options_question_position_idx` ON `options` (`question_id`,`position`);--> statement-breakpoint
CREATE TABLE `questions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`study_id` integer NOT NULL,
	`key` text NOT NULL,
	`position` integer NOT NULL,
	`type` text NOT NULL,
	`text` text NOT NULL,
	`help` text,
	`required` integer DEFAULT true NOT NULL,
	`randomize` integer DEFAULT false NOT NULL,
	`scale_min` integer,
	`scale_max` integer,
	`scale_min_label` text,
	`scale_max_label` text,
	`max_length` integer,
	`metric_name` text,
	`metric_positive` text,
	`metric_match` text,
	FOREIGN KEY (`study_id`) REFERENCES `studies`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "questions_type_check" CHECK("questions"."type" IN ('single', 'multi', 'scale', 'text')),
	CONSTRAINT "questions_scale_check" CHECK("questions"."scale_min" IS NULL OR "questions"."scale_max" IS NULL OR "questions"."scale_min" < "questions"."scale_max")
);
--> statement-breakpoint
CREATE UNIQUE INDEX `questions_study_key_unique` ON `questions` (`study_id`,`key`);--> statement-breakpoint
CREATE INDEX `questions_study_position_idx` ON `questions` (`study_id`,`position`);--> statement-breakpoint
CREATE TABLE `rate_limits` (
	`key` text PRIMARY KEY NOT NULL,
	`hits` integer NOT NULL,
	`reset_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `responses` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`wave_id` integer NOT NULL,
	`segment_id` integer NOT NULL,
	`link_id` integer,
	`nonce` text NOT NULL,
	`status` text NOT NULL,
	`locale` text NOT NULL,
	`started_at` integer NOT NULL,
	`completed_at` integer,
	`duration_ms` integer,
	`current_page` integer DEFAULT 0 NOT NULL,
	`params` text,
	`option_order` text,
	`browser_hash` text,
	`network_hash` text,
	`quality_flags` text,
	`excluded` integer DEFAULT false NOT NULL,
	`excluded_reason` text,
	`excluded_by` integer,
	`excluded_at` integer,
	FOREIGN KEY (`wave_id`) REFERENCES `waves`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`segment_id`) REFERENCES `segments`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`link_id`) REFERENCES `links`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`excluded_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "responses_status_check" CHECK("responses"."status" IN ('partial', 'completed', 'screened_out', 'quota_full'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `responses_nonce_unique` ON `responses` (`nonce`);--> statement-breakpoint
CREATE INDEX `responses_wave_segment_status_idx` ON `responses` (`wave_id`,`segment_id`,`status`,`excluded`);--> statement-breakpoint
CREATE INDEX `responses_link_idx` ON `responses` (`link_id`);--> statement-breakpoint
CREATE INDEX `responses_browser_idx` ON `responses` (`wave_id`,`browser_hash`);--> statement-breakpoint
CREATE TABLE `segments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`study_id` integer NOT NULL,
	`key` text NOT NULL,
	`label` text NOT NULL,
	`role` text DEFAULT 'exposed' NOT NULL,
	`position` integer NOT NULL,
	FOREIGN KEY (`study_id`) REFERENCES `studies`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "segments_role_check" CHECK("segments"."role" IN ('exposed', 'control'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `segments_study_key_unique` ON `segments` (`study_id`,`key`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`created_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sessions_user_idx` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE INDEX `sessions_expires_idx` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `studies` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`brand` text NOT NULL,
	`category` text,
	`default_locale` text NOT NULL,
	`locales` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`page_size` integer,
	`signing_secret` text NOT NULL,
	`campaign_cost` real,
	`cost_currency` text,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "studies_page_size_check" CHECK("studies"."page_size" IS NULL OR "studies"."page_size" > 0)
);
--> statement-breakpoint
CREATE INDEX `studies_status_idx` ON `studies` (`status`);--> statement-breakpoint
CREATE TABLE `text_mentions` (
	`answer_id` integer NOT NULL,
	`code` text NOT NULL,
	`rank` integer NOT NULL,
	PRIMARY KEY(`answer_id`, `code`),
	FOREIGN KEY (`answer_id`) REFERENCES `answers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `text_mentions_code_idx` ON `text_mentions` (`code`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`email` text NOT NULL,
	`name` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text NOT NULL,
	`locale` text,
	`created_at` integer NOT NULL,
	`disabled_at` integer,
	CONSTRAINT "users_role_check" CHECK("users"."role" IN ('admin', 'researcher', 'viewer'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);--> statement-breakpoint
CREATE TABLE `wave_segments` (
	`wave_id` integer NOT NULL,
	`segment_id` integer NOT NULL,
	`target` integer,
	`audience_size` integer,
	PRIMARY KEY(`wave_id`, `segment_id`),
	FOREIGN KEY (`wave_id`) REFERENCES `waves`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`segment_id`) REFERENCES `segments`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "wave_segments_target_check" CHECK("wave_segments"."target" IS NULL OR "wave_segments"."target" >= 0),
	CONSTRAINT "wave_segments_audience_check" CHECK("wave_segments"."audience_size" IS NULL OR "wave_segments"."audience_size" >= 0)
);
--> statement-breakpoint
CREATE TABLE `waves` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`study_id` integer NOT NULL,
	`kind` text NOT NULL,
	`label` text NOT NULL,
	`position` integer NOT NULL,
	`status` text DEFAULT 'draft' NOT NULL,
	`opened_at` integer,
	`closed_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`study_id`) REFERENCES `studies`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "waves_kind_check" CHECK("waves"."kind" IN ('pre', 'post', 'tracking')),
	CONSTRAINT "waves_status_check" CHECK("waves"."status" IN ('draft', 'open', 'closed'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `waves_study_position_unique` ON `waves` (`study_id`,`position`);