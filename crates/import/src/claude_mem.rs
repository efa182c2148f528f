//! claude-mem databases (`~/.claude-mem/claude-mem.db`): sessions, prompts,
//! observations and summaries, brought into a mnemo store.
//!
//! The database is opened read-only and read by whatever columns its schema
//! version has (`source.rs`). Each claude-mem project name is given a mnemo
//! root ([`projects`]). Rows then go in four passes — sessions, prompts,
//! summaries, observations — in transactions of at most 1,000
//! rows (`source::CHUNK`), each keyed on the natural key capture uses: a session on Claude
//! Code's session id, a prompt on its number in the session, an observation
//! on its content hash in its project, a summary on its prompt. So a second
//! run, or a run after a killed one, adds only what is missing. Every text
//! goes through the [`Redactor`] first.

mod convert;
pub mod projects;
mod source;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use mnemo_privacy::{CleanReport, Redactor};
use mnemo_store::{
    ExternalBatch, ExternalPrompt, ExternalSession, NewObservation, NewSummary, ProjectRef, Store,
    StoreError,
};

use projects::{MappedBy, ProjectMapping, Transcripts};
use source::{ObservationRow, SessionRow, Source, SummaryRow};

/// Where claude-mem keeps its database, under its data directory
/// (`$CLAUDE_MEM_DATA_DIR`, default `~/.claude-mem`).
pub const DB_FILE: &str = "claude-mem.db";

/// What to import and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The claude-mem database.
    pub db: PathBuf,
    /// `--map NAME=DIR`: where a claude-mem project lives.
    pub maps: Vec<(String, PathBuf)>,
    /// Claude Code's transcripts directory (`$CLAUDE_CONFIG_DIR/projects`,
    /// default `~/.claude/projects`), for sessions' working directories.
    pub transcripts: Option<PathBuf>,
    /// Do everything in one transaction and roll it back: the report says
    /// what an import would do.
    pub dry_run: bool,
    /// Import time, Unix milliseconds.
    pub now: i64,
}

/// Why an import could not run. Each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// No file at the given path.
    #[error("no claude-mem database at {0}")]
    Missing(PathBuf),
    /// The file is not an SQLite database that can be opened read-only.
    #[error("{path} is not a readable SQLite database: {why}")]
    NotDatabase {
        /// The file.
        path: PathBuf,
        /// SQLite's reason.
        why: String,
    },
    /// A table every claude-mem database has is missing.
    #[error("{path} has no {table} table: not a claude-mem database")]
    MissingTable {
        /// The file.
        path: PathBuf,
        /// The missing table.
        table: &'static str,
    },
    #[error(
        "{path}: table {table} has no {column} column: a claude-mem schema this mnemo cannot read"
    )]
    /// A column this importer reads is missing from its table.
    MissingColumn {
        /// The claude-mem database.
        path: PathBuf,
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
    },
    /// A query on the claude-mem database failed.
    #[error("reading {path}: {source}")]
    Read {
        /// The claude-mem database.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// Writing to mnemo's database failed.
    #[error("writing the mnemo database: {0}")]
    Store(#[from] StoreError),
}

/// Counts for one kind of row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Added to mnemo by this run.
    pub imported: u64,
    /// Already in mnemo (imported before, captured by hooks, or identical
    /// to a memory mnemo has).
    pub present: u64,
    /// Left out, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
}

impl Tally {
    fn count(&mut self, new: bool) {
        if new {
            self.imported += 1;
        } else {
            self.present += 1;
        }
    }

    fn skip(&mut self, reason: &'static str) {
        *self.skipped.entry(reason).or_default() += 1;
    }
}

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// `max(version)` of claude-mem's `schema_versions`.
    pub schema_version: Option<i64>,
    /// Where each claude-mem project name was placed.
    pub projects: Vec<ProjectMapping>,
    /// Sessions imported, present or skipped.
    pub sessions: Tally,
    /// Prompts imported, present or skipped.
    pub prompts: Tally,
    /// Prompts made for summaries whose prompt claude-mem did not keep
    /// (their text is the summary's request); counted in `prompts` too.
    pub placeholder_prompts: u64,
    /// Observations imported, present or skipped.
    pub observations: Tally,
    /// Summaries imported, present or skipped.
    pub summaries: Tally,
    /// Secrets redacted and `<private>` spans dropped on the way in.
    pub redactions: usize,
}

