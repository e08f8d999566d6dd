//! Live progress on stderr for the operator's terminal (a tmux pane): a bytes bar while
//! `submit` hashes a large file; the `ingest` pane (a bar per file in progress, the
//! totals since the start, the queue's depth, the last error); the `fulfil` pane
//! (orders per second, outcomes, the group's lag). Drawn only when stderr is a
//! terminal, in color only without `NO_COLOR`. Off a terminal the same facts go to
//! periodic log lines (never one per row). Log lines written while a pane is up are
//! printed above it ([`log_writer`]).
//!
//! The use cases know nothing of this: they call the observer traits of
//! [`crate::app`], which the views here implement.

use crate::app::fulfil::{FulfilObserver, FulfilTotals};
use crate::app::ingest::IngestObserver;
use crate::app::submit::SubmitObserver;
use crate::domain::{JobState, timestamp};
use crate::ports::{JobReport, QueueDepth};
use dialoguer::console::Term;
use indicatif::{
    HumanCount, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike,
};
use std::collections::{HashMap, VecDeque};
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Redraws per second at most.
const REDRAW_HZ: u8 = 10;
/// Spinners and elapsed times move this often, even when nothing happens.
const TICK: Duration = Duration::from_millis(250);
/// How often a pane measures the queue's depth or the group's lag.
const PANE_MEASURE_EVERY: Duration = Duration::from_secs(2);
/// How often, off a terminal, the queue's depth or the group's lag is measured, and at
/// most how often a progress line is logged.
const LOG_EVERY: Duration = Duration::from_secs(30);
/// At most how often, off a terminal, a file in progress is logged.
const FILE_LOG_EVERY: Duration = Duration::from_secs(10);
/// A file hashed for longer than this gets a bar.
const HASH_BAR_AFTER: Duration = Duration::from_millis(250);
/// Width of the rate window ("now").
const RATE_WINDOW: Duration = Duration::from_secs(5);
/// Columns left free at the right of every line (see [`Margin`]).
const MARGIN: u16 = 3;
/// ASCII only: a pane under a C locale shows it as well.
const SPINNER: &str = "-\\|/ ";
const BAR_CHARS: &str = "=> ";

/// True when stderr is a terminal that can draw (not `TERM=dumb`).
pub fn on_terminal() -> bool {
    std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// True when the progress may use colors: on a terminal and without `NO_COLOR`.
pub fn colors() -> bool {
    on_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------
// Log lines above a pane
// ---------------------------------------------------------------------------------

/// The pane on screen, if any: log lines are printed above it.
static PANE: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// A writer for the log (`tracing_subscriber::fmt().with_writer(log_writer)`): one log
/// line, written to stderr when dropped, above the pane when one is up (so lines and
/// bars never overwrite each other).
pub fn log_writer() -> LogWriter {
    LogWriter(Vec::new())
}

/// See [`log_writer`].
#[derive(Debug)]
pub struct LogWriter(Vec<u8>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let write = || {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&self.0);
            let _ = err.flush();
        };
        let pane = lock(&PANE).clone();
        match pane {
            Some(multi) => multi.suspend(write),
            None => write(),
        }
    }
}

/// Stderr as a terminal a few columns narrower than it is.
///
/// indicatif pads every line to the full width and relies on the terminal's automatic
/// wrap to reach the next line, which leaves the cursor in the last column after the
/// last line: the `^C` that the terminal echoes on Ctrl-C then wraps onto a new line,
/// the final clear is one line off, and a stale copy of the pane's first line stays
/// behind. Here indicatif sees a terminal [`MARGIN`] columns narrower, and the wrap it
/// counts on is done by hand (a line break before the next text), so the cursor rests
/// a few columns before the edge and an echoed `^C` stays on its line.
#[derive(Debug)]
struct Margin {
    term: Term,
    cursor: Mutex<Cursor>,
}

/// Where indicatif believes the cursor is.
#[derive(Debug, Default)]
struct Cursor {
    col: usize,
    /// At the (narrowed) right edge: the next text starts a new line.
    wrap: bool,
}

