-- The threads the native kernels took while a run trained: a JSON array of
-- {"fromIteration": k, "threads": n}, each span running from step k to the next span's
-- start (the run's last step for the last). Training repeats to the digit only at the same
-- threads (README, "One dense training per θ0"), and the scheduler changes a worker's
-- threads when another job starts or ends, so a run needs its own record of them. NULL:
-- not recorded (a run from before this column, or one without the native kernels).
ALTER TABLE runs ADD COLUMN kernel_threads TEXT;
