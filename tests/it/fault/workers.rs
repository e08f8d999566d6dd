//! The workers of the chaos phase (`oms ingest` and `oms fulfil` processes) under a
//! supervisor that SIGKILLs one now and then and restarts any that exits, counting what
//! happened to them; and what the suite needs of a process beyond the shared runner.

use super::short;
use crate::support::{Lcg, Oms, Proc, Run, run_within};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitStatus;
use std::thread;
use std::time::{Duration, Instant};

impl Proc {
    /// SIGKILL, then reap; gives back every stderr line (the ones read before the kill
    /// and whatever was still in the pipe).
    pub fn kill9_lines(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.rest_of_lines()
    }

    /// Every stderr line once the process has exited (the pipe is closed, so this ends).
    pub fn rest_of_lines(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        std::mem::take(&mut self.seen)
    }

    /// Waits at most `timeout` for the process to exit; `None` (and the process still
    /// running) when it did not.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Oms {
    /// `oms ARGS` to its end or `timeout`, whatever its exit code (an `Err` on timeout).
    pub fn try_run(&self, args: &[&str], timeout: Duration) -> Result<Run, String> {
        run_within(self.cmd(args), timeout)
    }
}

/// What happened to the workers of one kind (`ingest` or `fulfil`).
#[derive(Default)]
pub struct KindFigures {
    pub started: u32,
    pub killed: u32,
    /// Exits of their own during the chaos phase, by exit code.
    pub exited: BTreeMap<i32, u32>,
    /// A few of the last lines of those exits.
    pub why: BTreeSet<String>,
    /// Exit codes after the final SIGTERM.
    pub terminated: BTreeMap<i32, u32>,
    /// Warnings and errors logged, by their first words.
    pub warnings: BTreeMap<String, u32>,
}

/// A place for one worker: its process while it runs, when to start it again otherwise.
pub struct Slot {
    pub kind: &'static str,
    pub proc: Option<Proc>,
    pub restart_at: Option<Instant>,
}

/// Keeps the workers running, kills one now and then, and counts it all.
pub struct Supervisor {
    pub slots: Vec<Slot>,
    pub figures: BTreeMap<&'static str, KindFigures>,
    pub violations: Vec<String>,
}

impl Supervisor {
    /// `ingests` ingest and `fulfils` fulfil workers, all due to start now.
    pub fn new(ingests: usize, fulfils: usize) -> Self {
        let mut slots = Vec::new();
        for _ in 0..ingests {
            slots.push(Slot {
                kind: "ingest",
                proc: None,
                restart_at: Some(Instant::now()),
            });
        }
        for _ in 0..fulfils {
            slots.push(Slot {
                kind: "fulfil",
                proc: None,
                restart_at: Some(Instant::now()),
            });
        }
        Self {
            slots,
            figures: BTreeMap::new(),
            violations: Vec::new(),
        }
    }

    /// Looks through a finished worker's stderr: panics are violations; warnings and
    /// errors are counted by what they say (up to the first `:` or `;`), to show that
    /// the outages were felt.
    pub fn look_for_panics(&mut self, what: &'static str, lines: &[String]) {
        if let Some(l) = lines.iter().find(|l| l.contains("panicked")) {
            self.violations
                .push(format!("`oms {what}` panicked: {}", short(l)));
        }
        let f = self.figures.entry(what).or_default();
        for l in lines {
            let Ok(v) = serde_json::from_str::<Value>(l) else {
                continue;
            };
            if v["level"] != "WARN" && v["level"] != "ERROR" {
                continue;
            }
            let msg = v["fields"]["message"].as_str().unwrap_or("?");
            let head = msg.split([':', ';']).next().unwrap_or(msg).trim();
            let head: String = head.chars().take(60).collect();
            *f.warnings.entry(head).or_insert(0) += 1;
        }
    }

    /// Reaps workers that exited by themselves and (re)starts the ones due.
    pub fn tend(&mut self, oms: &Oms) {
        let now = Instant::now();
        for i in 0..self.slots.len() {
            let kind = self.slots[i].kind;
            let exited = self.slots[i]
                .proc
                .as_mut()
                .and_then(Proc::exited)
                .map(|s| s.code().unwrap_or(-1));
            if let Some(code) = exited {
                let mut p = self.slots[i].proc.take().expect("a process");
                let lines = p.rest_of_lines();
                self.look_for_panics(kind, &lines);
                let f = self.figures.entry(kind).or_default();
                *f.exited.entry(code).or_insert(0) += 1;
                if let Some(last) = lines.iter().rev().find(|l| !l.trim().is_empty())
                    && f.why.len() < 6
                {
                    f.why.insert(format!("exit {code}: {}", short(last)));
                }
                // Restart=always, RestartSec=1.
                self.slots[i].restart_at = Some(now + Duration::from_secs(1));
            }
            let slot = &mut self.slots[i];
            if slot.proc.is_none() && slot.restart_at.is_some_and(|t| t <= now) {
                slot.proc = Some(oms.spawn(&["--log-format", "json", kind]));
                slot.restart_at = None;
                self.figures.entry(kind).or_default().started += 1;
            }
        }
    }

    /// SIGKILLs one running worker (chosen by `rng`); it is started again soon. With
    /// `spare`, the first worker of each kind is left alone (so that one of each lives
    /// through a long outage instead of being killed while it waits).
    pub fn kill_one(&mut self, rng: &mut Lcg, spare: bool) {
        let first = |i: usize| (0..i).all(|j| self.slots[j].kind != self.slots[i].kind);
        let running: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].proc.is_some() && !(spare && first(i)))
            .collect();
        if running.is_empty() {
            return;
        }
        let i = running[rng.below(running.len() as u64) as usize];
        let kind = self.slots[i].kind;
        let lines = self.slots[i].proc.take().expect("running").kill9_lines();
        self.look_for_panics(kind, &lines);
        self.figures.entry(kind).or_default().killed += 1;
        self.slots[i].restart_at =
            Some(Instant::now() + rng.between(Duration::ZERO, Duration::from_millis(800)));
    }

    /// SIGTERM to every worker at once; each must stop within 30 s.
    pub fn stop_all(&mut self) {
        for s in &self.slots {
            if let Some(p) = &s.proc {
                p.sigterm();
            }
        }
        for i in 0..self.slots.len() {
            let kind = self.slots[i].kind;
            let Some(mut p) = self.slots[i].proc.take() else {
                continue;
            };
            match p.wait_exit(Duration::from_secs(30)) {
                Some(status) => {
                    let lines = p.rest_of_lines();
                    self.look_for_panics(kind, &lines);
                    let f = self.figures.entry(kind).or_default();
                    *f.terminated.entry(status.code().unwrap_or(-1)).or_insert(0) += 1;
                }
                None => {
                    let lines = p.kill9_lines();
                    let tail = &lines[lines.len().saturating_sub(5)..];
                    self.violations.push(format!(
                        "`oms {kind}` did not stop within 30 s of SIGTERM; last lines: {tail:?}"
                    ));
                }
            }
        }
    }
}
