-- link_context_generation: one number raised by any change to the rows a survey link's context is
-- made of (its link, wave, segment, study and quality settings), by any connection. The respondent
-- path keeps a link's context in process with the number it was read at and reads only the number
-- (and the quota) while it is unchanged. A link's use count changes on every visit and is not part
-- of the context as kept, so an update of `uses` alone does not raise it.
CREATE TABLE `link_context_generation` (
	`id` integer PRIMARY KEY NOT NULL CHECK (`id` = 1),
	`generation` integer NOT NULL
);--> statement-breakpoint
INSERT INTO `link_context_generation` (`id`, `generation`) VALUES (1, 0);--> statement-breakpoint
CREATE TRIGGER `links_context_on_update` AFTER UPDATE ON `links` FOR EACH ROW WHEN NEW.`uses` = OLD.`uses`
BEGIN UPDATE `link_context_generation` SET `generation` = `generation` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `links_context_on_delete` AFTER DELETE ON `links` FOR EACH ROW
BEGIN UPDATE `link_context_generation` SET `generation` = `generation` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `waves_context_on_update` AFTER UPDATE ON `waves` FOR EACH ROW
BEGIN UPDATE `link_context_generation` SET `generation` = `generation` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `waves_context_on_delete` AFTER DELETE ON `waves` FOR EACH ROW
BEGIN UPDATE `link_context_generation` SET `generation` = `generation` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `segments_context_on_update` AFTER UPDATE ON `segments` FOR EACH ROW
BEGIN UPDATE `link_context_generation` SET `generation` = `generation` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `segments_context_on_delete` AFTER DELETE ON `segments` FOR EACH ROW
BEGIN UPDATE `link_context_generation` SET `generation` = `generation` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `studies_context_on_update` AFTER UPDATE ON `studies` FOR EACH ROW
BEGIN UPDATE `link_context_generation` SET `generation` = `generation` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `studies_context_on_delete` AFTER DELETE ON `studies` FOR EACH ROW
BEGIN UPDATE `link_context_generation` SET `generation` = `generation` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `quality_settings_context_on_insert` AFTER INSERT ON `quality_settings` FOR EACH ROW
BEGIN UPDATE `link_context_generation` SET `generation` = `generation` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `quality_settings_context_on_update` AFTER UPDATE ON `quality_settings` FOR EACH ROW
BEGIN UPDATE `link_context_generation` SET `generation` = `generation` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `quality_settings_context_on_delete` AFTER DELETE ON `quality_settings` FOR EACH ROW
BEGIN UPDATE `link_context_generation` SET `generation` = `generation` + 1 WHERE `id` = 1; END;
