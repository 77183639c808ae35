-- TicketLab schema, version 1. See DESIGN.md "Data model".
-- Never edit this file once it has landed: add a new numbered migration instead.

CREATE TABLE blobs (
  sha256      TEXT PRIMARY KEY,
  kind        TEXT NOT NULL,            -- 'tensors' (a safetensors bundle) or 'raw'
  byte_size   INTEGER NOT NULL,
  created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE datasets (
  id                  TEXT PRIMARY KEY,  -- 'builtin:mnist' or 'ds_<hash prefix>'
  name                TEXT NOT NULL,
  format              TEXT NOT NULL,     -- 'builtin-mnist', 'idx', 'cifar10', 'cifar100'
  input_shape         TEXT NOT NULL,     -- JSON [h, w, c]
  class_count         INTEGER NOT NULL,
  class_names         TEXT NOT NULL,     -- JSON array
  train_count         INTEGER NOT NULL,
  test_count          INTEGER NOT NULL,
  content_hash        TEXT NOT NULL UNIQUE,
  source_path         TEXT,
  tensors_blob        TEXT NOT NULL REFERENCES blobs(sha256),  -- decoded images + labels
  created_at          TEXT NOT NULL
) STRICT;

CREATE TABLE experiments (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  spec_json    TEXT NOT NULL,   -- the resolved, validated spec
  spec_hash    TEXT NOT NULL,   -- sha256 of the canonical spec (non-default fields, sorted)
  replicate    INTEGER NOT NULL DEFAULT 0,
  method       TEXT NOT NULL,
  dataset_id   TEXT NOT NULL REFERENCES datasets(id),
  model        TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('created','running','paused','done','failed','cancelled','interrupted')),
  error        TEXT,
  notes        TEXT NOT NULL DEFAULT '',
  tags         TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  UNIQUE (spec_hash, replicate)
) STRICT;

CREATE TABLE tickets (
  id                  TEXT PRIMARY KEY,
  experiment_id       TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  parent_id           TEXT REFERENCES tickets(id) ON DELETE CASCADE,
  method              TEXT NOT NULL,     -- 'dense', 'imp', 'random-reinit', 'random-prune', ...
  level               INTEGER NOT NULL,
  dataset_id          TEXT NOT NULL REFERENCES datasets(id),
  architecture        TEXT NOT NULL,     -- model name
  remaining_fraction  REAL NOT NULL,     -- prunable weights kept, 0..1
  remaining_params    INTEGER NOT NULL,  -- all parameters kept (prunable kept + unpruned)
  total_params        INTEGER NOT NULL,
  flops               INTEGER NOT NULL,  -- forward FLOPs per example counting only kept weights
  layer_remaining     TEXT NOT NULL,     -- JSON [{layer, total, kept}]
  mask_blob           TEXT REFERENCES blobs(sha256),
  init_blob           TEXT REFERENCES blobs(sha256),   -- weights training started from (θ0 or θk, masked)
  rewind_blob         TEXT REFERENCES blobs(sha256),   -- θk of the dense level when rewinding (k > 0)
  trained_blob        TEXT REFERENCES blobs(sha256),   -- null while its run is training
  created_at          TEXT NOT NULL,
  UNIQUE (experiment_id, level, method)
) STRICT;
CREATE INDEX tickets_experiment ON tickets(experiment_id, level);
CREATE INDEX tickets_parent ON tickets(parent_id);

CREATE TABLE runs (
  id                    TEXT PRIMARY KEY,
  ticket_id             TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
  seed                  INTEGER NOT NULL,
  start_iteration       INTEGER NOT NULL DEFAULT 0,
  hyperparams           TEXT NOT NULL,  -- JSON
  backend               TEXT NOT NULL,
  status                TEXT NOT NULL CHECK (status IN ('running','done','failed','cancelled')),
  iterations            INTEGER NOT NULL DEFAULT 0,
  early_stop_iteration  INTEGER,
  best_val_loss         REAL,
  val_accuracy          REAL,           -- at the early-stop iteration
  test_accuracy         REAL,           -- at the early-stop iteration
  final_test_accuracy   REAL,           -- at the last iteration
  wall_time_ms          INTEGER,
  error                 TEXT,
  started_at            TEXT NOT NULL,
  finished_at           TEXT
) STRICT;
CREATE INDEX runs_ticket ON runs(ticket_id);

CREATE TABLE metrics (
  run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  split      TEXT NOT NULL CHECK (split IN ('train','val','test')),
  step       INTEGER NOT NULL,
  epoch      REAL NOT NULL,
  loss       REAL NOT NULL,
  accuracy   REAL,
  PRIMARY KEY (run_id, split, step)
) STRICT, WITHOUT ROWID;

CREATE TABLE jobs (
  id                    TEXT PRIMARY KEY,
  experiment_id         TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  kind                  TEXT NOT NULL,
  state                 TEXT NOT NULL CHECK (state IN ('queued','running','paused','done','failed','cancelled','interrupted')),
  progress              REAL NOT NULL DEFAULT 0,   -- 0..1 of the whole job
  phase                 TEXT,                      -- e.g. 'level 3 imp'
  owner                 TEXT,                      -- 'hostname:pid' of the host running it
  heartbeat_at          TEXT,
  attempt               INTEGER NOT NULL DEFAULT 0,
  auto_resume           INTEGER NOT NULL DEFAULT 1, -- resume after a crash without asking
  error                 TEXT,
  checkpoint_blob       TEXT REFERENCES blobs(sha256),
  checkpoint_run        TEXT,                      -- 'level/method' of the run it continues
  checkpoint_iteration  INTEGER,
  created_at            TEXT NOT NULL,
  updated_at            TEXT NOT NULL
) STRICT;
CREATE INDEX jobs_state ON jobs(state);

CREATE TABLE exports (
  id          TEXT PRIMARY KEY,
  ticket_id   TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
  format      TEXT NOT NULL,
  path        TEXT NOT NULL,
  checksum    TEXT NOT NULL,
  created_at  TEXT NOT NULL
) STRICT;
