//! The built `oms` in a real terminal: each test runs it in a pseudo-terminal of a tmux
//! server of its own (`tmux -L <unique socket>`, 200×50), types into it with
//! `send-keys` and reads the screen with `capture-pane`, polling with a deadline. The
//! server is killed when the test ends, failed or not.
//!
//! Without tmux these tests are skipped with a message, unless `OMS_REQUIRE_SERVICES=1`
//! (as CI sets it): then they fail.

use crate::support::{BIN, ORDERS_HEADER, Oms, Workload, block_on, s, services_required};
use oms::adapters::embedded::QueueSettings;
use oms::ports::JobQueue;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a screen may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(30);
/// How often the screen is read while waiting.
const POLL: Duration = Duration::from_millis(50);
/// Printed by the pane's shell when `oms` exits.
const EXIT_MARK: &str = "__oms_exit=";

static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// True when tmux can be run; otherwise says why the test is skipped (or fails, when
/// `OMS_REQUIRE_SERVICES=1`).
fn have_tmux(test: &str) -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !services_required(),
            "{test}: tmux is not installed, and OMS_REQUIRE_SERVICES=1 requires it \
             (Debian: apt-get install tmux)"
        );
        // Straight to stderr, past the test harness's capture, so the skip is seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: tmux is not installed (Debian: apt-get install tmux)"
        );
    }
    ok
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One `oms` command in a terminal of a tmux server of its own.
struct Tty {
    socket: String,
    /// Where tmux put the socket (removed at the end; tmux leaves it behind).
    socket_path: Option<PathBuf>,
    what: String,
}

impl Tty {
    /// Starts `oms ARGS` on `oms`'s data dir and storage root with the harness's
    /// environment (nothing of the caller's), changed by `env`: `(name, Some(value))`
    /// sets, `(name, None)` removes.
    fn start(oms: &Oms, args: &[&str], env: &[(&str, Option<&str>)]) -> Self {
        let n = SERVERS.fetch_add(1, Ordering::Relaxed);
        let socket = format!("oms-tty-{}-{n}", std::process::id());
        let what = format!("oms {}", args.join(" "));

        let mut vars: Vec<(String, String)> = Vec::new();
        for k in ["PATH", "HOME"] {
            if let Ok(v) = std::env::var(k) {
                vars.push((k.to_owned(), v));
            }
        }
        for (k, v) in oms.cmd(args).get_envs() {
            if let Some(v) = v {
                vars.push((
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                ));
            }
        }
        for (k, v) in env {
            vars.retain(|(name, _)| name != k);
            if let Some(v) = v {
                vars.push(((*k).to_owned(), (*v).to_owned()));
            }
        }
        let assignments: Vec<String> = vars
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        let argv: Vec<String> = std::iter::once(BIN)
            .chain(args.iter().copied())
            .map(quote)
            .collect();
        // `env -i`: only what the test chose (and the pane's own TERM) reaches oms. The
        // shell then says how oms exited and keeps the pane open for capture-pane. It
        // survives the Ctrl-C meant for oms as an interactive shell would (a trap with
        // a command, unlike an ignored signal, is not inherited by oms).
        let script = format!(
            "trap 'true' INT\ncd {home} || exit 1\nenv -i TERM=\"$TERM\" {vars} {argv}\necho \"{EXIT_MARK}$?__\"\nexec sleep 600\n",
            home = quote(&oms.home.to_string_lossy()),
            vars = assignments.join(" "),
            argv = argv.join(" "),
        );
        let path: PathBuf = oms.home.join(format!("tty-{n}.sh"));
        std::fs::write(&path, script).expect("write the pane's script");

        let mut tty = Self {
            socket,
            socket_path: None,
            what,
        };
        let out = tty.tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "200",
            "-y",
            "50",
            "-s",
            "oms",
            &format!("sh {}", quote(&path.to_string_lossy())),
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = tty.tmux(&["display-message", "-p", "-t", "oms", "#{socket_path}"]);
        let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        tty.socket_path = (!path.is_empty()).then(|| PathBuf::from(path));
        tty
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .env_remove("TMUX")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// The whole pane, history included, wrapped lines joined; with `escapes`, with
    /// the escape sequences of colors and attributes.
    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-J", "-S", "-", "-t", "oms"];
        if escapes {
            args.push("-e");
        }
        let out = self.tmux(&args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `tmux send-keys`: key names (`Enter`, `C-c`) or literal text.
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "oms"];
        args.extend_from_slice(keys);
        let out = self.tmux(&args);
        assert!(out.status.success(), "send-keys {keys:?} failed");
    }

