-- Exports are recorded per written file, for models (a ticket) and for results (a whole
-- experiment, no ticket), with the file's size and sha256.
CREATE TABLE exports_v2 (
  id             TEXT PRIMARY KEY,
  experiment_id  TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  ticket_id      TEXT REFERENCES tickets(id) ON DELETE CASCADE,
  format         TEXT NOT NULL,     -- onnx, tfjs, safetensors, csv, json, lineage
  path           TEXT NOT NULL,     -- absolute path of the file written
  bytes          INTEGER NOT NULL,
  checksum       TEXT NOT NULL,     -- sha256 of the file, hex
  created_at     TEXT NOT NULL
) STRICT;
INSERT INTO exports_v2 (id, experiment_id, ticket_id, format, path, bytes, checksum, created_at)
  SELECT e.id, t.experiment_id, e.ticket_id, e.format, e.path, 0, e.checksum, e.created_at
  FROM exports e JOIN tickets t ON t.id = e.ticket_id;
DROP TABLE exports;
ALTER TABLE exports_v2 RENAME TO exports;
CREATE INDEX exports_experiment ON exports(experiment_id, created_at);
