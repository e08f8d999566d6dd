//! The `ingest` pane: a bar per file in progress, the totals since the start, the
//! queue's depth, the last error.

use super::*;
use crate::app::ingest::IngestObserver;
use crate::domain::JobState;
use crate::ports::{JobRecord, QueueDepth};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Reading,
    Validating,
    Storing,
}

impl Stage {
    fn text(self) -> &'static str {
        match self {
            Stage::Reading => "reading",
            Stage::Validating => "asking the warehouse",
            Stage::Storing => "storing",
        }
    }
}

/// One file in progress.
struct FileState {
    path: String,
    bytes: Option<u64>,
    read: u64,
    rows: u64,
    pairs: u64,
    orders: Option<u64>,
    rejected: Option<u64>,
    stored: u64,
    stage: Stage,
    started: Instant,
    /// How long the reading took, once it is done.
    read_for: Option<Duration>,
    /// When the storing began.
    storing: Option<Instant>,
    logged: Option<Instant>,
    bar: Option<ProgressBar>,
}

impl FileState {
    /// The line under the file's bar: what is being done, then the counts.
    fn message(&self) -> String {
        let rows = format!(
            "{} rows ({}/s)",
            count(self.rows),
            per_sec(
                self.rows,
                self.read_for.unwrap_or_else(|| self.started.elapsed())
            )
        );
        match (self.stage, self.orders, self.storing) {
            (Stage::Storing, Some(orders), Some(since)) => format!(
                // The rows are all read by now (the totals count them): the line
                // keeps to the orders, so it fits an 80-column pane.
                "storing: {} of {} orders ({}/s), {} rejected",
                count(self.stored),
                count(orders),
                per_sec(self.stored, since.elapsed()),
                count(self.rejected.unwrap_or(0)),
            ),
            (Stage::Validating, _, _) => format!(
                "asking the warehouse about {} hub/sku pairs | {rows}",
                count(self.pairs)
            ),
            _ => format!("{}: {rows}", self.stage.text()),
        }
    }

    fn draw(&self) {
        let Some(bar) = &self.bar else { return };
        match self.stage {
            Stage::Reading => {
                if let Some(len) = self.bytes {
                    bar.set_length(len.max(1));
                }
                bar.set_position(self.read);
            }
            Stage::Validating => {
                let len = self.bytes.unwrap_or(self.read).max(1);
                bar.set_length(len);
                bar.set_position(len);
            }
            Stage::Storing => {
                let len = self.orders.unwrap_or(0).max(1);
                bar.set_length(len);
                bar.set_position(self.stored.min(len));
            }
        }
        bar.set_message(self.message());
    }
}

/// Counts since the start of the run, as the pane shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct IngestCounts {
    done: u64,
    failed: u64,
    left: u64,
    rows: u64,
    accepted: u64,
    rejected: u64,
    duplicate: u64,
}

struct IngestState {
    counts: IngestCounts,
    files: HashMap<String, FileState>,
    depth: Option<(QueueDepth, String)>,
    error: Option<String>,
    /// What was last logged (off a terminal) and when.
    logged: Option<(IngestCounts, Option<QueueDepth>, Instant)>,
}

struct IngestLines {
    pane: Pane,
    files: ProgressBar,
    totals: ProgressBar,
    queue: ProgressBar,
    error: ProgressBar,
}

/// What `oms ingest` shows: on a terminal, a live pane; elsewhere, periodic log lines.
pub struct IngestView {
    lines: Option<IngestLines>,
    state: Mutex<IngestState>,
}

impl IngestView {
    /// The pane when stderr is a terminal and `show`; log lines otherwise.
    pub fn new(show: bool) -> Self {
        let lines = (show && on_terminal()).then(|| {
            let pane = Pane::new(colors());
            let files = pane.line(
                "{spinner:.green} {prefix:.bold} up {elapsed:>4} | {wide_msg}",
                "{spinner} {prefix} up {elapsed:>4} | {wide_msg}",
            );
            files.set_prefix("ingest");
            let totals = pane.line("  {prefix:.bold} {wide_msg}", "  {prefix} {wide_msg}");
            totals.set_prefix("totals:");
            let queue = pane.line("  {prefix:.bold} {wide_msg}", "  {prefix} {wide_msg}");
            queue.set_prefix("queue:");
            let error = pane.line("  {prefix:.bold} {wide_msg:.red}", "  {prefix} {wide_msg}");
            error.set_prefix("last error:");
            IngestLines {
                pane,
                files,
                totals,
                queue,
                error,
            }
        });
        let view = Self {
            lines,
            state: Mutex::new(IngestState {
                counts: IngestCounts::default(),
                files: HashMap::new(),
                depth: None,
                error: None,
                logged: None,
            }),
        };
        view.draw(&lock(&view.state));
        view
    }

