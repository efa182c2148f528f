//! Search filters as SQL over `observations o`, shared by every way of
//! finding candidates (full text, vectors, most recent).

use rusqlite::types::Value as SqlValue;

use crate::SearchQuery;

/// The filters of a [`SearchQuery`], with the project resolved to its id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) project_id: Option<i64>,
    pub(crate) types: Vec<String>,
    pub(crate) concepts: Vec<String>,
    pub(crate) file: Option<String>,
    pub(crate) author: Option<String>,
    pub(crate) since: Option<i64>,
    pub(crate) until: Option<i64>,
}

impl Filter {
    pub(crate) fn new(q: &SearchQuery, project_id: Option<i64>) -> Filter {
        Filter {
            project_id,
            types: q.types.clone(),
            concepts: q.concepts.clone(),
            file: q.file.clone(),
            author: q.author.clone(),
            since: q.since,
            until: q.until,
        }
    }

    /// Whether a vector candidate (already of the right project) must be
    /// checked against its row: types or row conditions apply.
    pub(crate) fn needs_row_check(&self) -> bool {
        !self.types.is_empty() || self.has_post_conditions()
    }

    /// Whether conditions beyond project and type apply (those two are also
    /// in the full-text scope; these are checked row by row).
    pub(crate) fn has_post_conditions(&self) -> bool {
        !self.concepts.is_empty()
            || self.file.is_some()
            || self.author.is_some()
            || self.since.is_some()
            || self.until.is_some()
    }

    /// The FTS5 condition on the `scope` column for project and types, if any.
    pub(crate) fn fts_scope(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(id) = self.project_id {
            parts.push(format!("{{scope}} : \"p{id}\""));
        }
        if !self.types.is_empty() {
            // Type tokens are `t` + the type's letters and digits (see
            // migration 6); anything else in a requested type is dropped, so
            // it can never be FTS5 syntax.
            let tokens: Vec<String> = self
                .types
                .iter()
                .map(|t| {
                    let letters: String = t.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
                    format!("\"t{}\"", letters.to_ascii_lowercase())
                })
                .collect();
            parts.push(format!("{{scope}} : ({})", tokens.join(" OR ")));
        }
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }

    /// Whether the live observation `id` passes every filter.
    pub(crate) fn admits(&self, conn: &rusqlite::Connection, id: i64) -> rusqlite::Result<bool> {
        let mut sql = "SELECT 1 FROM observations o WHERE o.id = ?".to_string();
        let mut args = vec![SqlValue::Integer(id)];
        self.push_sql(&mut sql, &mut args);
        conn.prepare_cached(&sql)?
            .exists(rusqlite::params_from_iter(args))
    }

    /// Append ` AND …` conditions on `o` (live rows only) and their arguments.
    pub(crate) fn push_sql(&self, sql: &mut String, args: &mut Vec<SqlValue>) {
        sql.push_str(" AND o.deleted_at IS NULL");
        if let Some(id) = self.project_id {
            sql.push_str(" AND o.project_id = ?");
            args.push(SqlValue::Integer(id));
        }
        if !self.types.is_empty() {
            sql.push_str(&format!(
                " AND o.type IN ({})",
                vec!["?"; self.types.len()].join(", ")
            ));
            args.extend(self.types.iter().map(|t| SqlValue::Text(t.clone())));
        }
        if !self.concepts.is_empty() {
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM json_each(o.concepts) c WHERE c.value IN ({}))",
                vec!["?"; self.concepts.len()].join(", ")
            ));
            args.extend(self.concepts.iter().map(|v| SqlValue::Text(v.clone())));
        }
        if let Some(file) = &self.file {
            // The exact path, or any path ending in `/<file>`, looked up by
            // the file's name (migration 10).
            let name = file.rsplit('/').next().unwrap_or(file);
            sql.push_str(
                " AND o.id IN (SELECT observation_id FROM observation_files
                               WHERE name = ? AND (path = ? OR path LIKE ? ESCAPE '\\'))",
            );
            args.push(SqlValue::Text(name.to_string()));
            args.push(SqlValue::Text(file.clone()));
            args.push(SqlValue::Text(format!("%/{}", escape_like(file))));
        }
        if let Some(author) = &self.author {
            sql.push_str(" AND o.author = ? COLLATE NOCASE");
            args.push(SqlValue::Text(author.clone()));
        }
        push_time_range(sql, args, "o.created_at", self.since, self.until);
    }
}

/// Append ` AND column >= since AND column <= until` for the bounds given.
pub(crate) fn push_time_range(
    sql: &mut String,
    args: &mut Vec<SqlValue>,
    column: &str,
    since: Option<i64>,
    until: Option<i64>,
) {
    for (op, bound) in [(">=", since), ("<=", until)] {
        if let Some(ms) = bound {
            sql.push_str(&format!(" AND {column} {op} ?"));
            args.push(SqlValue::Integer(ms));
        }
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
