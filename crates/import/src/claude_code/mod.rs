//! Claude Code session transcripts (`~/.claude/projects/<slug>/<session>.jsonl`)
//! replayed into a mnemo store.
//!
//! ```text
//! discover (main transcripts, then subagent ones) ─▶ per file: resume at the
//!   consumed offset ─▶ transcript::parse each line ─▶ replay::Replay (turns of
//!   hook inputs) ─▶ Capturer::normalize (redaction, project) ─▶
//!   Store::record_imported (turns + the file's new mark, one transaction)
//! then: compress every closed episode at the time it ended.
//! ```
//!
//! Idempotent and resumable: each file's mark says how many bytes of
//! complete turns were replayed, so a second import reads nothing (or only
//! what was appended), and a killed one resumes where its last transaction
//! ended. A file written in the last minutes may be a live session: its open
//! turn waits for a later import and the session is not ended. A session
//! mnemo's hooks captured live only gets what they missed.

pub mod replay;

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use mnemo_capture::{Capturer, Normalized, project, read_input};
use mnemo_compress::Report;
use mnemo_privacy::Redactor;
use mnemo_store::{ImportTally, ImportedTurn, SessionOrigin, Store, StoreError, TranscriptMark};
use serde::Serialize;
use sha2::{Digest, Sha256};

use mnemo_agent::claude_code::HookEvent;
use mnemo_agent::claude_code::transcript::{self, Line};
use replay::{Kind, Replay, Turn};

/// Records written per transaction (whole turns: a turn is never split).
const BATCH_RECORDS: usize = 2000;
/// Bytes of the consumed prefix's head and tail hashed into a file's mark.
const HASHED_BYTES: u64 = 4096;

/// One transcript file to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptFile {
    /// Where the file is.
    pub path: PathBuf,
    /// A session's own transcript or a subagent's.
    pub kind: Kind,
    /// The session, when the file's place names it.
    pub session_id: Option<String>,
    /// The session's main transcript (what hooks call `transcript_path`).
    pub session_transcript: Option<PathBuf>,
    /// Bytes, when found (for the progress bar).
    pub size: u64,
}

/// How an import runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Count what would be imported without writing anything.
    pub dry_run: bool,
    /// A file modified more recently than this may belong to a running
    /// session: its open turn is left for later and the session not ended.
    pub live_window: Duration,
    /// Redelivery window for prompts and events (`capture.dedupe_window_secs`).
    pub dedupe_window_ms: i64,
    /// Hook inputs over this size are stored as stubs, as hooks do.
    pub max_input_bytes: usize,
    /// The current time, Unix ms.
    pub now: i64,
}

/// What an import found and did: transcripts, then what was stored (new
/// rows only), then the lines read, then what compression made of it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Transcript files found.
    pub transcripts: usize,
    /// Read (new, grown or changed).
    pub transcripts_read: usize,
    /// Skipped: unchanged since the last import.
    pub transcripts_unchanged: usize,
    /// Could not be read (named in `problems`).
    pub transcripts_failed: usize,
    /// Sessions that received something.
    pub sessions: usize,
    /// Prompts stored.
    pub prompts: usize,
    /// Tool events stored.
    pub tool_events: usize,
    /// Session, stop, compaction and subagent events.
    pub other_events: usize,
    /// Already in the store (captured live by hooks, or imported before).
    pub duplicates: usize,
    /// Left out by the configuration (`capture.skip_tools`, excluded projects).
    pub ignored: usize,
    /// Inputs refused (stored in `rejected_inputs`).
    pub rejected: usize,
    /// Lines read.
    pub lines: usize,
    /// Lines with nothing to replay (summaries, snapshots, meta lines).
    pub lines_housekeeping: usize,
    /// Lines of a type this version does not know.
    pub lines_unknown: usize,
    /// Lines that are not JSON (damaged or cut off).
    pub lines_broken: usize,
    /// Bytes of transcript read.
    pub bytes_read: u64,
    /// Closed episodes compressed.
    pub episodes: usize,
    /// Observations compressed from them.
    pub observations: usize,
    /// Summaries written for them.
    pub summaries: usize,
    /// Files that could not be read, one line each.
    pub problems: Vec<String>,
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptImportError {
    /// A transcript directory could not be listed.
    #[error("cannot read {}: {source}", path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// The store failed; nothing after the last committed turn was written.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// `dir` holds no transcript: neither `*.jsonl` files nor folders of them.
    #[error(
        "no Claude Code transcripts in {}: name a projects directory (~/.claude/projects) or one project's folder in it",
        .0.display()
    )]
    NoTranscripts(PathBuf),
}

