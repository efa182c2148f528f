//! claude-mem databases (`~/.claude-mem/claude-mem.db`).
