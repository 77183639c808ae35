-- Instability analyses (Frankle, Dziugaite, Roy & Carbin 2020): one row per ticket and
-- rewind point k. Two copies of the ticket start from θ_k and train to the end with
-- different data orders; `curve` (JSON [{alpha, testError}]) is the test error along the
-- straight line between them and `barrier` its highest error minus the mean of its ends.
-- A row is created when the analysis is asked for and filled as its job runs: the copies'
-- weights as they finish (a paused job does not train them again), then the curve.
CREATE TABLE instability (
  id                TEXT PRIMARY KEY,
  ticket_id         TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
  job_id            TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  rewind            TEXT NOT NULL,                 -- as asked: '0it', '500it', '2ep'
  rewind_iteration  INTEGER NOT NULL,
  points            INTEGER NOT NULL,
  seeds             TEXT,                          -- JSON [copy A's, copy B's] batch-order seeds
  theta_k           TEXT CHECK (theta_k IN ('initial','stored','recomputed')),
  copy_a_blob       TEXT REFERENCES blobs(sha256),
  copy_b_blob       TEXT REFERENCES blobs(sha256),
  curve             TEXT,
  barrier           REAL,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX instability_ticket ON instability(ticket_id);
CREATE INDEX instability_job ON instability(job_id);
