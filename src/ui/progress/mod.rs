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

mod fulfil;
mod ingest;
mod submit;

pub use fulfil::FulfilView;
pub use ingest::IngestView;
pub use submit::SubmitView;

use crate::domain::timestamp;
use dialoguer::console::Term;
use indicatif::{
    HumanCount, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike,
};
use std::collections::VecDeque;
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
        columns_of(&self.term)
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
/// Columns a line of the pane may take on `term`: its width less [`MARGIN`], 20 at least.
fn columns_of(term: &Term) -> usize {
    usize::from(term.size().1.saturating_sub(MARGIN).max(20))
}

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

    /// Columns a line of the pane may take.
    fn columns(&self) -> usize {
        columns_of(&Term::stderr())
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
}
