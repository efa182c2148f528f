//! Claude Code session transcripts (`~/.claude/projects/<slug>/<session>.jsonl`).
