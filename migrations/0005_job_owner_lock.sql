-- Who runs a job is decided by an OS file lock, not by its heartbeat: a host that runs jobs
-- holds an exclusive lock on its own file under <data folder>/locks/ for as long as its
-- process lives, and records that file's name on every job it claims. The job belongs to
-- its owner exactly while that file is locked (a stopped or busy owner still holds it; a
-- dead one, however it died, does not). NULL for jobs claimed before this migration.
ALTER TABLE jobs ADD COLUMN owner_lock TEXT;
