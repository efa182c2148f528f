//! `mnemo_bm25`, an FTS5 ranking function: BM25 exactly as FTS5's `bm25()`
//! computes it, except that each phrase's inverse document frequency is given
//! by the caller instead of counted.
//!
//! FTS5's `bm25()` counts, on the first row of every query, how many rows of
//! the whole table match each phrase: it walks every posting list of the
//! query to the end. In a store of a million memories a word such as "fix"
//! is in nearly all of them, and that count alone costs tens of
//! milliseconds, even when only the newest few thousand matches are ranked.
//! Search knows these frequencies already or estimates them cheaply (see
//! `mnemo-retrieve`'s `lexical.rs`), so it passes them in.
//!
//! Call: `mnemo_bm25(observations_fts, w_1, …, w_C, idf_1, …, idf_K)` with one
//! weight per column of the table and one IDF per phrase of the MATCH
//! expression, in order; phrases past the K-th weigh nothing (the scope
//! tokens come last). Higher is better, unlike `bm25()`.

use std::ffi::{c_int, c_void};
use std::ptr;

use rusqlite::{Connection, ffi};

/// BM25's term-frequency saturation and length normalisation (FTS5's values).
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// The IDF FTS5 gives a phrase found in `matching` of `rows` documents: never
/// below a small positive floor, so a word in most documents still counts a
/// little. More matches than rows (an empty scope, an estimate over the
/// count) would take the logarithm of a negative number: the floor too.
pub fn idf(rows: f64, matching: f64) -> f64 {
    let idf = ((rows - matching + 0.5) / (matching + 0.5)).ln();
    if idf > 0.0 { idf } else { 1e-6 }
}

/// Register `mnemo_bm25` on `conn`.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let api = fts5_api(conn)?;
    // SAFETY: `api` is the live FTS5 API of this connection (checked non-null
    // in `fts5_api`); the name is a static C string and no user data is passed.
    let rc = unsafe {
        match (*api).xCreateFunction {
            Some(create) => create(
                api,
                c"mnemo_bm25".as_ptr(),
                ptr::null_mut(),
                Some(bm25),
                None,
            ),
            None => ffi::SQLITE_MISUSE,
        }
    };
    check(conn, rc)
}

/// The connection's `fts5_api`, fetched the documented way: `SELECT fts5(?1)`
/// with a pointer bound as type "fts5_api_ptr".
fn fts5_api(conn: &Connection) -> rusqlite::Result<*mut ffi::fts5_api> {
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    // SAFETY: the handle belongs to `conn`, which outlives this call; the
    // statement is finalized on every path; `api` outlives the step that
    // writes it.
    let rc = unsafe {
        let db = conn.handle();
        let rc = ffi::sqlite3_prepare_v2(
            db,
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &mut stmt,
            ptr::null_mut(),
        );
        if rc != ffi::SQLITE_OK {
            return check(conn, rc).map(|()| api);
        }
        ffi::sqlite3_bind_pointer(
            stmt,
            1,
            (&mut api as *mut *mut ffi::fts5_api).cast::<c_void>(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        ffi::sqlite3_step(stmt);
        ffi::sqlite3_finalize(stmt)
    };
    check(conn, rc)?;
    if api.is_null() {
        return Err(rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_ERROR),
            Some("this SQLite has no FTS5".into()),
        ));
    }
    Ok(api)
}

fn check(conn: &Connection, rc: c_int) -> rusqlite::Result<()> {
    if rc == ffi::SQLITE_OK {
        return Ok(());
    }
    // SAFETY: reading the connection's last error message.
    let message = unsafe {
        std::ffi::CStr::from_ptr(ffi::sqlite3_errmsg(conn.handle()))
            .to_string_lossy()
            .into_owned()
    };
    Err(rusqlite::Error::SqliteFailure(
        ffi::Error::new(rc),
        Some(message),
    ))
}

/// The FTS5 extension function. SQLite guarantees the pointers for the call.
unsafe extern "C" fn bm25(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    value_count: c_int,
    values: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes a valid API, context and `value_count` values.
    unsafe {
        let args: Vec<f64> = (0..value_count.max(0) as usize)
            .map(|i| ffi::sqlite3_value_double(*values.add(i)))
            .collect();
        match score(&*api, fts, &args) {
            Ok(score) => ffi::sqlite3_result_double(ctx, score),
            Err(rc) if rc == ffi::SQLITE_MISUSE => ffi::sqlite3_result_error(
                ctx,
                c"mnemo_bm25: give one weight per column, then one IDF per phrase".as_ptr(),
                -1,
            ),
            Err(rc) => ffi::sqlite3_result_error_code(ctx, rc),
        }
    }
}