    /// Takes the pane off the screen (log lines go straight to stderr again).
    pub fn finish(&self) {
        let mut s = lock(&self.state);
        for f in s.files.values_mut() {
            if let Some(bar) = f.bar.take() {
                bar.finish_and_clear();
            }
        }
        if let Some(l) = &self.lines {
            l.pane.close(&[&l.files, &l.totals, &l.queue, &l.error]);
        }
    }

    fn draw(&self, s: &IngestState) {
        let Some(l) = &self.lines else { return };
        let c = &s.counts;
        // Rows of the files in progress count too.
        let rows = c.rows + s.files.values().map(|f| f.rows).sum::<u64>();
        l.files.set_message(format!(
            "{} in progress, {} done, {} failed, {} left for retry",
            match s.files.len() {
                1 => "1 file".to_owned(),
                n => format!("{n} files"),
            },
            count(c.done),
            count(c.failed),
            count(c.left),
        ));
        // Each file's line has its own rate: the totals keep to the counts, so the
        // line fits an 80-column pane.
        l.totals.set_message(format!(
            "rows {} | stored {} | rejected {} | duplicate {}",
            count(rows),
            count(c.accepted),
            count(c.rejected),
            count(c.duplicate),
        ));
        l.queue.set_message(match &s.depth {
            Some((d, at)) => format!(
                "{} waiting, {} in flight, {} dead-lettered (at {at})",
                count(d.visible),
                count(d.in_flight),
                count(d.dead)
            ),
            None => "depth not known yet".into(),
        });
        l.error
            .set_message(s.error.clone().unwrap_or_else(|| "none".into()));
    }

    /// Off a terminal: the totals and the queue's depth, when they changed, at most
    /// every [`LOG_EVERY`].
    fn log_totals(s: &mut IngestState) {
        let depth = s.depth.as_ref().map(|(d, _)| *d);
        let due = match &s.logged {
            None => true,
            Some((c, d, at)) => (*c != s.counts || *d != depth) && at.elapsed() >= LOG_EVERY,
        };
        if !due {
            return;
        }
        s.logged = Some((s.counts, depth, Instant::now()));
        let c = s.counts;
        tracing::info!(
            jobs_done = c.done,
            jobs_failed = c.failed,
            left = c.left,
            rows = c.rows,
            accepted = c.accepted,
            rejected = c.rejected,
            duplicate = c.duplicate,
            queue_visible = depth.map(|d| d.visible),
            queue_in_flight = depth.map(|d| d.in_flight),
            queue_dead = depth.map(|d| d.dead),
            "ingest progress"
        );
    }

    fn with_file(&self, job_id: &str, f: impl FnOnce(&mut FileState)) {
        let mut s = lock(&self.state);
        if let Some(file) = s.files.get_mut(job_id) {
            f(file);
            file.draw();
            if self.lines.is_none() {
                log_file(job_id, file);
            }
        }
        self.draw(&s);
    }
}

/// Off a terminal: where a file is, at most every [`FILE_LOG_EVERY`].
fn log_file(job_id: &str, f: &mut FileState) {
    if f.logged.unwrap_or(f.started).elapsed() < FILE_LOG_EVERY {
        return;
    }
    f.logged = Some(Instant::now());
    tracing::info!(
        job = %job_id,
        file = %f.path,
        stage = f.stage.text(),
        rows = f.rows,
        bytes_read = f.read,
        bytes = f.bytes,
        stored = f.stored,
        orders = f.orders,
        rejected = f.rejected,
        "file in progress"
    );
}