    /// Reads the screen until `ok` accepts it; gives that screen.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_for(what, WAIT, ok)
    }

    fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen(false);
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "`{}`: the terminal never showed {what} within {timeout:?}; it shows:\n{screen}",
                self.what
            );
            thread::sleep(POLL);
        }
    }

    /// Waits for `oms` to exit; gives its exit code and the screen.
    fn exit(&self) -> (i32, String) {
        let screen = self.wait("the exit code", |s| s.contains(EXIT_MARK));
        let code = screen
            .split(EXIT_MARK)
            .nth(1)
            .and_then(|rest| rest.split("__").next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no exit code on the screen:\n{screen}"));
        (code, screen)
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        if let Some(p) = &self.socket_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn is_uuid(line: &str) -> bool {
    let l = line.trim();
    l.len() == 36
        && l.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Any escape sequence of colors or text attributes (SGR).
fn has_sgr(screen: &str) -> bool {
    screen.split("\x1b[").skip(1).any(|rest| {
        rest.chars()
            .find(|c| !(c.is_ascii_digit() || *c == ';' || *c == ':'))
            == Some('m')
    })
}

#[test]
fn submit_asks_for_a_missing_seller_on_a_terminal() {
    if !have_tmux("submit_asks_for_a_missing_seller_on_a_terminal") {
        return;
    }
    let oms = Oms::new();
    let tty = Tty::start(&oms, &["submit", "storage/orders.csv"], &[]);
    tty.wait("the seller question", |s| {
        s.contains("Seller id (--seller)")
    });
    tty.keys(&["1", "Enter"]);
    let (code, screen) = tty.exit();
    assert_eq!(code, 0, "submit failed:\n{screen}");
    let job_id = screen
        .lines()
        .find(|l| is_uuid(l))
        .unwrap_or_else(|| panic!("no job id printed:\n{screen}"))
        .trim()
        .to_owned();
    let jobs = oms.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(s(&jobs[0]["job_id"]), job_id);
    assert_eq!(jobs[0]["seller_id"], "1");
    assert_eq!(jobs[0]["state"], "queued");
}

#[test]
fn submit_without_a_seller_off_a_terminal_is_a_usage_error() {
    // No terminal needed: the harness runs commands with stdin and stderr not terminals.
    let oms = Oms::new();
    let r = oms.run(&["submit", "storage/orders.csv"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(r.stderr.contains("--seller"), "{}", r.stderr);
    assert!(r.stderr.contains("Usage:"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("Seller id"),
        "nothing is asked: {}",
        r.stderr
    );
    assert!(oms.jobs().is_empty(), "nothing is queued");
}

#[test]
fn ingest_shows_a_live_pane_and_stops_cleanly_on_ctrl_c() {
    if !have_tmux("ingest_shows_a_live_pane_and_stops_cleanly_on_ctrl_c") {
        return;
    }
    let oms = Oms::new();
    // About 200,000 rows: long enough to be seen in progress.
    let w = Workload::new(7, 1, 100_000);
    let files = w.install(&oms);
    oms.submit(&files[0]);

    let tty = Tty::start(&oms, &["ingest"], &[]);
    let name = files[0].trim_start_matches("storage/");
    let bar = format!("{name} (job ");
    // The file's bar with rows counted, under the header that counts it.
    let screen = tty.wait_for("the file's bar with rows", Duration::from_secs(60), |s| {
        s.contains(&bar)
            && s.contains("1 file in progress")
            && s.lines().any(|l| {
                let l = l.trim_start();
                (l.starts_with("reading: ") || l.starts_with("storing: "))
                    && !l.contains(": 0 rows")
            })
    });
    eprintln!("the pane while the file is worked on:\n{screen}");
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ingest up") && l.contains("in progress")),
        "no header line:\n{screen}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("totals: rows")),
        "no totals line:\n{screen}"
    );
    assert!(
        lines.iter().any(|l| l.trim_start().starts_with("queue:")),
        "no queue line:\n{screen}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("last error:")),
        "no error line:\n{screen}"
    );
    let at = lines
        .iter()
        .position(|l| l.contains(&bar))
        .expect("the bar line");
    assert!(lines[at].contains('%'), "{}", lines[at]);
    assert!(
        lines.get(at + 1).is_some_and(|l| l.contains(" rows (")),
        "the line under the bar counts rows:\n{screen}"
    );

    tty.keys(&["C-c"]);
    let (code, screen) = tty.exit();
    assert_eq!(code, 0, "ingest did not stop cleanly:\n{screen}");
    assert!(screen.contains("ingest stopped"), "{screen}");
    // The pane is gone: no stale copy of it is left on the screen.
    assert!(
        !screen.contains("ingest up") && !screen.contains(&bar),
        "the pane was left behind:\n{screen}"
    );
    // Its message was finished or released for the next ingest.
    let d = oms.queue_depth();
    assert_eq!(d.in_flight, 0, "{d:?}");
}

#[test]
fn no_color_means_no_color_in_the_ingest_pane() {
    if !have_tmux("no_color_means_no_color_in_the_ingest_pane") {
        return;
    }
    let oms = Oms::new();
    oms.submit("storage/orders.csv");
    let pane = |env: &[(&str, Option<&str>)]| {
        let tty = Tty::start(&oms, &["ingest"], env);
        tty.wait("the pane", |s| {
            s.contains("ingest up") && s.contains("last error:")
        });
        let screen = tty.screen(true);
        tty.keys(&["C-c"]);
        let (code, after) = tty.exit();
        assert_eq!(code, 0, "{after}");
        screen
    };
    // Without NO_COLOR the same capture shows colors: the check below can see them.
    let colored = pane(&[("NO_COLOR", None)]);
    assert!(
        has_sgr(&colored),
        "no colors without NO_COLOR:\n{colored:?}"
    );
    let plain = pane(&[("NO_COLOR", Some("1"))]);
    assert!(!has_sgr(&plain), "colors despite NO_COLOR=1:\n{plain:?}");
    assert!(!plain.contains('\x1b'), "escape sequences:\n{plain:?}");
}

#[test]
fn orders_retry_asks_before_retrying_many() {
    if !have_tmux("orders_retry_asks_before_retrying_many") {
        return;
    }
    let oms = Oms::new();
    let inv = oms.root.join("inventory.csv");
    oms.ok(&["inventory", "load", inv.to_str().expect("UTF-8 path")]);
    let mut csv = String::from(ORDERS_HEADER);
    for id in 3001..=3007 {
        csv.push_str(&format!("{id},15,1,1,1\n"));
    }
    oms.write("seven.csv", &csv);
    oms.submit("storage/seven.csv");
    oms.ingest_drain();
    let held = oms
        .orders()
        .iter()
        .filter(|o| o["status"] == "on_hold")
        .count();
    assert_eq!(held, 7);

    let tty = Tty::start(&oms, &["orders", "retry"], &[]);
    tty.wait("the question", |s| {
        s.contains("Retry 7 on_hold orders? [y/N]")
    });
    tty.keys(&["n"]);
    let (code, screen) = tty.exit();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("nothing retried"), "{screen}");
    assert!(
        !screen.lines().any(|l| l.trim() == "7"),
        "retried although the answer was no:\n{screen}"
    );
    drop(tty);

    let tty = Tty::start(&oms, &["orders", "retry"], &[]);
    tty.wait("the question", |s| {
        s.contains("Retry 7 on_hold orders? [y/N]")
    });
    tty.keys(&["y"]);
    let (code, screen) = tty.exit();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.lines().any(|l| l.trim() == "7"),
        "the count of retried orders is printed:\n{screen}"
    );
    assert!(screen.contains("published again"), "{screen}");
}

#[test]
fn dlq_purge_asks_to_type_the_count() {
    if !have_tmux("dlq_purge_asks_to_type_the_count") {
        return;
    }
    let oms = Oms::new();
    // A dead letter: a message that is not a request, received more than allowed.
    let queue = oms.embedded_queue(QueueSettings {
        visibility_timeout: Duration::from_secs(30),
        max_receives: 1,
    });
    block_on(async {
        queue.send("not json").await.expect("send");
        let m = queue
            .receive(Duration::from_secs(1))
            .await
            .expect("receive")
            .expect("a message");
        queue.release(&m).await.expect("release");
        let again = queue.receive(Duration::ZERO).await.expect("receive");
        assert!(
            again.is_none(),
            "received after its last receive: {again:?}"
        );
    });
    assert_eq!(oms.queue_depth().dead, 1);

    // A wrong count deletes nothing.
    let tty = Tty::start(&oms, &["dlq", "purge"], &[]);
    tty.wait("the question", |s| {
        s.contains("Delete 1 dead-lettered messages for good? Type 1 to confirm")
    });
    tty.keys(&["yes", "Enter"]);
    let (code, screen) = tty.exit();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("nothing deleted"), "{screen}");
    assert_eq!(oms.queue_depth().dead, 1);
    drop(tty);

    let tty = Tty::start(&oms, &["dlq", "purge"], &[]);
    tty.wait("the question", |s| s.contains("Type 1 to confirm"));
    tty.keys(&["1", "Enter"]);
    let (code, screen) = tty.exit();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.lines().any(|l| l.trim() == "1"),
        "the count of deleted messages is printed:\n{screen}"
    );
    assert_eq!(oms.queue_depth().dead, 0);
}