/// The four passes, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The `sdk_sessions` pass.
    Sessions,
    /// The `user_prompts` pass.
    Prompts,
    /// The `session_summaries` pass.
    Summaries,
    /// The `observations` pass.
    Observations,
}

impl Phase {
    /// The pass's name, plural.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Sessions => "sessions",
            Phase::Prompts => "prompts",
            Phase::Summaries => "summaries",
            Phase::Observations => "observations",
        }
    }
}

/// Import the claude-mem database `options.db` into `store`. `progress` is
/// called after each transaction with the pass, rows done and rows in all.
pub fn import(
    store: &mut Store,
    redactor: &Redactor,
    options: &Options,
    progress: &mut dyn FnMut(Phase, u64, u64),
) -> Result<Report, ImportError> {
    let source = Source::open(&options.db)?;
    let sessions = source.sessions()?;
    let transcripts = Transcripts::index(options.transcripts.as_deref());
    let mut run = Run {
        redactor,
        now: options.now,
        report: Report {
            schema_version: source.version,
            ..Report::default()
        },
        session_by_memory_id: HashMap::new(),
        session_by_row: HashMap::new(),
        session_by_content_id: HashMap::new(),
        last_prompt: HashMap::new(),
        project_ids: HashMap::new(),
        roots: HashMap::new(),
    };
    run.map_projects(store, &source, &sessions, options, &transcripts)?;

    let mut target = if options.dry_run {
        Target::Dry(store.external_batch(options.now)?)
    } else {
        Target::Store(store)
    };
    let total = sessions.len() as u64;
    for (i, chunk) in sessions.chunks(source::CHUNK).enumerate() {
        target.write(options.now, |b| run.sessions(b, chunk, &transcripts))?;
        progress(
            Phase::Sessions,
            (i * source::CHUNK + chunk.len()) as u64,
            total,
        );
    }

    let now = options.now;
    let total = source.count("user_prompts")?;
    keyset_pass(
        Phase::Prompts,
        total,
        0,
        |after| source.prompts(after),
        |r| r.id,
        progress,
        |chunk| target.write(now, |b| run.prompts(b, chunk)),
    )?;
    // Versions before 10 kept only each session's first prompt, on the session.
    target.write(now, |b| run.first_prompts(b, &sessions))?;

    let total = source.count("session_summaries")?;
    let mut seen = HashSet::new();
    keyset_pass(
        Phase::Summaries,
        total,
        i64::MAX,
        |before| source.summaries(before),
        |r| r.id,
        progress,
        |chunk| target.write(now, |b| run.summaries(b, chunk, &mut seen)),
    )?;

    let total = source.count("observations")?;
    keyset_pass(
        Phase::Observations,
        total,
        0,
        |after| source.observations(after),
        |r| r.id,
        progress,
        |chunk| target.write(now, |b| run.observations(b, chunk)),
    )?;
    // A dry run's single transaction is rolled back here, when it is dropped.
    drop(target);
    Ok(run.report)
}

/// One pass over a table read in chunks by keyset: `fetch(bound)` returns
/// the rows past `bound` in the pass's order, `key` the bound after a row,
/// and `write` stores each chunk.
fn keyset_pass<T>(
    phase: Phase,
    total: u64,
    mut bound: i64,
    fetch: impl Fn(i64) -> Result<Vec<T>, ImportError>,
    key: impl Fn(&T) -> i64,
    progress: &mut dyn FnMut(Phase, u64, u64),
    mut write: impl FnMut(&[T]) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut done = 0;
    loop {
        let chunk = fetch(bound)?;
        let Some(last) = chunk.last() else {
            return Ok(());
        };
        bound = key(last);
        done += chunk.len() as u64;
        write(&chunk)?;
        progress(phase, done, total);
    }
}

/// Where the passes write: the store, one committed transaction per chunk;
/// or, for a dry run, one transaction for everything, never committed.
enum Target<'a> {
    Store(&'a mut Store),
    Dry(ExternalBatch<'a>),
}

impl Target<'_> {
    fn write<T>(
        &mut self,
        now: i64,
        f: impl FnOnce(&ExternalBatch) -> Result<T, ImportError>,
    ) -> Result<T, ImportError> {
        match self {
            Target::Store(store) => {
                let batch = store.external_batch(now)?;
                let out = f(&batch)?;
                batch.commit()?;
                Ok(out)
            }
            Target::Dry(batch) => f(batch),
        }
    }
}