impl IngestObserver for IngestView {
    fn file_started(&self, job_id: &str, path: &str, bytes: Option<u64>) {
        let name = std::path::Path::new(path)
            .file_name()
            .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned());
        let short: String = job_id.chars().take(8).collect();
        let bar = self.lines.as_ref().map(|l| {
            let bar = l.pane.line(
                "  {spinner:.green} {prefix:.bold} [{bar:30.cyan/blue}] {percent:>3}%\n    {wide_msg}",
                "  {spinner} {prefix} [{bar:30}] {percent:>3}%\n    {wide_msg}",
            );
            // The rest of the bar's line takes 57 columns: a long name is cut in the
            // middle rather than pushing the percentage off the line.
            let name = crate::ui::text::elide(&name, l.pane.columns().saturating_sub(57).max(12));
            bar.set_prefix(format!("{name} (job {short})"));
            bar
        });
        if self.lines.is_none() {
            tracing::info!(job = %job_id, file = %path, bytes, "file started");
        }
        let file = FileState {
            path: path.to_owned(),
            bytes,
            read: 0,
            rows: 0,
            pairs: 0,
            orders: None,
            rejected: None,
            stored: 0,
            stage: Stage::Reading,
            started: Instant::now(),
            read_for: None,
            storing: None,
            logged: None,
            bar,
        };
        file.draw();
        let mut s = lock(&self.state);
        if let Some(old) = s.files.insert(job_id.to_owned(), file)
            && let Some(bar) = old.bar
        {
            bar.finish_and_clear();
        }
        self.draw(&s);
    }

    fn rows_read(&self, job_id: &str, rows: u64, bytes: u64) {
        self.with_file(job_id, |f| {
            f.rows = rows;
            f.read = bytes;
        });
    }

    fn file_parsed(&self, job_id: &str, rows: u64, pairs: u64) {
        self.with_file(job_id, |f| {
            f.rows = rows;
            f.pairs = pairs;
            f.stage = Stage::Validating;
            f.read_for = Some(f.started.elapsed());
        });
    }

    fn file_checked(&self, job_id: &str, orders: u64, rejected: u64) {
        self.with_file(job_id, |f| {
            f.orders = Some(orders);
            f.rejected = Some(rejected);
            f.stage = Stage::Storing;
            f.storing = Some(Instant::now());
        });
    }

    fn orders_stored(&self, job_id: &str, stored: u64) {
        self.with_file(job_id, |f| f.stored = stored);
    }

    fn file_finished(&self, report: &JobRecord) {
        let mut s = lock(&self.state);
        if let Some(f) = s.files.remove(&report.job_id)
            && let Some(bar) = f.bar
        {
            bar.finish_and_clear();
        }
        let c = &mut s.counts;
        if report.state == JobState::Done {
            c.done += 1;
        } else {
            c.failed += 1;
        }
        c.rows += report.counts.rows;
        c.accepted += report.counts.orders_accepted;
        c.rejected += report.counts.orders_rejected;
        c.duplicate += report.counts.orders_duplicate;
        if report.state != JobState::Done {
            s.error = Some(format!(
                "{} job {} failed: {}",
                clock(),
                report.job_id,
                report.error.as_deref().unwrap_or("")
            ));
        }
        self.draw(&s);
        if self.lines.is_none() {
            Self::log_totals(&mut s);
        }
    }

    fn left_for_redelivery(&self, job_id: Option<&str>, why: &str) {
        let mut s = lock(&self.state);
        if let Some(f) = job_id.and_then(|j| s.files.remove(j))
            && let Some(bar) = f.bar
        {
            bar.finish_and_clear();
        }
        s.counts.left += 1;
        s.error = Some(match job_id {
            Some(j) => format!("{} left for redelivery (job {j}): {why}", clock()),
            None => format!("{} left for redelivery: {why}", clock()),
        });
        self.draw(&s);
    }

    fn idle(&self, depth: Option<QueueDepth>) {
        if let Some(d) = depth {
            self.queue_depth(d);
        }
    }

    fn queue_depth(&self, depth: QueueDepth) {
        let mut s = lock(&self.state);
        s.depth = Some((depth, clock()));
        self.draw(&s);
        if self.lines.is_none() {
            Self::log_totals(&mut s);
        }
    }

    fn error(&self, what: &str) {
        let mut s = lock(&self.state);
        s.error = Some(format!("{} {what}", clock()));
        self.draw(&s);
    }

    fn depth_every(&self) -> Option<Duration> {
        Some(if self.lines.is_some() {
            PANE_MEASURE_EVERY
        } else {
            LOG_EVERY
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_a_terminal_nothing_is_drawn() {
        // `cargo test` captures stderr: not a terminal.
        if on_terminal() {
            return;
        }
        let v = IngestView::new(true);
        assert!(v.lines.is_none());
        v.file_started("job-1", "storage/a.csv", Some(10));
        v.rows_read("job-1", 4096, 5);
        v.file_checked("job-1", 3, 1);
        assert_eq!(lock(&v.state).files["job-1"].orders, Some(3));
        v.finish();
    }
}
