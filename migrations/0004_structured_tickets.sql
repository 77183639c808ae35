-- Structured tickets are physically smaller models. `structure` (JSON) holds the compacted
-- architecture their weights belong to, the units kept per pruned layer, and for a network
-- slimming search its Early-Bird records; `inference` (JSON) holds the latency, throughput
-- and file size measured for the compacted model against the dense one. NULL for masked
-- (unstructured) tickets.
ALTER TABLE tickets ADD COLUMN structure TEXT;
ALTER TABLE tickets ADD COLUMN inference TEXT;
