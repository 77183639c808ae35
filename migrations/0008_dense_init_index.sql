-- The genealogy finds every experiment whose dense network started from the same θ0
-- (Store.experimentsFromInit): without an index that is a scan of every ticket each time
-- the page opens. Only level-0 dense tickets are looked up by their initial weights.
CREATE INDEX tickets_dense_init ON tickets (init_blob, dataset_id)
  WHERE level = 0 AND method = 'dense';
