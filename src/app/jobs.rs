//! Jobs: reading them (the newest ones, one by its id, its rejected rows as a table
//! for the seller to fix), and the report through which a job's state is recorded.

use super::files::Tally;
use super::{AppError, Backends};
use crate::domain::orders_file::Rows;
use crate::domain::{COLUMNS, Job, Reject};
use crate::ports::{JobRecord, OrderFiles};
use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Read};

/// The newest `limit` jobs, newest first (without their rejects).
///
/// # Errors
/// The store's errors.
pub async fn list(b: &Backends, limit: usize) -> Result<Vec<Job>, AppError> {
    Ok(b.store.list_jobs(limit).await?)
}

/// One job with its rejects.
///
/// # Errors
/// [`AppError::NotFound`] for an unknown job; the store's errors.
pub async fn get(b: &Backends, job_id: &str) -> Result<Job, AppError> {
    b.store
        .get_job(job_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no job {job_id}")))
}

/// At most this many matches of an ambiguous prefix are named.
const MATCHES_NAMED: usize = 5;

/// The job id that `id` names: a whole job id, or the start of exactly one (the tables
/// show the first 8 characters).
///
/// # Errors
/// [`AppError::BadInput`] for an empty id or a prefix of several jobs (naming them);
/// [`AppError::NotFound`] when no job id starts with it; the store's errors.
pub async fn resolve(b: &Backends, id: &str) -> Result<String, AppError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(AppError::BadInput("the job id is empty".to_owned()));
    }
    let found = b.store.find_jobs_by_prefix(id, MATCHES_NAMED + 1).await?;
    match found.as_slice() {
        [] => Err(AppError::NotFound(format!("no job {id}"))),
        [one] => Ok(one.clone()),
        many if many.iter().any(|m| m == id) => Ok(id.to_owned()),
        many => {
            let mut named = many
                .iter()
                .take(MATCHES_NAMED)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if many.len() > MATCHES_NAMED {
                named.push_str(", ...");
            }
            Err(AppError::BadInput(format!(
                "job id {id} is ambiguous: it is the start of {named}; give more of the id"
            )))
        }
    }
}

/// [`get`] by a whole job id or the start of one ([`resolve`]).
///
/// # Errors
/// As [`resolve`] and [`get`].
pub async fn find(b: &Backends, id: &str) -> Result<Job, AppError> {
    let id = resolve(b, id).await?;
    get(b, &id).await
}

/// What the store records of a job after a transition of its lifecycle.
pub(super) fn report(job: Job) -> JobRecord {
    JobRecord {
        job_id: job.job_id,
        state: job.state,
        error: job.error,
        counts: job.counts,
        rejects: job.rejects,
    }
}

/// A job's rejects as a table of text cells: the header, then one row per reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectsTable {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// A job's rejects (the job named by its id or the start of it, as [`find`]): when
/// the job's file is still there unchanged (on this machine's storage root or in S3),
/// each rejected row with the file's own five columns, then `row`, `column`, `reason`
/// (a row with several reasons appears once per reason); otherwise only `row`,
/// `order_id`, `column`, `reason`.
///
/// # Errors
/// [`AppError::NotFound`] for an unknown job; the store's errors.
pub async fn rejects(b: &Backends, job_id: &str) -> Result<RejectsTable, AppError> {
    let job = find(b, job_id).await?;
    let table = match file_rows(b, &job).await {
        Some(rows) => {
            let mut header: Vec<&str> = COLUMNS.to_vec();
            header.extend(["row", "column", "reason"]);
            let rows = job
                .rejects
                .iter()
                .map(|r| {
                    let mut rec = match r.row.and_then(|n| rows.get(&n)) {
                        Some(fields) => fields.clone(),
                        None => {
                            let mut v = vec![String::new(); COLUMNS.len()];
                            v[0] = r.order_id.clone().unwrap_or_default();
                            v
                        }
                    };
                    rec.extend(tail(r));
                    rec
                })
                .collect();
            RejectsTable { header, rows }
        }
        None => RejectsTable {
            header: vec!["row", "order_id", "column", "reason"],
            rows: job
                .rejects
                .iter()
                .map(|r| {
                    vec![
                        r.row.map(|n| n.to_string()).unwrap_or_default(),
                        r.order_id.clone().unwrap_or_default(),
                        r.column.clone().unwrap_or_default(),
                        r.reason.clone(),
                    ]
                })
                .collect(),
        },
    };
    Ok(table)
}

fn tail(r: &Reject) -> [String; 3] {
    [
        r.row.map(|n| n.to_string()).unwrap_or_default(),
        r.column.clone().unwrap_or_default(),
        r.reason.clone(),
    ]
}

/// The required columns of the job's file, by line, for the rejected lines only; `None`
/// when the file is gone, unreadable, or no longer the bytes that were ingested.
async fn file_rows(b: &Backends, job: &Job) -> Option<HashMap<u64, Vec<String>>> {
    let opened = b.files.open(&job.file_path, None).await.ok()?;
    let wanted: HashSet<u64> = job.rejects.iter().filter_map(|r| r.row).collect();
    let sha256 = job.sha256.clone();
    tokio::task::spawn_blocking(move || read_rows(opened.reader, &wanted, sha256.as_deref()))
        .await
        .ok()
        .flatten()
}

/// The `wanted` lines of the file `reader` gives, when its SHA-256 is `sha256`.
fn read_rows(
    reader: Box<dyn Read + Send>,
    wanted: &HashSet<u64>,
    sha256: Option<&str>,
) -> Option<HashMap<u64, Vec<String>>> {
    let mut hashing = Tally::new(BufReader::new(reader));
    // Number the lines exactly as ingest did (CRLF, blank lines, quoted line ends).
    let mut rows = Rows::new(&mut hashing);
    let mut raw = csv::ByteRecord::new();
    let mut index: Option<Vec<Option<usize>>> = None;
    let mut out = HashMap::new();
    // A row over the cap: ingest failed the file, so it has no rejects to show.
    while let Some(line) = rows.next_record(&mut raw).ok()? {
        // A row that is not UTF-8 is left out (its reject still lists row and reason).
        let Ok(rec) = csv::StringRecord::from_byte_record(raw.clone()) else {
            continue;
        };
        if index.is_none() && rec.iter().all(|f| f.trim().is_empty()) {
            continue; // blank lines before the header
        }
        let Some(idx) = &index else {
            index = Some(
                COLUMNS
                    .iter()
                    .map(|c| {
                        rec.iter().position(|h| {
                            h.trim_start_matches('\u{feff}')
                                .trim()
                                .eq_ignore_ascii_case(c)
                        })
                    })
                    .collect(),
            );
            continue;
        };
        if wanted.contains(&line) {
            out.insert(
                line,
                idx.iter()
                    .map(|i| i.and_then(|i| rec.get(i)).unwrap_or("").to_owned())
                    .collect(),
            );
        }
    }
    drop(rows);
    let sha = hashing.finish().ok()?;
    match sha256 {
        Some(want) if !want.eq_ignore_ascii_case(&sha) => None,
        _ => Some(out),
    }
}
