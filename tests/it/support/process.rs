//! Running the built `oms` binary: a command to its end with its output ([`Run`]), or a
//! long-running process whose stderr is read as it comes ([`Proc`]); both cut off
//! rather than left hanging.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The `oms` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_oms");
/// No single command may take longer than this.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// What a finished command gave back.
#[derive(Debug)]
pub struct Run {
    pub what: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The run, which must have exited 0.
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "`{}` exited {}\nstdout: {}\nstderr: {}",
            self.what, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Stdout as JSON (after `--output json`).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}` did not print JSON ({e}):\n{}\nstderr: {}",
                self.what, self.stdout, self.stderr
            )
        })
    }

    /// The fields of the JSON log event with this message (needs `--log-format json`).
    pub fn event(&self, message: &str) -> Value {
        let lines: Vec<&str> = self.stderr.lines().collect();
        event(&lines, message).unwrap_or_else(|| {
            panic!(
                "`{}` logged no {message:?} event; stderr:\n{}",
                self.what, self.stderr
            )
        })
    }
}

/// The fields of the first JSON log line (`--log-format json`) with this message.
pub fn event<S: AsRef<str>>(lines: &[S], message: &str) -> Option<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l.as_ref()).ok())
        .find(|v| v["fields"]["message"] == message)
        .map(|v| v["fields"].clone())
}

/// `oms ARGS` as it would be typed, for messages.
pub fn described(c: &Command) -> String {
    let args: Vec<String> = c
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    format!("oms {}", args.join(" "))
}

/// Runs a command to its end (with a timeout), reading its output as it comes.
pub fn run_cmd(c: Command) -> Run {
    run_within(c, COMMAND_TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a command to its end, reading its output as it comes; an `Err` (after killing
/// it) when it is still running after `timeout`. Never panics over the command's own
/// behaviour, so a caller can count a failure instead of stopping.
pub fn run_within(mut c: Command, timeout: Duration) -> Result<Run, String> {
    let what = described(&c);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
    let read_all = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read_all(Box::new(child.stdout.take().expect("piped stdout")));
    let err = read_all(Box::new(child.stderr.take().expect("piped stderr")));
    let Some(status) = wait_timeout(&mut child, timeout) else {
        return Err(format!("`{what}` did not finish within {timeout:?}"));
    };
    Ok(Run {
        what,
        code: status.code().unwrap_or(-1),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    })
}

/// Waits for the child to exit; kills it and returns `None` after `timeout`.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// A long-running `oms` process whose stderr lines are read as they come. Killed when
/// dropped, so a failing test leaves nothing running.
pub struct Proc {
    pub what: String,
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Proc {
    /// Starts `c`, stdin and stdout null, stderr read line by line.
    pub fn spawn(mut c: Command) -> Self {
        let what = described(&c);
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            what,
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads stderr until a line contains `needle`.
    pub fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(e) => panic!(
                    "`{}` never logged {needle:?} ({e:?}); stderr so far:\n{}",
                    self.what,
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Takes the stderr lines written so far (without waiting) into `seen`.
    pub fn collect(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, then wait for a clean exit; gives back every stderr line.
    pub fn terminate(self) -> (ExitStatus, Vec<String>) {
        self.sigterm();
        self.stopped()
    }

    /// Sends SIGTERM and returns at once (to stop several processes at the same time).
    pub fn sigterm(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill -TERM");
        assert!(sent.success(), "kill -TERM {pid} failed");
    }

    /// Waits (at most 20 s) for the process to exit; gives back every stderr line.
    pub fn stopped(mut self) -> (ExitStatus, Vec<String>) {
        let status = wait_timeout(&mut self.child, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("`{}` did not stop after SIGTERM", self.what));
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
