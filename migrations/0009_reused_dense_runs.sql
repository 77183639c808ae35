-- One dense training per θ0: an experiment whose level 0 would train exactly the network
-- another experiment has trained (same data, model, θ0, training and rewind point;
-- src/jobs/dense-reuse.ts) gets a copy of that ticket and its run, metrics included,
-- instead of training it again. `reused_from` names the run copied. No foreign key: the
-- copy outlives the experiment it came from, as the blobs they share do (a blob is deleted
-- only when nothing refers to it).
ALTER TABLE runs ADD COLUMN reused_from TEXT;