/// The current row's score; `Err` carries an SQLite result code.
///
/// # Safety
/// `api` and `fts` must be the pair SQLite passed to the extension function.
unsafe fn score(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    args: &[f64],
) -> Result<f64, c_int> {
    let (
        Some(column_count),
        Some(phrase_count),
        Some(inst_count),
        Some(inst),
        Some(column_size),
        Some(row_count),
        Some(total_size),
    ) = (
        api.xColumnCount,
        api.xPhraseCount,
        api.xInstCount,
        api.xInst,
        api.xColumnSize,
        api.xRowCount,
        api.xColumnTotalSize,
    )
    else {
        return Err(ffi::SQLITE_MISUSE);
    };
    let ok = |rc: c_int| {
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(rc)
        }
    };
    // SAFETY (whole block): the functions come from SQLite's API table and
    // are called with its context and pointers to live locals.
    unsafe {
        let columns = column_count(fts).max(0) as usize;
        if args.len() < columns {
            return Err(ffi::SQLITE_MISUSE);
        }
        let (weights, idfs) = args.split_at(columns);
        let mut frequency = vec![0.0; phrase_count(fts).max(0) as usize];
        let mut instances = 0;
        ok(inst_count(fts, &mut instances))?;
        for i in 0..instances {
            let (mut phrase, mut column, mut offset) = (0, 0, 0);
            ok(inst(fts, i, &mut phrase, &mut column, &mut offset))?;
            if let (Some(f), Some(w)) = (
                frequency.get_mut(phrase as usize),
                weights.get(column as usize),
            ) {
                *f += w;
            }
        }
        let (mut length, mut rows, mut tokens) = (0, 0, 0);
        ok(column_size(fts, -1, &mut length))?;
        ok(row_count(fts, &mut rows))?;
        ok(total_size(fts, -1, &mut tokens))?;
        let average = if rows > 0 {
            tokens as f64 / rows as f64
        } else {
            1.0
        };
        let norm = K1 * (1.0 - B + B * f64::from(length) / average);
        Ok(frequency
            .iter()
            .zip(idfs)
            .map(|(f, idf)| idf * f * (K1 + 1.0) / (f + norm))
            .sum())
    }
}

#[cfg(test)]
mod tests {
    use super::idf;
    use crate::{NewObservation, ProjectRef, Store};

    #[test]
    fn idf_is_positive_and_finite_even_for_an_empty_scope() {
        for (rows, matching) in [(0.0, 1.0), (3.0, 7.5), (100.0, 100.0), (100.0, 1.0)] {
            let weight = idf(rows, matching);
            assert!(
                weight.is_finite() && weight > 0.0,
                "idf({rows}, {matching}) = {weight}"
            );
        }
    }

    /// With FTS5's own IDFs, `mnemo_bm25` gives `bm25()`'s scores, negated.
    #[test]
    fn same_scores_as_fts5_given_the_same_idf() {
        let mut store = Store::open_in_memory().unwrap();
        let project = ProjectRef {
            root: "/src/app".into(),
            name: "app".into(),
        };
        for i in 0..40usize {
            let observation = NewObservation {
                kind: "bugfix".into(),
                title: format!(
                    "cache retries {}",
                    if i % 3 == 0 { "fibonacci" } else { "timeout" }
                ),
                narrative: "the cache ".repeat(i % 5 + 1),
                content_hash: format!("h{i}"),
                generated_by: "user".into(),
                ..NewObservation::default()
            };
            store
                .remember(Some(&project), &observation, i as i64)
                .unwrap();
        }
        let conn = store.conn();
        let rows: f64 = conn
            .query_row("SELECT count(*) FROM observations_fts", [], |r| r.get(0))
            .unwrap();
        let count = |word: &str| -> f64 {
            conn.query_row(
                "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH ?1",
                [format!("\"{word}\"")],
                |r| r.get(0),
            )
            .unwrap()
        };
        let weights = "10.0, 4.0, 1.0, 2.0, 1.0, 3.0, 0.0";
        let idfs: Vec<f64> = ["cache", "fibonacci"]
            .iter()
            .map(|w| super::idf(rows, count(w)))
            .collect();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT -bm25(observations_fts, {weights}),
                        mnemo_bm25(observations_fts, {weights}, ?1, ?2)
                 FROM observations_fts WHERE observations_fts MATCH '\"cache\" OR \"fibonacci\"'"
            ))
            .unwrap();
        let pairs: Vec<(f64, f64)> = stmt
            .query_map([idfs[0], idfs[1]], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(pairs.len(), 40);
        assert!(pairs.iter().any(|(a, _)| *a > 1.0), "{pairs:?}");
        for (fts5, ours) in pairs {
            assert!((fts5 - ours).abs() < 1e-9, "{fts5} vs {ours}");
        }
    }

    #[test]
    fn too_few_arguments_is_an_error_not_a_crash() {
        let mut store = Store::open_in_memory().unwrap();
        let score = |store: &Store| {
            store.conn().query_row(
                "SELECT mnemo_bm25(observations_fts, 1.0) FROM observations_fts
                 WHERE observations_fts MATCH 'x'",
                [],
                |r| r.get::<_, f64>(0),
            )
        };
        // No rows match, so no error either: the function runs per row.
        let err = score(&store).unwrap_err();
        assert!(matches!(err, rusqlite::Error::QueryReturnedNoRows), "{err}");
        store
            .remember(
                None,
                &NewObservation {
                    kind: "discovery".into(),
                    title: "x marks the spot".into(),
                    content_hash: "x".into(),
                    generated_by: "user".into(),
                    ..NewObservation::default()
                },
                0,
            )
            .unwrap();
        let err = score(&store).unwrap_err();
        assert!(err.to_string().contains("one weight per column"), "{err}");
    }
}
