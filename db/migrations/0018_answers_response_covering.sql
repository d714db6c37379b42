-- answers_response_idx covers every column the raw-responses export reads of an answer (SQLite
-- only). The export reads a chunk's answers through this index, one probe per response; without
-- the values in the index each answer cost a second look-up in the table (10-15 % of the export's
-- CPU). The key stays (response_id, question_id), so every other query's plan is unchanged.
-- PostgreSQL keeps the two-column index: a B-tree entry there must fit a third of a page, and a
-- text answer may not (db/migrations-pg).
DROP INDEX `answers_response_idx`;--> statement-breakpoint
CREATE INDEX `answers_response_idx` ON `answers` (`response_id`,`question_id`,`option_id`,`value_number`,`value_text`);