/// State shared by the passes.
struct Run<'r> {
    redactor: &'r Redactor,
    now: i64,
    report: Report,
    session_by_memory_id: HashMap<String, i64>,
    session_by_row: HashMap<i64, i64>,
    session_by_content_id: HashMap<String, i64>,
    /// The highest prompt number seen per mnemo session (where summaries
    /// without a prompt number go).
    last_prompt: HashMap<i64, i64>,
    /// mnemo project ids by root.
    project_ids: HashMap<String, i64>,
    /// mnemo project by claude-mem name.
    roots: HashMap<String, ProjectRef>,
}

/// The agent of a claude-mem session: Claude Code unless claude-mem
/// recorded another platform (its `platform_source`, kept as the agent).
fn agent_of(platform: Option<&str>) -> String {
    match platform.map(str::trim) {
        None | Some("" | "claude" | "claude-code") => "claude-code".into(),
        Some(other) => other.to_string(),
    }
}

impl Run<'_> {
    /// Redact `text`, counting what was removed. Also says whether
    /// `<private>` spans were dropped.
    fn redact(&mut self, text: &str) -> (String, bool) {
        let mut report = CleanReport::default();
        let cleaned = self
            .redactor
            .clean_text_with_report(text.trim(), &mut report)
            .trim()
            .to_string();
        self.report.redactions += report.total_redactions() + report.private_spans;
        (cleaned, report.private_spans > 0)
    }

    /// [`Run::redact`] for an optional field.
    fn clean(&mut self, text: Option<&str>) -> String {
        self.redact(text.unwrap_or("")).0
    }

    fn clean_list(&mut self, items: Vec<String>) -> Vec<String> {
        items
            .into_iter()
            .map(|i| self.clean(Some(&i)))
            .filter(|i| !i.is_empty())
            .collect()
    }

    /// Give every project name a root, merging placeholders of names that
    /// can now be placed.
    fn map_projects(
        &mut self,
        store: &mut Store,
        source: &Source,
        sessions: &[SessionRow],
        options: &Options,
        transcripts: &Transcripts,
    ) -> Result<(), ImportError> {
        let maps: HashMap<String, ProjectRef> = options
            .maps
            .iter()
            .map(|(name, dir)| (name.clone(), projects::project_of_dir(dir)))
            .collect();
        let mut names: Vec<String> = sessions.iter().map(|s| s.project.clone()).collect();
        names.extend(source.row_projects()?);
        names.retain(|n| !n.trim().is_empty());
        names.sort();
        names.dedup();
        for name in names {
            let agents: Vec<(String, &str)> = sessions
                .iter()
                .filter(|s| s.project == name && !s.content_id.is_empty())
                .map(|s| (agent_of(s.platform.as_deref()), s.content_id.as_str()))
                .collect();
            let ids: Vec<(&str, &str)> = agents.iter().map(|(a, id)| (a.as_str(), *id)).collect();
            let (project, by) = projects::map_project(store, &name, &maps, &ids, transcripts)?;
            let merged_placeholder = by != MappedBy::Placeholder
                && !options.dry_run
                && store.merge_project(
                    &projects::placeholder(&name).root,
                    &project,
                    options.now,
                )?;
            self.roots.insert(name.clone(), project.clone());
            self.report.projects.push(ProjectMapping {
                name,
                project,
                by,
                merged_placeholder,
            });
        }
        Ok(())
    }

    /// The mnemo project id of a claude-mem project name.
    fn project_id(&mut self, b: &ExternalBatch, name: &str) -> Result<Option<i64>, ImportError> {
        let Some(project) = self.roots.get(name) else {
            return Ok(None);
        };
        if let Some(id) = self.project_ids.get(&project.root) {
            return Ok(Some(*id));
        }
        let id = b.project(project)?;
        self.project_ids.insert(project.root.clone(), id);
        Ok(Some(id))
    }

    fn sessions(
        &mut self,
        b: &ExternalBatch,
        rows: &[SessionRow],
        transcripts: &Transcripts,
    ) -> Result<(), ImportError> {
        for row in rows {
            if row.content_id.trim().is_empty() {
                self.report.sessions.skip("no Claude Code session id");
                continue;
            }
            let transcript = transcripts.info(&row.content_id);
            let ended = row.completed_at.is_some()
                || matches!(row.status.as_deref(), Some("completed" | "failed"));
            let started_at = row.started_at.unwrap_or(self.now);
            let session = ExternalSession {
                agent: agent_of(row.platform.as_deref()),
                agent_session_id: row.content_id.clone(),
                project: self.roots.get(&row.project).cloned(),
                cwd: transcript.as_ref().and_then(|t| t.cwd.clone()),
                transcript_path: transcript.map(|t| t.path),
                started_at,
                ended_at: ended.then(|| row.completed_at.unwrap_or(started_at)),
                end_reason: ended.then(|| {
                    format!(
                        "claude-mem: {}",
                        row.status.as_deref().unwrap_or("completed")
                    )
                }),
            };
            let (id, new) = b.session(&session)?;
            self.report.sessions.count(new);
            self.session_by_row.insert(row.id, id);
            self.session_by_content_id
                .entry(row.content_id.clone())
                .or_insert(id);
            if let Some(memory_id) = &row.memory_id {
                self.session_by_memory_id.insert(memory_id.clone(), id);
            }
        }
        Ok(())
    }

    /// Prompt `n` of a session, redacted; returns whether it was new.
    fn add_prompt(
        &mut self,
        b: &ExternalBatch,
        session: i64,
        n: i64,
        text: &str,
        created_at: i64,
    ) -> Result<bool, ImportError> {
        let (cleaned, had_private) = self.redact(text);
        let prompt = ExternalPrompt {
            n,
            private: had_private && cleaned.is_empty(),
            text: cleaned,
            created_at,
        };
        let last = self.last_prompt.entry(session).or_default();
        *last = (*last).max(n);
        Ok(b.prompt(session, &prompt)?.1)
    }

    fn prompts(
        &mut self,
        b: &ExternalBatch,
        rows: &[source::PromptRow],
    ) -> Result<(), ImportError> {
        for row in rows {
            let session = row
                .session_row
                .and_then(|r| self.session_by_row.get(&r))
                .or_else(|| self.session_by_content_id.get(&row.content_id))
                .copied();
            let Some(session) = session else {
                self.report.prompts.skip("no such session");
                continue;
            };
            let Some(n) = row.number.filter(|n| *n > 0) else {
                self.report.prompts.skip("no prompt number");
                continue;
            };
            let created_at = row.created_at.unwrap_or(self.now);
            let new = self.add_prompt(b, session, n, &row.text, created_at)?;
            self.report.prompts.count(new);
        }
        Ok(())
    }

    /// Prompt 1 from `sdk_sessions.user_prompt` for sessions whose prompts
    /// claude-mem did not keep in `user_prompts`.
    fn first_prompts(&mut self, b: &ExternalBatch, rows: &[SessionRow]) -> Result<(), ImportError> {
        for row in rows {
            let (Some(text), Some(session)) = (
                row.first_prompt.as_deref().filter(|t| !t.trim().is_empty()),
                self.session_by_row.get(&row.id).copied(),
            ) else {
                continue;
            };
            if self.last_prompt.contains_key(&session) {
                continue;
            }
            let new = self.add_prompt(b, session, 1, text, row.started_at.unwrap_or(self.now))?;
            self.report.prompts.count(new);
        }
        Ok(())
    }

    fn summaries(
        &mut self,
        b: &ExternalBatch,
        rows: &[SummaryRow],
        seen: &mut HashSet<(i64, i64)>,
    ) -> Result<(), ImportError> {
        for row in rows {
            let session = row
                .memory_id
                .as_ref()
                .and_then(|m| self.session_by_memory_id.get(m))
                .copied();
            let Some(session) = session else {
                self.report.summaries.skip("no such session");
                continue;
            };
            let n = row
                .prompt_number
                .filter(|n| *n > 0)
                .or_else(|| self.last_prompt.get(&session).copied())
                .unwrap_or(1);
            if !seen.insert((session, n)) {
                self.report
                    .summaries
                    .skip("a later summary of the same prompt was kept");
                continue;
            }
            let notes = self.clean(row.notes.as_deref());
            let mut learned = self.clean(row.learned.as_deref());
            if !notes.is_empty() {
                learned = if learned.is_empty() {
                    notes
                } else {
                    format!("{learned}\n\nNotes: {notes}")
                };
            }
            let summary = NewSummary {
                request: self.clean(row.request.as_deref()),
                investigated: self.clean(row.investigated.as_deref()),
                learned,
                completed: self.clean(row.completed.as_deref()),
                next_steps: self.clean(row.next_steps.as_deref()),
                files_read: self.clean_list(convert::list(row.files_read.as_deref())),
                files_modified: self.clean_list(convert::list(row.files_edited.as_deref())),
                generated_by: "claude-mem".into(),
            };
            if [
                &summary.request,
                &summary.investigated,
                &summary.learned,
                &summary.completed,
                &summary.next_steps,
            ]
            .iter()
            .all(|s| s.is_empty())
            {
                self.report.summaries.skip("empty");
                continue;
            }
            let created_at = row.created_at.unwrap_or(self.now);
            let prompt_id = match b.prompt_id(session, n)? {
                Some(id) => id,
                None => {
                    let placeholder = ExternalPrompt {
                        n,
                        text: summary.request.clone(),
                        private: false,
                        created_at,
                    };
                    let (id, _) = b.prompt(session, &placeholder)?;
                    self.report.prompts.imported += 1;
                    self.report.placeholder_prompts += 1;
                    id
                }
            };
            let new = b.summary(session, prompt_id, &summary, created_at)?;
            self.report.summaries.count(new);
        }
        Ok(())
    }

    fn observations(
        &mut self,
        b: &ExternalBatch,
        rows: &[ObservationRow],
    ) -> Result<(), ImportError> {
        for row in rows {
            let session = row
                .memory_id
                .as_ref()
                .and_then(|m| self.session_by_memory_id.get(m))
                .copied();
            let Some(o) = self.observation(row) else {
                self.report.observations.skip("empty");
                continue;
            };
            let project_id = match self.project_id(b, &row.project)? {
                Some(id) => Some(id),
                None => match session {
                    Some(s) => b.session_project_id(s)?,
                    None => None,
                },
            };
            let prompt_id = match (session, row.prompt_number) {
                (Some(s), Some(n)) => b.prompt_id(s, n)?,
                _ => None,
            };
            let new = b.observation(project_id, session, prompt_id, &o)?;
            self.report.observations.count(new);
        }
        Ok(())
    }

    /// A claude-mem observation as a mnemo one, redacted; `None` when it
    /// has nothing to say.
    fn observation(&mut self, row: &ObservationRow) -> Option<NewObservation> {
        let kind = convert::observation_type(&row.kind);
        let legacy = self.clean(row.text.as_deref());
        let mut narrative = self.clean(row.narrative.as_deref());
        let subtitle = self.clean(row.subtitle.as_deref());
        let facts = self.clean_list(convert::list(row.facts.as_deref()));
        let mut title = self.clean(row.title.as_deref());
        if title.is_empty() {
            title = [&subtitle, &narrative, &legacy]
                .into_iter()
                .map(|t| convert::first_line(t))
                .chain(facts.first().map(|f| convert::first_line(f)))
                .find(|t| !t.is_empty())
                .unwrap_or_default();
        }
        if narrative.is_empty() && legacy != title {
            narrative = legacy;
        }
        if title.is_empty() {
            return None;
        }
        let concepts = convert::concepts(row.concepts.as_deref(), &row.kind);
        Some(NewObservation {
            content_hash: mnemo_compress::content_hash(kind, &title, &narrative),
            kind: kind.to_string(),
            subtitle,
            facts,
            concepts: self.clean_list(concepts),
            files_read: self.clean_list(convert::list(row.files_read.as_deref())),
            files_modified: self.clean_list(convert::list(row.files_modified.as_deref())),
            generated_by: match &row.model {
                Some(model) => format!("claude-mem:{model}"),
                None => "claude-mem".into(),
            },
            created_at: Some(row.created_at.unwrap_or(self.now)),
            reference: Some(format!("claude-mem:{}", row.id)),
            title,
            narrative,
            ..NewObservation::default()
        })
    }
}

/// The default database: `$CLAUDE_MEM_DATA_DIR/claude-mem.db`, else
/// `<home>/.claude-mem/claude-mem.db`.
pub fn default_db(data_dir: Option<&Path>, home: &Path) -> PathBuf {
    data_dir
        .map_or_else(|| home.join(".claude-mem"), Path::to_path_buf)
        .join(DB_FILE)
}
