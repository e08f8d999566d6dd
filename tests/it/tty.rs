//! The built `oms` in a real terminal: each test runs it in a pseudo-terminal of a tmux
//! server of its own (`tmux -L <unique socket>`, 200×50 unless a test needs a narrower
//! pane: the tables at 80 and 100 columns), types into it with `send-keys` and reads
//! the screen with `capture-pane`, polling with a deadline. The server is killed when
//! the test ends, failed or not.
//!
//! Without tmux these tests are skipped with a message, unless `OMS_REQUIRE_SERVICES=1`
//! (as CI sets it): then they fail.

use crate::support::{
    BIN, ORDERS_HEADER, Oms, Workload, block_on, run_cmd, s, sample_flow, services_required,
};
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
        Self::start_in(oms, args, env, (200, 50))
    }

    /// [`Tty::start`] in a pane of `(columns, rows)`.
    fn start_in(
        oms: &Oms,
        args: &[&str],
        env: &[(&str, Option<&str>)],
        (columns, rows): (u16, u16),
    ) -> Self {
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
            &columns.to_string(),
            "-y",
            &rows.to_string(),
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
    // Under a name too long for the bar's line at 80 columns (57 + 45 columns).
    let long = "orders-of-every-seller-for-the-whole-of-2026.csv";
    let generated = oms.root.join(files[0].trim_start_matches("storage/"));
    std::fs::rename(generated, oms.root.join(long)).expect("rename the file");
    oms.submit(&format!("storage/{long}"));

    // An 80-column pane, the narrowest operators use: the name is cut in its middle
    // to the 20 columns left (80, less the pane's margin of 3 and the line's 57).
    let tty = Tty::start_in(&oms, &["ingest"], &[], (80, 30));
    let bar = "orders-of...2026.csv (job ";
    // The file's bar with rows counted, under the header that counts it.
    let screen = tty.wait_for("the file's bar with rows", Duration::from_secs(60), |s| {
        s.contains(bar)
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
        .position(|l| l.contains(bar))
        .expect("the bar line");
    assert!(lines[at].contains('%'), "{}", lines[at]);
    assert!(
        lines
            .get(at + 1)
            .is_some_and(|l| l.contains(" rows (") || l.contains(" orders (")),
        "the line under the bar counts rows or orders:\n{screen}"
    );
    // Every line whole at 80 columns: each ends with its last value.
    let ends = |start: &str, whole: &dyn Fn(&str) -> bool| {
        let l = lines
            .iter()
            .map(|l| l.trim())
            .find(|l| l.contains(start))
            .unwrap_or_else(|| panic!("no `{start}` line:\n{screen}"));
        assert!(whole(l), "cut at the pane's width: {l:?}\n{screen}");
    };
    let last_is_count = |l: &str| l.ends_with(|c: char| c.is_ascii_digit());
    ends("ingest up", &|l| l.ends_with(" left for retry"));
    ends("totals: rows", &|l| {
        last_is_count(l)
            && l.rsplit(" | ")
                .next()
                .is_some_and(|t| t.starts_with("duplicate "))
    });
    ends("queue:", &|l| {
        l.ends_with(')') || l.ends_with("not known yet")
    });
    ends(bar, &|l| l.ends_with('%'));
    let under = lines[at + 1].trim();
    assert!(
        last_is_count(under) || under.ends_with("/s)") || under.ends_with(" rejected"),
        "cut at the pane's width: {under:?}\n{screen}"
    );

    tty.keys(&["C-c"]);
    let (code, screen) = tty.exit();
    assert_eq!(code, 0, "ingest did not stop cleanly:\n{screen}");
    assert!(screen.contains("ingest stopped"), "{screen}");
    // The pane is gone: no stale copy of it is left on the screen.
    assert!(
        !screen.contains("ingest up") && !screen.contains(bar),
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

/// Words that change from one run to the next: ages (`12s`, `3m`) and clock times.
fn changes_with_time(word: &str) -> bool {
    let age = word.len() > 1
        && word[..word.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && word.ends_with(['s', 'm', 'h', 'd', 'y']);
    let clock = word.len() == 8 && word.as_bytes()[2] == b':' && word.as_bytes()[5] == b':';
    age || clock
}

/// `screen` (the pane's lines, wrapped ones joined) fits `columns` and shows every
/// value whole: each word on it is a word of `whole` (the same output with nothing
/// wrapped or left out), apart from ages and times, and pieces of a path in free text
/// (an error, a doctor's detail) too long for its column, broken after a `/`.
fn assert_fits_whole(screen: &str, whole: &str, columns: usize, what: &str) {
    let lines: Vec<&str> = screen.lines().filter(|l| !l.contains(EXIT_MARK)).collect();
    for l in &lines {
        assert!(
            l.chars().count() <= columns,
            "`{what}`: a line wider than the {columns}-column pane:\n{l}\n\n{screen}"
        );
    }
    let words: std::collections::HashSet<&str> = whole.split_whitespace().collect();
    for l in &lines {
        for w in l.split_whitespace() {
            let broken_path = words.iter().any(|full| {
                full.len() > w.len()
                    && ((full.starts_with(w) && w.ends_with('/'))
                        || full.contains(&format!("/{w}")))
            });
            assert!(
                words.contains(w) || changes_with_time(w) || broken_path,
                "`{what}` at {columns} columns: {w:?} is not a whole value:\n{screen}"
            );
        }
    }
}

#[test]
fn tables_fit_80_and_100_column_panes_with_every_value_whole() {
    if !have_tmux("tables_fit_80_and_100_column_panes_with_every_value_whole") {
        return;
    }
    let oms = Oms::new();
    let job = sample_flow(&oms);
    // A failed job (its file gone), and a dead-lettered request.
    oms.write("gone.csv", &format!("{ORDERS_HEADER}9001,15,1,1,1\n"));
    let failed = oms.submit("storage/gone.csv");
    std::fs::remove_file(oms.root.join("gone.csv")).expect("remove the file");
    let r = oms.run(&["ingest", "--drain"]);
    assert_eq!(r.code, 5, "a job failed: {r:?}");
    let queue = oms.embedded_queue(QueueSettings {
        visibility_timeout: Duration::from_secs(30),
        max_receives: 1,
    });
    block_on(async {
        let body = r#"{"sellerID":1,"filePath":"storage/orders.csv","jobId":"deadbeef-0000-4000-8000-000000000001"}"#;
        queue.send(body).await.expect("send");
        let m = queue
            .receive(Duration::from_secs(1))
            .await
            .expect("receive");
        queue
            .release(&m.expect("a message"))
            .await
            .expect("release");
        assert!(
            queue
                .receive(Duration::ZERO)
                .await
                .expect("receive")
                .is_none()
        );
    });

    let short = &job[..8];
    let commands: [(&[&str], &[&str]); 8] = [
        (
            &["orders", "ls"],
            &["insufficient_inventory", "new_order", "2 items, 7 units"],
        ),
        (
            &["jobs", "ls"],
            &[short, &failed[..8], "failed", "ACCEPTED"],
        ),
        (
            &["jobs", "show", short],
            &[&job, "hub_id/sku_id", "Rejects (7)"],
        ),
        (
            &["orders", "show", "2004"],
            &[&job, "2 items, 7 units", "insufficient_inventory"],
        ),
        (&["inventory", "ls"], &["QUANTITY"]),
        (&["dlq", "ls"], &["deadbeef", "storage/orders.csv"]),
        (&["doctor"], &["embedded database", "✓"]),
        (
            &["status"],
            &["insufficient_inventory 3", "dead-lettered 1", "oms-fulfil"],
        ),
    ];
    for columns in [80_u16, 100] {
        for (args, shown) in commands {
            let what = format!("oms {}", args.join(" "));
            let tty = Tty::start_in(&oms, args, &[], (columns, 50));
            let (code, screen) = tty.exit();
            assert_eq!(code, 0, "`{what}` at {columns} columns:\n{screen}");
            eprintln!("`{what}` in a {columns}-column pane:\n{screen}");
            // The same output with room for everything: nothing wrapped or left out.
            let mut c = oms.cmd(args);
            c.env("COLUMNS", "1000");
            let whole = run_cmd(c).stdout;
            assert_fits_whole(&screen, &whole, columns.into(), &what);
            for value in shown {
                assert!(
                    screen.contains(value),
                    "`{what}` at {columns} columns does not show {value:?} whole:\n{screen}"
                );
            }
        }
    }
}

#[test]
fn status_watch_redraws_in_place_without_scrolling() {
    if !have_tmux("status_watch_redraws_in_place_without_scrolling") {
        return;
    }
    let oms = Oms::new();
    sample_flow(&oms);
    let tty = Tty::start_in(&oms, &["status", "--watch", "1"], &[], (80, 24));
    let title = |screen: &str| {
        screen
            .lines()
            .find(|l| l.starts_with("oms status"))
            .map(str::to_owned)
    };
    let first = tty.wait("the status", |s| s.contains("LAST ERROR"));
    let first_title = title(&first).expect("a title line");
    // Redrawn at least twice more (its clock moved on).
    let later = tty.wait_for("two redraws", Duration::from_secs(10), |s| {
        title(s).is_some_and(|t| t != first_title)
    });
    let later_title = title(&later).expect("a title line");
    tty.wait_for("another redraw", Duration::from_secs(10), |s| {
        title(s).is_some_and(|t| t != later_title)
    });
    let history = tty.tmux(&["display-message", "-p", "-t", "oms", "#{history_size}"]);
    assert_eq!(
        String::from_utf8_lossy(&history.stdout).trim(),
        "0",
        "the pane scrolled:\n{}",
        tty.screen(false)
    );
    let screen = tty.screen(false);
    assert_eq!(
        screen.matches("oms status").count(),
        1,
        "one screen, drawn over the last:\n{screen}"
    );
    for l in screen.lines() {
        assert!(l.chars().count() <= 80, "{l}\n{screen}");
    }
    tty.keys(&["C-c"]);
    let (code, screen) = tty.exit();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(screen.matches("oms status").count(), 1, "{screen}");
    assert!(screen.contains("new_order 3"), "{screen}");
}

#[test]
fn fulfil_pane_fits_an_80_column_pane_with_every_count_whole() {
    if !have_tmux("fulfil_pane_fits_an_80_column_pane_with_every_count_whole") {
        return;
    }
    let oms = Oms::new();
    let w = Workload::new(11, 1, 20_000);
    let files = w.install(&oms);
    oms.submit(&files[0]);
    oms.ingest_drain();

    let tty = Tty::start_in(&oms, &["fulfil"], &[], (80, 30));
    // Every event fulfilled: the counts line adds up and the lag was measured since.
    let screen = tty.wait_for("the pane with every order", Duration::from_secs(120), |s| {
        s.contains("orders: events 20,000 |") && s.contains("lag: 0 events not yet fulfilled")
    });
    eprintln!("the fulfil pane at 80 columns:\n{screen}");
    // The pane's own lines (the log line above it is the log's, wrapped by tmux).
    let pane: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains("fulfil oms-fulfil up"))
        .take(4)
        .collect();
    assert_eq!(pane.len(), 4, "{screen}");
    for l in &pane {
        assert!(
            l.chars().count() <= 80,
            "wider than the pane:\n{l}\n\n{screen}"
        );
    }
    let line = |start: &str| {
        pane.iter()
            .find(|l| l.contains(start))
            .unwrap_or_else(|| panic!("no `{start}` line:\n{screen}"))
            .trim_end()
            .to_owned()
    };
    assert!(
        line("fulfil oms-fulfil up").ends_with("/s on average"),
        "the rates are cut:\n{screen}"
    );
    // Whole counts to the last one: the outcomes add up to the events.
    let counts = line("orders: events");
    let n = |name: &str| -> u64 {
        let after = counts
            .split(&format!("{name} "))
            .nth(1)
            .unwrap_or_else(|| panic!("no {name} in {counts:?}"));
        let digits: String = after
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .collect();
        digits.replace(',', "").parse().expect("a count")
    };
    assert_eq!(
        n("new_order") + n("on_hold") + n("skipped"),
        20_000,
        "{counts}"
    );
    assert!(
        counts.ends_with(&format!("skipped {}", n("skipped"))),
        "{counts}"
    );

    tty.keys(&["C-c"]);
    let (code, screen) = tty.exit();
    assert_eq!(code, 0, "fulfil did not stop cleanly:\n{screen}");
    assert!(
        !screen.contains("fulfil oms-fulfil up"),
        "the pane was left behind:\n{screen}"
    );
}
