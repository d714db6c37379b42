DROP INDEX `responses_browser_idx`;--> statement-breakpoint
DROP INDEX `responses_network_idx`;--> statement-breakpoint
CREATE INDEX `responses_browser_idx` ON `responses` (`wave_id`,`browser_hash`,`status`,`completed_at`);--> statement-breakpoint
CREATE INDEX `responses_network_idx` ON `responses` (`wave_id`,`network_hash`,`status`,`completed_at`);