impl Margin {
    fn new(term: Term) -> Self {
        Self {
            term,
            cursor: Mutex::new(Cursor::default()),
        }
    }

    fn columns(&self) -> usize {
        usize::from(self.term.size().1.saturating_sub(MARGIN).max(20))
    }

    /// `s` with the line breaks the narrowed terminal needs; updates the cursor.
    fn text(&self, s: &str) -> String {
        let mut c = lock(&self.cursor);
        let width = self.columns();
        let mut out = String::with_capacity(s.len() + 2);
        for (i, part) in s.split('\r').enumerate() {
            if i > 0 {
                out.push('\r');
                *c = Cursor::default();
            }
            let w = dialoguer::console::measure_text_width(part);
            if w > 0 && c.wrap {
                out.push_str("\r\n");
                *c = Cursor::default();
            }
            out.push_str(part);
            c.col += w;
            if c.col >= width {
                c.col = width;
                c.wrap = true;
            }
        }
        out
    }

    fn moved(&self) {
        lock(&self.cursor).wrap = false;
    }
}

impl TermLike for Margin {
    fn width(&self) -> u16 {
        u16::try_from(self.columns()).unwrap_or(u16::MAX)
    }

    fn height(&self) -> u16 {
        self.term.size().0
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.moved();
        self.term.move_cursor_up(n)
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.moved();
        self.term.move_cursor_down(n)
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.moved();
        lock(&self.cursor).col += n;
        self.term.move_cursor_right(n)
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.moved();
        let mut c = lock(&self.cursor);
        c.col = c.col.saturating_sub(n);
        drop(c);
        self.term.move_cursor_left(n)
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        let text = self.text(s);
        *lock(&self.cursor) = Cursor::default();
        self.term.write_line(&text)
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        let text = self.text(s);
        self.term.write_str(&text)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        *lock(&self.cursor) = Cursor::default();
        self.term.clear_line()
    }

    fn flush(&self) -> std::io::Result<()> {
        self.term.flush()
    }
}

/// Where bars are drawn: stderr, with a margin.
fn stderr_target() -> ProgressDrawTarget {
    ProgressDrawTarget::term_like_with_hz(Box::new(Margin::new(Term::stderr())), REDRAW_HZ)
}

/// Lines drawn together at the bottom of the terminal.
struct Pane {
    multi: MultiProgress,
    color: bool,
}

impl Pane {
    fn new(color: bool) -> Self {
        // Styles are applied by `console`, which looks at stdout unless told.
        dialoguer::console::set_colors_enabled(color);
        let multi = MultiProgress::with_draw_target(stderr_target());
        *lock(&PANE) = Some(multi.clone());
        Self { multi, color }
    }