/// Every transcript under `dir`, main transcripts first, then subagent
/// ones, each group in path order. `dir` is a `projects` directory (one
/// folder per project slug) or one project's folder, which holds the
/// `*.jsonl` transcripts directly; holding none either way is an error.
/// With `project`, only folders whose sessions ran in that project: in
/// it, a worktree of it, or (for a directory that is gone) a subdirectory
/// of the path given.
pub fn discover(
    dir: &Path,
    project: Option<&Path>,
) -> Result<Vec<TranscriptFile>, TranscriptImportError> {
    let dir_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TranscriptImportError::Dir { path, source }
    };
    let wanted = project.map(|p| project::resolve(p).root);
    let mut slugs: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(dir_error(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    slugs.sort();
    if !jsonl_files(dir).is_empty() {
        // One project's folder: its session folders hold only subagents.
        slugs = vec![dir.to_path_buf()];
    }
    let (mut mains, mut subagents) = (Vec::new(), Vec::new());
    let mut found_any = false;
    for slug in slugs {
        let files = jsonl_files(&slug);
        found_any |= !files.is_empty();
        if let Some(wanted) = &wanted
            && !first_cwd(&files).is_some_and(|cwd| project::resolve(&cwd).root.starts_with(wanted))
        {
            continue;
        }
        for path in files {
            let stem = file_stem(&path);
            if let Some(agent) = stem.strip_prefix("agent-") {
                // Older layout: a sidechain next to the sessions; the lines name the session.
                subagents.push(transcript_file(
                    path.clone(),
                    Kind::Subagent {
                        agent_id: agent.to_string(),
                    },
                    None,
                    None,
                ));
                continue;
            }
            let session_dir = slug.join(&stem).join("subagents");
            for agent_path in jsonl_files(&session_dir) {
                let agent_stem = file_stem(&agent_path);
                let agent = agent_stem.strip_prefix("agent-").unwrap_or(&agent_stem);
                subagents.push(transcript_file(
                    agent_path.clone(),
                    Kind::Subagent {
                        agent_id: agent.to_string(),
                    },
                    Some(stem.clone()),
                    Some(path.clone()),
                ));
            }
            mains.push(transcript_file(
                path.clone(),
                Kind::Main,
                Some(stem),
                Some(path),
            ));
        }
    }
    if !found_any {
        return Err(TranscriptImportError::NoTranscripts(dir.to_path_buf()));
    }
    mains.append(&mut subagents);
    Ok(mains)
}

fn transcript_file(
    path: PathBuf,
    kind: Kind,
    session_id: Option<String>,
    session_transcript: Option<PathBuf>,
) -> TranscriptFile {
    let size = fs::metadata(&path).map_or(0, |m| m.len());
    TranscriptFile {
        path,
        kind,
        session_id,
        session_transcript,
        size,
    }
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The `.jsonl` files directly in `dir`, sorted (none if it does not exist).
fn jsonl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

/// The first `cwd` named in the first lines of these transcripts.
fn first_cwd(files: &[PathBuf]) -> Option<PathBuf> {
    files.iter().find_map(|path| {
        let file = File::open(path).ok()?;
        BufReader::new(file)
            .lines()
            .take(50)
            .map_while(Result::ok)
            .find_map(|line| {
                let value: serde_json::Value = serde_json::from_str(&line).ok()?;
                value.get("cwd")?.as_str().map(PathBuf::from)
            })
    })
}

/// Replays transcripts into one store.
pub struct TranscriptImporter<'a> {
    store: &'a mut Store,
    capturer: &'a Capturer,
    options: Options,
    /// What has been done so far.
    pub counts: Counts,
}

/// Where a file's reading starts and how its session begins there.
struct Resume {
    offset: u64,
    /// `SessionStart` source to replay first (`None`: the session is open).
    start: Option<&'static str>,
    captured_live: bool,
    /// An earlier import replayed the end of this file.
    ended: bool,
    /// The session an earlier import found in the file.
    session_id: Option<String>,
}

impl<'a> TranscriptImporter<'a> {
    /// An importer writing to `store`, every input normalized by `capturer`.
    pub fn new(
        store: &'a mut Store,
        capturer: &'a Capturer,
        options: Options,
    ) -> TranscriptImporter<'a> {
        TranscriptImporter {
            store,
            capturer,
            options,
            counts: Counts::default(),
        }
    }

    /// Import one transcript file. A file that cannot be read is counted and
    /// named in `counts.problems`; only store errors stop the import.
    /// `progress` is told how many bytes were read.
    pub fn import(
        &mut self,
        file: &TranscriptFile,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), TranscriptImportError> {
        self.counts.transcripts += 1;
        match self.import_file(file, progress) {
            Ok(()) => Ok(()),
            Err(FileError::Io(e)) => {
                self.counts.transcripts_failed += 1;
                self.counts
                    .problems
                    .push(format!("{}: {e}", file.path.display()));
                Ok(())
            }
            Err(FileError::Store(e)) => Err(e.into()),
        }
    }

    fn import_file(
        &mut self,
        file: &TranscriptFile,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), FileError> {
        let path_text = file.path.to_string_lossy().into_owned();
        let meta = fs::metadata(&file.path)?;
        let size = meta.len();
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        let live = self.options.now - mtime < self.options.live_window.as_millis() as i64;
        let mark = self.store.transcript_mark(&path_text)?;
        if let Some(mark) = &mark
            && mark.size == size
            && mark.mtime == mtime
            && mark.consumed == size
            && mark.ended
        {
            self.counts.transcripts_unchanged += 1;
            progress(size);
            return Ok(());
        }
        self.counts.transcripts_read += 1;
        let mut reader = BufReader::with_capacity(256 * 1024, File::open(&file.path)?);
        let resume = self.resume_point(file, mark.as_ref(), &mut reader)?;
        reader.seek(SeekFrom::Start(resume.offset))?;
        progress(resume.offset);

        let session_transcript = file
            .session_transcript
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned());
        let agent_transcript =
            matches!(file.kind, Kind::Subagent { .. }).then(|| path_text.clone());
        let session_id = file.session_id.clone().or(resume.session_id.clone());
        let mut replay = Replay::new(
            file.kind.clone(),
            session_id.clone(),
            session_transcript,
            agent_transcript,
            mtime,
        );
        if let Some(source) = resume.start {
            replay.start(source);
        }
        let mut writer = TurnWriter {
            mark: TranscriptMark {
                path: path_text,
                agent_session_id: session_id.unwrap_or_default(),
                size,
                mtime,
                consumed: resume.offset,
                prefix_hash: String::new(),
                ended: false,
                captured_live: resume.captured_live,
            },
            turns: Vec::new(),
            records: 0,
            origin: None,
            stored_any: false,
        };
        let mut offset = resume.offset;
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            let complete = line.last() == Some(&b'\n');
            if !complete && live {
                break; // still being written
            }
            let start = offset;
            offset += n as u64;
            progress(n as u64);
            self.counts.lines += 1;
            self.counts.bytes_read += n as u64;
            let parsed = transcript::parse(&line);
            match parsed {
                Line::Housekeeping => self.counts.lines_housekeeping += 1,
                Line::Unknown => self.counts.lines_unknown += 1,
                Line::Broken if !line.iter().all(u8::is_ascii_whitespace) => {
                    self.counts.lines_broken += 1;
                }
                _ => {}
            }
            if let Some(turn) = replay.line(parsed, start) {
                self.add_turn(&mut writer, &replay, turn, &mut reader)?;
            }
        }
        let finished = !live;
        // A session already ended by an earlier import ends again only if
        // it went on since.
        let end = finished && (replay.saw_messages() || !resume.ended);
        if let Some(turn) = replay.finish(offset, end) {
            self.add_turn(&mut writer, &replay, turn, &mut reader)?;
        }
        writer.mark.ended = finished;
        if finished {
            writer.mark.consumed = offset;
        }
        self.flush(&mut writer, &replay, &mut reader)?;
        if writer.stored_any && file.kind == Kind::Main {
            self.counts.sessions += 1;
        }
        Ok(())
    }

    /// Where to start reading `file`, given its mark from an earlier import.
    fn resume_point(
        &self,
        file: &TranscriptFile,
        mark: Option<&TranscriptMark>,
        reader: &mut BufReader<File>,
    ) -> Result<Resume, FileError> {
        let size = reader.get_ref().metadata()?.len();
        if let Some(mark) = mark
            && mark.consumed <= size
            && prefix_hash(reader, mark.consumed)? == mark.prefix_hash
        {
            return Ok(Resume {
                offset: mark.consumed,
                // A session replayed to its end and written to again was resumed.
                start: (mark.ended && mark.consumed < size && !mark.captured_live)
                    .then_some("resume"),
                captured_live: mark.captured_live,
                ended: mark.ended,
                session_id: Some(mark.agent_session_id.clone()).filter(|s| !s.is_empty()),
            });
        }
        // New, or rewritten since: from the start (what was stored dedupes).
        let captured_live = match (&file.kind, &file.session_id) {
            (Kind::Main, Some(session)) => {
                self.store.session_origin(mnemo_capture::AGENT, session)?
                    == SessionOrigin::CapturedLive
            }
            _ => false,
        };
        Ok(Resume {
            offset: 0,
            start: (!captured_live).then_some("startup"),
            captured_live,
            ended: false,
            session_id: None,
        })
    }

    /// Normalize a closed turn's inputs and queue them; write when the batch is full.
    fn add_turn(
        &mut self,
        writer: &mut TurnWriter,
        replay: &Replay,
        turn: Turn,
        reader: &mut BufReader<File>,
    ) -> Result<(), FileError> {
        if writer.origin.is_none()
            && let Some(session) = replay.session_id()
        {
            // A subagent's session is known from its lines: it was captured
            // live if its main transcript was.
            writer.mark.agent_session_id = session.to_string();
            let origin = self.store.session_origin(mnemo_capture::AGENT, session)?;
            writer.mark.captured_live |= origin == SessionOrigin::CapturedLive;
            writer.origin = Some(origin);
        }
        let mut imported = ImportedTurn::default();
        for event in turn.events {
            let hook = event.input["hook_event_name"]
                .as_str()
                .and_then(HookEvent::from_name);
            // Hooks delivered the session's lifecycle events themselves.
            if writer.mark.captured_live
                && matches!(
                    hook,
                    Some(
                        HookEvent::SessionStart
                            | HookEvent::SessionEnd
                            | HookEvent::PreCompact
                            | HookEvent::SubagentStop
                    )
                )
            {
                continue;
            }
            let bytes = event.input.to_string().into_bytes();
            let input = read_input(bytes.as_slice(), self.options.max_input_bytes)?;
            match self.capturer.normalize(None, &input, event.at) {
                Normalized::Record { mut record, .. } => {
                    if event.git_branch.is_some() {
                        record.branch = event.git_branch; // the branch at the time
                    }
                    imported.records.push(*record);
                }
                Normalized::Ignored(_) => self.counts.ignored += 1,
                Normalized::Rejected { .. } => self.counts.rejected += 1,
            }
        }
        writer.records += imported.records.len();
        writer.turns.push(imported);
        writer.mark.consumed = turn.end_offset;
        if writer.records >= BATCH_RECORDS {
            self.flush(writer, replay, reader)?;
        }
        Ok(())
    }

    /// Write the queued turns with the file's mark at their end.
    fn flush(
        &mut self,
        writer: &mut TurnWriter,
        replay: &Replay,
        reader: &mut BufReader<File>,
    ) -> Result<(), FileError> {
        if writer.mark.agent_session_id.is_empty() {
            writer.mark.agent_session_id = replay.session_id().unwrap_or_default().to_string();
        }
        let position = reader.stream_position()?;
        writer.mark.prefix_hash = prefix_hash(reader, writer.mark.consumed)?;
        reader.seek(SeekFrom::Start(position))?;
        let tally = if self.options.dry_run {
            dry_tally(&writer.turns)
        } else {
            self.store.record_imported(
                &writer.turns,
                self.options.dedupe_window_ms,
                &writer.mark,
            )?
        };
        writer.stored_any |= tally.prompts + tally.tool_events + tally.other_events > 0;
        self.counts.prompts += tally.prompts;
        self.counts.tool_events += tally.tool_events;
        self.counts.other_events += tally.other_events;
        self.counts.duplicates += tally.duplicates;
        writer.turns.clear();
        writer.records = 0;
        Ok(())
    }

    /// Compress every closed episode, each at the time it was last active,
    /// so observations and summaries carry the original times. Episodes of
    /// a session that may still be running stay open.
    pub fn compress(
        &mut self,
        redactor: &Redactor,
        options: &mnemo_compress::Options,
    ) -> Result<Report, TranscriptImportError> {
        let mut total = Report::default();
        if self.options.dry_run {
            return Ok(total);
        }
        let stale_before = self.options.now - options.stale_after.as_millis() as i64;
        let summaries_before = self.store.stats(0)?.summaries;
        loop {
            let pending = self.store.pending_episodes(stale_before, 500)?;
            let mut done = 0;
            for episode in &pending {
                let at = self
                    .store
                    .episode_last_activity(episode.prompt_id)?
                    .unwrap_or(self.options.now);
                let report =
                    mnemo_compress::compress_one(self.store, redactor, episode, options, at)?;
                done += report.episodes;
                total.add(report);
            }
            if done == 0 {
                break;
            }
        }
        self.counts.episodes += total.episodes;
        self.counts.observations += total.observations;
        self.counts.summaries +=
            (self.store.stats(0)?.summaries - summaries_before).max(0) as usize;
        Ok(total)
    }
}

