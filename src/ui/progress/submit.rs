//! The `submit` pane: a bytes bar while a large file is hashed.

use super::*;
use crate::app::submit::SubmitObserver;

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
