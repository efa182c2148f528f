-- A free, caller-supplied reference for observations brought in by
-- `mnemo import`; returned by search and show so external tools (and
-- evaluations) can map results back to their own ids.
ALTER TABLE observations ADD COLUMN ref TEXT;
