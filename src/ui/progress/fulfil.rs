//! The `fulfil` pane: orders per second, outcomes, the group's lag.

use super::*;
use crate::app::fulfil::{FulfilObserver, FulfilTotals};

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
    counts: ProgressBar,
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
            // The counts have a line of their own: beside the rates they would not fit
            // a pane of 80-120 columns.
            let counts = pane.line("  {prefix:.bold} {wide_msg}", "  {prefix} {wide_msg}");
            counts.set_prefix("orders:");
            let lag = pane.line("  {prefix:.bold} {wide_msg}", "  {prefix} {wide_msg}");
            lag.set_prefix("lag:");
            let error = pane.line("  {prefix:.bold} {wide_msg:.red}", "  {prefix} {wide_msg}");
            error.set_prefix("last error:");
            FulfilLines {
                pane,
                main,
                counts,
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
            l.pane.close(&[&l.main, &l.counts, &l.lag, &l.error]);
        }
    }

    fn draw(&self, s: &FulfilState) {
        let Some(l) = &self.lines else { return };
        let t = &s.totals;
        l.main.set_message(format!(
            "{} orders/s now, {}/s on average",
            s.now,
            per_sec(t.events, s.started.elapsed()),
        ));
        l.counts.set_message(format!(
            "events {} | new_order {} | on_hold {} | skipped {}",
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
    fn off_a_terminal_nothing_is_drawn() {
        // `cargo test` captures stderr: not a terminal.
        if on_terminal() {
            return;
        }
        let f = FulfilView::new(true, "g");
        assert!(f.lines.is_none());
        f.finish();
    }
}
