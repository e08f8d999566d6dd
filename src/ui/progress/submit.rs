//! The `submit` pane: a bytes bar while a large file is hashed, then another while it is
//! uploaded (`OMS_S3_UPLOAD`).

use super::*;
use crate::app::submit::SubmitObserver;

/// What `oms submit` shows: a bytes bar for each step that takes a while (hashing the
/// file, uploading it).
pub struct SubmitView {
    on: bool,
    color: bool,
    state: Mutex<StepState>,
}

/// The step on screen.
#[derive(Default)]
struct StepState {
    step: Option<&'static str>,
    started: Option<Instant>,
    bar: Option<ProgressBar>,
}

impl SubmitView {
    /// A bar when stderr is a terminal and `show`; nothing otherwise.
    pub fn new(show: bool) -> Self {
        Self {
            on: show && on_terminal(),
            color: colors(),
            state: Mutex::new(StepState::default()),
        }
    }

    /// Takes the bar off the screen (also when the submit failed).
    pub fn finish(&self) {
        if let Some(bar) = lock(&self.state).bar.take() {
            bar.finish_and_clear();
        }
    }

    /// `done` of `total` bytes of `step` (`hashing`, `uploading`): a bar once the step
    /// has taken a moment, cleared at its end.
    fn step(&self, step: &'static str, done: u64, total: u64) {
        if !self.on {
            return;
        }
        let mut s = lock(&self.state);
        if s.step != Some(step) {
            if let Some(bar) = s.bar.take() {
                bar.finish_and_clear();
            }
            *s = StepState {
                step: Some(step),
                started: Some(Instant::now()),
                bar: None,
            };
        }
        let started = *s.started.get_or_insert_with(Instant::now);
        if s.bar.is_none() && done < total && started.elapsed() >= HASH_BAR_AFTER {
            dialoguer::console::set_colors_enabled(self.color);
            let bar = ProgressBar::with_draw_target(Some(total), stderr_target());
            bar.set_style(style(&if self.color {
                format!("{step} {{spinner:.green}} [{{bar:30.cyan/blue}}] {{bytes}}/{{total_bytes}} {{binary_bytes_per_sec}} eta {{eta}}")
            } else {
                format!("{step} {{spinner}} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{binary_bytes_per_sec}} eta {{eta}}")
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

impl SubmitObserver for SubmitView {
    fn hashing(&self, done: u64, total: u64) {
        self.step("hashing", done, total);
    }

    fn uploading(&self, done: u64, total: u64) {
        self.step("uploading", done, total);
    }
}
