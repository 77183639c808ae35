-- A transferred ticket points back to the ticket it was transferred from, which lives in
-- another experiment (on another dataset). Deleting the source keeps the transfer.
ALTER TABLE tickets ADD COLUMN source_ticket_id TEXT REFERENCES tickets(id) ON DELETE SET NULL;
CREATE INDEX tickets_source ON tickets(source_ticket_id);
