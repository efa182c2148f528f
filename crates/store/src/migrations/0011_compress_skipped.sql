-- Episodes whose compression failed on their own content (an error or a
-- panic that retrying cannot fix): the reason, so they are skipped instead
-- of failing every later compression run of their project.
ALTER TABLE prompts ADD COLUMN compress_skipped TEXT;