/// Turns waiting to be written for one file, and its mark after them.
struct TurnWriter {
    mark: TranscriptMark,
    turns: Vec<ImportedTurn>,
    records: usize,
    origin: Option<SessionOrigin>,
    stored_any: bool,
}

/// What a dry run would store (before deduplication).
fn dry_tally(turns: &[ImportedTurn]) -> ImportTally {
    let mut tally = ImportTally::default();
    for record in turns.iter().flat_map(|t| &t.records) {
        if record.prompt.is_some() {
            tally.prompts += 1;
        } else if record.tool_use_id.is_some() {
            tally.tool_events += 1;
        } else {
            tally.other_events += 1;
        }
    }
    tally
}

/// A file problem: unreadable files are skipped, store errors are fatal.
enum FileError {
    Io(io::Error),
    Store(StoreError),
}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> Self {
        FileError::Io(e)
    }
}

impl From<StoreError> for FileError {
    fn from(e: StoreError) -> Self {
        FileError::Store(e)
    }
}

/// Hash of the first `consumed` bytes' head and tail (up to 4 KiB each):
/// enough to tell an appended file from a rewritten one without reading it all.
fn prefix_hash(reader: &mut BufReader<File>, consumed: u64) -> io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(consumed.to_le_bytes());
    let mut buf = Vec::new();
    for start in [0, consumed.saturating_sub(HASHED_BYTES)] {
        buf.clear();
        reader.seek(SeekFrom::Start(start))?;
        reader
            .by_ref()
            .take(HASHED_BYTES.min(consumed - start))
            .read_to_end(&mut buf)?;
        hasher.update(&buf);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
