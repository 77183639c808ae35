-- A sweep: a base spec and axes that expand into experiments (each keeping its own spec
-- hash). Its identity is the set of experiments it expands to, so running the same sweep
-- again, however its file is written, finds it and continues it.
CREATE TABLE sweeps (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  spec_json     TEXT NOT NULL,             -- the sweep as given (base, axes, target)
  spec_hash     TEXT NOT NULL UNIQUE,      -- sha256 of its experiments' sorted spec hashes
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE sweep_experiments (
  sweep_id      TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  position      INTEGER NOT NULL,          -- its place in the expansion
  point_json    TEXT NOT NULL,             -- axis path -> value
  PRIMARY KEY (sweep_id, experiment_id)
) STRICT;
CREATE INDEX sweep_experiments_experiment ON sweep_experiments(experiment_id);

-- A job run on a cluster (Slurm): its scheduler's id and state, and how far the host has
-- ingested the report log the worker on the node writes (messages.jsonl in the job's
-- folder). The offset moves in the same transaction as what it ingested, so every report
-- is stored exactly once, also across a restart of the host.
CREATE TABLE cluster_jobs (
  job_id          TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
  target_json     TEXT NOT NULL,
  folder          TEXT NOT NULL,           -- relative to the data folder
  cluster_job_id  TEXT,                    -- e.g. '1234' or '1234_5' (a job array's task)
  cluster_state   TEXT,                    -- PENDING, RUNNING, COMPLETED, TIMEOUT, ...
  cluster_reason  TEXT,                    -- why it is pending, or how it ended
  ingested_bytes  INTEGER NOT NULL DEFAULT 0,
  submitted_at    TEXT,
  updated_at      TEXT NOT NULL
) STRICT;

-- The data folder's own settings (e.g. the default compute target), as JSON values.
CREATE TABLE settings (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
) STRICT;
