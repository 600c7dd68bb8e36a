-- Refs form a tree: "post:1/like:2" is a child of "post:1", and reversing a
-- ref reverses its children too. The ref index becomes a pattern index so
-- both the ref and its children (ref LIKE 'post:1/%') are found through it.

DROP INDEX coin_events_ref_idx;
CREATE INDEX coin_events_ref_idx ON coin_events (tenant_id, ref text_pattern_ops) WHERE ref <> '';