    /// A new line at the bottom, drawn with `colored` or, without colors, `plain`.
    fn line(&self, colored: &str, plain: &str) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::with_draw_target(
            None,
            ProgressDrawTarget::hidden(),
        ));
        bar.set_style(style(if self.color { colored } else { plain }));
        bar.enable_steady_tick(TICK);
        bar
    }

    /// Takes the pane off the screen; log lines go straight to stderr again.
    fn close(&self, lines: &[&ProgressBar]) {
        *lock(&PANE) = None;
        for l in lines {
            l.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("the templates are valid")
        .tick_chars(SPINNER)
        .progress_chars(BAR_CHARS)
}

fn count(n: u64) -> String {
    HumanCount(n).to_string()
}

/// `n` per second over `d`, rounded.
fn per_sec(n: u64, d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 0.05 {
        return "-".into();
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let r = (n as f64 / secs).round() as u64;
    count(r)
}

/// The time of day (UTC) now, `12:01:03Z`.
fn clock() -> String {
    let now = timestamp::now();
    now.get(11..19).map_or(now.clone(), |t| format!("{t}Z"))
}

/// A count per second over the last few seconds.
#[derive(Debug, Default)]
struct Rate {
    samples: VecDeque<(Instant, u64)>,
}

impl Rate {
    /// Records the running total `n` now; gives the rate over the window.
    fn push(&mut self, n: u64) -> String {
        let now = Instant::now();
        self.samples.push_back((now, n));
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|(t, _)| now.duration_since(*t) >= RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        match self.samples.front() {
            Some((t, first)) if now.duration_since(*t) > Duration::ZERO => {
                per_sec(n.saturating_sub(*first), now.duration_since(*t))
            }
            _ => "-".into(),
        }
    }
}

// ---------------------------------------------------------------------------------
// submit
// ---------------------------------------------------------------------------------

/// What `oms submit` shows: a bytes bar while a file that takes a while is hashed.
pub struct SubmitView {
    on: bool,
    color: bool,
    state: Mutex<HashState>,
}

#[derive(Default)]
struct HashState {
    started: Option<Instant>,
    bar: Option<ProgressBar>,
}

impl SubmitView {
    /// A bar when stderr is a terminal and `show`; nothing otherwise.
    pub fn new(show: bool) -> Self {
        Self {
            on: show && on_terminal(),
            color: colors(),
            state: Mutex::new(HashState::default()),
        }
    }

    /// Takes the bar off the screen (also when the submit failed).
    pub fn finish(&self) {
        if let Some(bar) = lock(&self.state).bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl SubmitObserver for SubmitView {
    fn hashing(&self, done: u64, total: u64) {
        if !self.on {
            return;
        }
        let mut s = lock(&self.state);
        let started = *s.started.get_or_insert_with(Instant::now);
        if s.bar.is_none() && done < total && started.elapsed() >= HASH_BAR_AFTER {
            dialoguer::console::set_colors_enabled(self.color);
            let bar = ProgressBar::with_draw_target(Some(total), stderr_target());
            bar.set_style(style(if self.color {
                "hashing {spinner:.green} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}"
            } else {
                "hashing {spinner} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}"
            }));
            bar.enable_steady_tick(TICK);
            s.bar = Some(bar);
        }
        if let Some(bar) = &s.bar {
            bar.set_position(done);
            if done >= total {
                bar.finish_and_clear();
                s.bar = None;
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// ingest
// ---------------------------------------------------------------------------------

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
                "storing: {} of {} orders ({}/s), {} rejected | {rows}",
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
    started: Instant,
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
                started: Instant::now(),
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
            "{} in progress, {} done, {} failed, {} left for redelivery",
            match s.files.len() {
                1 => "1 file".to_owned(),
                n => format!("{n} files"),
            },
            count(c.done),
            count(c.failed),
            count(c.left),
        ));
        l.totals.set_message(format!(
            "rows {} ({}/s) | stored {} | rejected {} | duplicate {}",
            count(rows),
            per_sec(rows, s.started.elapsed()),
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

    fn file_finished(&self, report: &JobReport) {
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

// ---------------------------------------------------------------------------------
// fulfil
// ---------------------------------------------------------------------------------

struct FulfilState {
    started: Instant,
    totals: FulfilTotals,
    rate: Rate,
    now: String,
    lag: Option<(u64, String)>,
    error: Option<String>,
    /// What was last logged (off a terminal) and when.
    logged: Option<(FulfilTotals, Option<u64>, Instant)>,
}

struct FulfilLines {
    pane: Pane,
    main: ProgressBar,
    lag: ProgressBar,
    error: ProgressBar,
}

/// What `oms fulfil` shows: on a terminal, a live pane; elsewhere, periodic log lines.
pub struct FulfilView {
    lines: Option<FulfilLines>,
    state: Mutex<FulfilState>,
}

impl FulfilView {
    /// The pane when stderr is a terminal and `show`; log lines otherwise.
    pub fn new(show: bool, group: &str) -> Self {
        let lines = (show && on_terminal()).then(|| {
            let pane = Pane::new(colors());
            let main = pane.line(
                "{spinner:.green} {prefix:.bold} up {elapsed:>4} | {wide_msg}",
                "{spinner} {prefix} up {elapsed:>4} | {wide_msg}",
            );
            main.set_prefix(format!("fulfil {group}"));
            let lag = pane.line("  {prefix:.bold} {wide_msg}", "  {prefix} {wide_msg}");
            lag.set_prefix("lag:");
            let error = pane.line("  {prefix:.bold} {wide_msg:.red}", "  {prefix} {wide_msg}");
            error.set_prefix("last error:");
            FulfilLines {
                pane,
                main,
                lag,
                error,
            }
        });
        let view = Self {
            lines,
            state: Mutex::new(FulfilState {
                started: Instant::now(),
                totals: FulfilTotals::default(),
                rate: Rate::default(),
                now: "-".into(),
                lag: None,
                error: None,
                logged: None,
            }),
        };
        view.draw(&lock(&view.state));
        view
    }

    /// Takes the pane off the screen (log lines go straight to stderr again).
    pub fn finish(&self) {
        if let Some(l) = &self.lines {
            l.pane.close(&[&l.main, &l.lag, &l.error]);
        }
    }

    fn draw(&self, s: &FulfilState) {
        let Some(l) = &self.lines else { return };
        let t = &s.totals;
        l.main.set_message(format!(
            "{} orders/s now, {}/s on average | events {} | new_order {} | on_hold {} | skipped {}",
            s.now,
            per_sec(t.events, s.started.elapsed()),
            count(t.events),
            count(t.new_order),
            count(t.on_hold),
            count(t.skipped),
        ));
        l.lag.set_message(match &s.lag {
            Some((n, at)) => format!("{} events not yet fulfilled (at {at})", count(*n)),
            None => "not measured yet".into(),
        });
        l.error
            .set_message(s.error.clone().unwrap_or_else(|| "none".into()));
    }

    /// Off a terminal: the totals and the lag, when they changed, at most every
    /// [`LOG_EVERY`].
    fn log_totals(s: &mut FulfilState) {
        let lag = s.lag.as_ref().map(|(n, _)| *n);
        let due = match &s.logged {
            None => s.totals != FulfilTotals::default(),
            Some((t, l, at)) => (*t != s.totals || *l != lag) && at.elapsed() >= LOG_EVERY,
        };
        if !due {
            return;
        }
        s.logged = Some((s.totals, lag, Instant::now()));
        let t = s.totals;
        tracing::info!(
            events = t.events,
            new_order = t.new_order,
            on_hold = t.on_hold,
            skipped = t.skipped,
            per_sec = %s.now,
            lag,
            "fulfil progress"
        );
    }

    fn update(&self, f: impl FnOnce(&mut FulfilState)) {
        let mut s = lock(&self.state);
        f(&mut s);
        self.draw(&s);
        if self.lines.is_none() {
            Self::log_totals(&mut s);
        }
    }
}

impl FulfilObserver for FulfilView {
    fn batch_done(&self, _batch: &FulfilTotals, totals: &FulfilTotals) {
        self.update(|s| {
            s.totals = *totals;
            s.now = s.rate.push(totals.events);
        });
    }

    fn idle(&self) {
        self.update(|s| s.now = s.rate.push(s.totals.events));
    }

    fn lag(&self, lag: u64) {
        self.update(|s| s.lag = Some((lag, clock())));
    }

    fn error(&self, what: &str) {
        self.update(|s| s.error = Some(format!("{} {what}", clock())));
    }

    fn lag_every(&self) -> Option<Duration> {
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
    fn rates_and_counts_read_well() {
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(per_sec(100, Duration::from_secs(4)), "25");
        assert_eq!(per_sec(100, Duration::ZERO), "-");
        let mut r = Rate::default();
        assert_eq!(r.push(0), "-");
        let c = clock();
        assert_eq!(c.len(), 9, "{c}");
        assert!(c.ends_with('Z'), "{c}");
    }

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
        let f = FulfilView::new(true, "g");
        assert!(f.lines.is_none());
        f.finish();
    }
}
