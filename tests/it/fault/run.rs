//! One variant's run: the chaos phase (workers under the supervisor, submissions on a
//! thread of their own, the planned outages), the settle phase (drains until every
//! order is through), then the invariants checked and the figures printed.

use super::workers::Supervisor;
use super::workload::FileExpect;
use super::world::{Happened, Planned, QueueAccess, World};
use super::{MAX_RECEIVES, ONE_AT_A_TIME, POISON, scale, scaled, secs, seed, short, tail};
use crate::support::{Aws, Lcg, Oms, Proc, Workload, block_on, sqs_queue_counts};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Submitted {
    /// (path, job id) of every submit that succeeded.
    pub jobs: Vec<(String, String)>,
    pub attempts: u32,
    pub refused: BTreeMap<i32, u32>,
    pub refusals: BTreeSet<String>,
    pub poison_sent: Vec<String>,
    pub errors: Vec<String>,
}

/// Submits every file in turn, spread over `over` from `t0` (a submit refused during
/// an outage is tried again until `deadline`), and puts the poison messages in the
/// queue once a third of the files are in.
pub fn submit_all(
    oms: &Oms,
    paths: &[String],
    over: Duration,
    queue: &QueueAccess,
    t0: Instant,
    deadline: Instant,
) -> Submitted {
    let mut out = Submitted::default();
    let step = over / u32::try_from(paths.len().max(1)).expect("few files");
    for (i, path) in paths.iter().enumerate() {
        let due = t0 + step * u32::try_from(i).expect("few files");
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        loop {
            out.attempts += 1;
            match oms.try_run(&["submit", path, "--seller", "1"], Duration::from_secs(90)) {
                Ok(r) if r.code == 0 => {
                    out.jobs.push((path.clone(), r.stdout.trim().to_owned()));
                    break;
                }
                Ok(r) => {
                    *out.refused.entry(r.code).or_insert(0) += 1;
                    if out.refusals.len() < 4 {
                        let last = r.stderr.lines().last().unwrap_or("").to_owned();
                        out.refusals
                            .insert(format!("exit {}: {}", r.code, short(&last)));
                    }
                }
                Err(e) => {
                    *out.refused.entry(-1).or_insert(0) += 1;
                    out.refusals.insert(short(&e));
                }
            }
            if Instant::now() > deadline {
                out.errors
                    .push(format!("`oms submit {path}` never succeeded"));
                break;
            }
            thread::sleep(Duration::from_millis(500));
        }
        // The poison goes in once a third of the files are submitted.
        if i == paths.len() / 3 {
            for body in POISON {
                loop {
                    match queue.send(body) {
                        Ok(()) => {
                            out.poison_sent.push(body.to_owned());
                            break;
                        }
                        Err(e) if Instant::now() > deadline => {
                            out.errors
                                .push(format!("cannot put poison {body:?} in the queue: {e}"));
                            break;
                        }
                        Err(_) => thread::sleep(Duration::from_millis(500)),
                    }
                }
            }
        }
    }
    out
}

/// Sizes of one variant at scale 1.
pub struct Size {
    pub files: usize,
    pub per_file: usize,
    pub invalid_per_file: usize,
}

/// Runs one variant of `size` in `world`: chaos, settle, invariants, figures; fails
/// the test on any violation.
pub fn run_variant(mut world: World, size: Size) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let started = Instant::now();
    let (scale, seed) = (scale(), seed());
    eprintln!(
        "fault[{}]: seed {seed} (OMS_FAULT_SEED={seed} replays it), scale {scale}",
        world.name
    );
    let mut rng = Lcg::new(seed);
    let files = scaled(size.files, scale);
    let (w, expects) =
        Workload::with_invalid(seed, "fault", files, size.per_file, size.invalid_per_file);
    w.write_files(&world.oms, &expects);
    match &world.faults.wms {
        Some(h) => w.load_stock(&h.machine),
        None => w.load_stock(&world.oms),
    }
    if let Some(h) = world.faults.wms.as_mut() {
        h.start();
    }
    // The first two files twice: their second jobs are all duplicates.
    let mut paths: Vec<String> = expects.iter().map(|e| e.path.clone()).collect();
    paths.insert(paths.len() / 2, expects[0].path.clone());
    paths.push(expects[1].path.clone());
    let rows: u64 = expects.iter().map(|e| e.rows).sum();
    let invalid: usize = expects.iter().map(|e| e.invalid.len()).sum();

    // Chaos.
    let mut sup = Supervisor::new(world.ingests, world.fulfils);
    let mut happened: Vec<Happened> = Vec::new();
    let mut violations: Vec<String> = Vec::new();
    let mut plan = world.plan.clone();
    plan.sort_by_key(|p| p.at);
    let mut next_outage = 0;
    let mut active: Option<(Planned, Instant, Instant, String)> = None;
    let t0 = Instant::now();
    let hard_end = t0 + world.chaos + Duration::from_secs(120).mul_f64(scale.max(1.0));
    let mut next_kill = t0 + rng.between(world.kill_every.0, world.kill_every.1);
    let submitted = {
        let (oms, queue, over) = (&world.oms, world.queue.clone(), world.submit_over);
        let faults = &mut world.faults;
        let paths = &paths;
        thread::scope(|sc| {
            let sub = sc.spawn(move || submit_all(oms, paths, over, &queue, t0, hard_end));
            loop {
                let now = Instant::now();
                sup.tend(oms);
                if now >= next_kill {
                    // Outages longer than the embedded busy timeout (30 s) spare a worker
                    // of each kind, which must then live through calls that fail.
                    let long = active
                        .as_ref()
                        .is_some_and(|(p, ..)| p.hold >= Duration::from_secs(30));
                    sup.kill_one(&mut rng, long);
                    next_kill = now + rng.between(world.kill_every.0, world.kill_every.1);
                }
                if let Some((p, asked, down, note)) = active.take() {
                    if now >= down + p.hold {
                        let end = faults.end(p.kind);
                        let lasted = asked.elapsed();
                        let note = match end {
                            Ok(n) => [note, n]
                                .into_iter()
                                .filter(|s| !s.is_empty())
                                .collect::<Vec<_>>()
                                .join("; "),
                            Err(e) => {
                                violations.push(format!("ending {:?}: {e}", p.kind));
                                e
                            }
                        };
                        happened.push(Happened {
                            kind: p.kind,
                            at: asked - t0,
                            lasted,
                            note,
                        });
                    } else {
                        active = Some((p, asked, down, note));
                    }
                } else if next_outage < plan.len() && now >= t0 + plan[next_outage].at {
                    let p = plan[next_outage];
                    next_outage += 1;
                    let asked = Instant::now();
                    match faults.begin(p.kind) {
                        // The hold counts from when the backend is actually down (a
                        // stop can take seconds); `at` from when it was asked.
                        Ok(note) => active = Some((p, asked, Instant::now(), note)),
                        Err(e) => violations.push(format!("starting {:?}: {e}", p.kind)),
                    }
                }
                let done = now >= t0 + world.chaos
                    && active.is_none()
                    && next_outage == plan.len()
                    && sub.is_finished();
                if done {
                    break;
                }
                if now > hard_end && active.is_none() {
                    violations.push(format!(
                        "the chaos phase did not end within {}",
                        secs(hard_end - t0)
                    ));
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
            sub.join().expect("the submitter")
        })
    };
    let chaos_took = t0.elapsed();
    // During an outage a command must say "unavailable, run again later" (exit 4),
    // nothing else.
    for (code, n) in &submitted.refused {
        if *code != 4 {
            violations.push(format!(
                "{n} submit(s) during an outage exited {code}, not 4 (unavailable): {:?}",
                submitted.refusals
            ));
        }
    }
    for (kind, k) in &sup.figures {
        for (code, n) in &k.exited {
            if *code != 4 {
                violations.push(format!(
                    "{n} `oms {kind}` exited {code} by itself during the chaos phase, not 4 \
                     (unavailable): {:?}",
                    k.why
                ));
            }
        }
    }
    sup.stop_all();
    violations.append(&mut sup.violations);
    violations.extend(submitted.errors.iter().cloned());

    // Settle: drains until every order is through.
    let t1 = Instant::now();
    let settle_deadline = t1 + world.settle_within.mul_f64(scale.max(1.0));
    let mut rounds = 0;
    let mut drain_codes: BTreeMap<String, u32> = BTreeMap::new();
    let my_jobs: BTreeSet<&str> = submitted.jobs.iter().map(|(_, j)| j.as_str()).collect();
    let settled = loop {
        rounds += 1;
        let r = world.oms.try_run(
            &["--log-format", "json", "ingest", "--drain"],
            Duration::from_secs(300),
        );
        let code = r.as_ref().map_or(-1, |r| r.code);
        *drain_codes
            .entry(format!("ingest --drain exit {code}"))
            .or_insert(0) += 1;
        if let Ok(r) = &r
            && r.stderr.contains("panicked")
        {
            violations.push(format!("`ingest --drain` panicked: {}", short(&r.stderr)));
        }
        // As many fulfils at once as during the chaos phase.
        // With oms's debug lines, so that a drain that does not end says why.
        let mut drains: Vec<Proc> = (0..world.fulfils)
            .map(|_| {
                let mut c = world
                    .oms
                    .cmd(&["--log-format", "json", "fulfil", "--drain"]);
                c.env("RUST_LOG", "warn,oms=debug")
                    .env("OMS_KAFKA_DEBUG", "cgrp");
                Proc::spawn(c)
            })
            .collect();
        for (i, p) in drains.iter_mut().enumerate() {
            let left = settle_deadline.saturating_duration_since(Instant::now());
            let exited = p.wait_exit(left.max(Duration::from_secs(30)));
            let code = exited.map_or(-1, |s| s.code().unwrap_or(-1));
            if exited.is_none() {
                let _ = p.child.kill();
            }
            let lines = p.rest_of_lines();
            if let Some(l) = lines.iter().find(|l| l.contains("panicked")) {
                violations.push(format!("`fulfil --drain` panicked: {}", short(l)));
            }
            if code != 0 {
                eprintln!(
                    "fault[{}]: fulfil --drain #{i} exit {code}; its last lines:\n{}",
                    world.name,
                    tail(&lines, 25)
                );
            }
            *drain_codes
                .entry(format!("fulfil --drain exit {code}"))
                .or_insert(0) += 1;
        }
        drop(drains);
        let orders = world.oms.orders();
        let jobs = list_jobs(&world.oms);
        let mine_done = jobs
            .iter()
            .filter(|j| my_jobs.contains(j["job_id"].as_str().unwrap_or("")))
            .all(|j| j["state"] == "done");
        if orders.len() >= w.orders.len() && Workload::unsettled(&orders) == 0 && mine_done {
            break true;
        }
        eprintln!(
            "fault[{}]: settle round {rounds}: {} of {} orders stored, {} unsettled, my jobs all done: {mine_done}",
            world.name,
            orders.len(),
            w.orders.len(),
            Workload::unsettled(&orders)
        );
        if Instant::now() > settle_deadline || rounds >= 8 {
            world.faults.print_logs(world.name);
            if let Ok(r) = world.oms.try_run(&["doctor"], Duration::from_secs(120)) {
                eprintln!(
                    "fault[{}]: oms doctor:\n{}{}",
                    world.name, r.stdout, r.stderr
                );
            }
            break false;
        }
    };
    let settle_took = t1.elapsed();
    if !settled {
        violations.push(format!(
            "not settled after {} and {rounds} rounds of drains",
            secs(settle_took)
        ));
    }

    // Invariants.
    let orders = world.oms.orders();
    let stock = world.stock();
    let (mut v, outcome) = w.violations(&orders, &stock);
    violations.append(&mut v);
    let jobs = list_jobs(&world.oms);
    let job_figures = check_jobs(
        &world.oms,
        &jobs,
        &expects,
        &submitted,
        &orders,
        &mut violations,
    );
    let letters = world
        .oms
        .try_run(
            &["dlq", "ls", "--limit", "1000", "--output", "json"],
            Duration::from_secs(120),
        )
        .ok()
        .filter(|r| r.code == 0)
        .and_then(|r| serde_json::from_str::<Value>(&r.stdout).ok())
        .and_then(|v| v.as_array().cloned());
    let dead: Vec<String> = match &letters {
        Some(l) => l
            .iter()
            .map(|d| d["body"].as_str().unwrap_or("").to_owned())
            .collect(),
        None => {
            violations.push("`oms dlq ls` failed".into());
            Vec::new()
        }
    };
    let mut want: Vec<String> = submitted.poison_sent.clone();
    want.sort();
    let mut got = dead.clone();
    got.sort();
    if got != want {
        violations.push(format!(
            "the dead-letter queue holds {got:?}, not exactly the poison messages {want:?}"
        ));
    }
    let depth = queue_left(&world);
    if depth != (0, 0) {
        violations.push(format!(
            "the job queue still holds {} visible and {} in flight",
            depth.0, depth.1
        ));
    }

    // Figures.
    let mut f = String::new();
    let _ = writeln!(f, "==== fault suite: {} ====", world.name);
    let _ = writeln!(
        f,
        "seed            {seed} (OMS_FAULT_SEED), scale {scale} (OMS_FAULT_SCALE)"
    );
    let _ = writeln!(
        f,
        "files           {} ({} submits: two files twice; {} submit attempts, refused {:?})",
        expects.len(),
        paths.len(),
        submitted.attempts,
        submitted.refused
    );
    for r in &submitted.refusals {
        let _ = writeln!(f, "                  refused: {r}");
    }
    let _ = writeln!(
        f,
        "rows            {rows} ({} valid orders, {invalid} invalid orders)",
        w.orders.len()
    );
    for (kind, k) in &sup.figures {
        let _ = writeln!(
            f,
            "{kind:<15} started {}, SIGKILLed {}, exited by themselves {:?}, after SIGTERM {:?}",
            k.started, k.killed, k.exited, k.terminated
        );
        for why in &k.why {
            let _ = writeln!(f, "                  {why}");
        }
        let mut warned: Vec<(&u32, &String)> = k.warnings.iter().map(|(m, n)| (n, m)).collect();
        warned.sort_by(|a, b| b.cmp(a));
        for (n, m) in warned.iter().take(6) {
            let _ = writeln!(f, "                  logged {n}× {m:?}");
        }
    }
    for h in &happened {
        let _ = writeln!(
            f,
            "outage          {:<40} at {:>6} for {:>6}  {}",
            h.kind.name(),
            secs(h.at),
            secs(h.lasted),
            h.note
        );
    }
    let _ = writeln!(
        f,
        "outcome         {} stored: {} new_order, {} on_hold, {} unsettled",
        outcome.stored, outcome.new_order, outcome.on_hold, outcome.unsettled
    );
    let _ = writeln!(f, "jobs            {job_figures}");
    let _ = writeln!(
        f,
        "dead letters    {} (poison sent: {}, max receives {MAX_RECEIVES})",
        dead.len(),
        submitted.poison_sent.len()
    );
    let _ = writeln!(f, "settle          {rounds} round(s) {drain_codes:?}");
    let _ = writeln!(
        f,
        "elapsed         {} (chaos {}, settle {})",
        secs(started.elapsed()),
        secs(chaos_took),
        secs(settle_took)
    );
    let _ = writeln!(f, "violations      {}", violations.len());
    for v in &violations {
        let _ = writeln!(f, "  - {v}");
    }
    eprintln!("{f}");
    assert!(
        violations.is_empty(),
        "{} violation(s) in the {} fault run (seed {seed})",
        violations.len(),
        world.name
    );
    assert!(
        outcome.new_order > 0 && outcome.on_hold > 0,
        "scarce stock should leave some orders on_hold and fulfil others"
    );
}

/// Every job (`jobs ls`, no limit).
pub fn list_jobs(oms: &Oms) -> Vec<Value> {
    let v = oms.json(&["jobs", "ls", "--limit", "1000000", "--output", "json"]);
    v.as_array().expect("a JSON array of jobs").clone()
}

/// (visible, in flight) left in the job queue.
pub fn queue_left(world: &World) -> (u64, u64) {
    match &world.queue {
        QueueAccess::Embedded(_) => {
            let d = world.oms.queue_depth();
            (d.visible, d.in_flight)
        }
        QueueAccess::Sqs { endpoint, queue } => {
            block_on(async { sqs_queue_counts(&Aws::from_env().sqs_client(endpoint), queue).await })
        }
    }
}

/// Every job against its file and the stored orders; gives a line of figures.
pub fn check_jobs(
    oms: &Oms,
    jobs: &[Value],
    expects: &[FileExpect],
    submitted: &Submitted,
    orders: &[Value],
    v: &mut Vec<String>,
) -> String {
    // A job names its file as the message did: relative to the storage root or not.
    let base = |p: &str| {
        Path::new(p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let by_name: BTreeMap<String, &FileExpect> =
        expects.iter().map(|e| (base(&e.path), e)).collect();
    let mine: BTreeSet<&str> = submitted.jobs.iter().map(|(_, j)| j.as_str()).collect();
    let mut stored_by_job: BTreeMap<String, u64> = BTreeMap::new();
    for o in orders {
        *stored_by_job
            .entry(o["job_id"].as_str().unwrap_or("").to_owned())
            .or_insert(0) += 1;
    }
    let mut accepted_by_path: BTreeMap<&str, u64> = BTreeMap::new();
    let mut done_jobs: BTreeSet<String> = BTreeSet::new();
    let mut states: BTreeMap<String, u32> = BTreeMap::new();
    let (mut duplicates, mut unreported) = (0, 0);
    for listed in jobs {
        let id = listed["job_id"].as_str().unwrap_or("").to_owned();
        let state = listed["state"].as_str().unwrap_or("?").to_owned();
        *states.entry(state.clone()).or_insert(0) += 1;
        if !mine.contains(id.as_str()) {
            // A submit that failed: it must not stay queued or processing.
            unreported += 1;
            if state != "failed" && state != "done" {
                v.push(format!(
                    "job {id} (of a failed submit) is left {state}: {listed}"
                ));
            }
        } else if state != "done" {
            v.push(format!("job {id} is {state}, not done: {listed}"));
        }
        if state != "done" {
            continue;
        }
        let job = match oms.try_run(
            &["jobs", "show", &id, "--output", "json"],
            Duration::from_secs(60),
        ) {
            Ok(r) if r.code == 0 => r.json(),
            other => {
                v.push(format!("`jobs show {id}` failed: {other:?}"));
                continue;
            }
        };
        // An uploaded file's job names the file as submitted beside its S3 URI.
        let path = job["source_file"]
            .as_str()
            .or(job["file_path"].as_str())
            .unwrap_or("");
        let Some(e) = by_name.get(&base(path)) else {
            v.push(format!("job {id} is done for an unknown file {path:?}"));
            continue;
        };
        done_jobs.insert(id.clone());
        let num = |k: &str| job[k].as_u64().unwrap_or(u64::MAX);
        let (rows, acc, rej, dup) = (
            num("rows"),
            num("orders_accepted"),
            num("orders_rejected"),
            num("orders_duplicate"),
        );
        duplicates += dup;
        *accepted_by_path.entry(e.path.as_str()).or_insert(0) += acc;
        if rows != e.rows {
            v.push(format!(
                "job {id} ({path}): rows {rows}, the file has {}",
                e.rows
            ));
        }
        if rej != e.invalid.len() as u64 {
            v.push(format!(
                "job {id} ({path}): orders_rejected {rej}, the file has {} invalid orders",
                e.invalid.len()
            ));
        }
        if acc + dup != e.valid.len() as u64 {
            v.push(format!(
                "job {id} ({path}): accepted {acc} + duplicate {dup} != {} valid orders",
                e.valid.len()
            ));
        }
        let stored = stored_by_job.get(&id).copied().unwrap_or(0);
        if stored != acc {
            v.push(format!(
                "job {id} ({path}): orders_accepted {acc}, but {stored} stored orders carry its id"
            ));
        }
        let rejects = job["rejects"].as_array().cloned().unwrap_or_default();
        let reject_orders: BTreeSet<String> = rejects
            .iter()
            .filter_map(|r| r["order_id"].as_str().map(str::to_owned))
            .collect();
        let reject_rows: BTreeSet<u64> = rejects.iter().filter_map(|r| r["row"].as_u64()).collect();
        if reject_orders != e.invalid {
            v.push(format!(
                "job {id} ({path}): rejects name {} orders, the file has {} invalid ones",
                reject_orders.len(),
                e.invalid.len()
            ));
        }
        if reject_rows != e.reject_rows || rejects.len() != e.reject_rows.len() {
            let extra: Vec<_> = reject_rows.difference(&e.reject_rows).take(5).collect();
            let missing: Vec<_> = e.reject_rows.difference(&reject_rows).take(5).collect();
            v.push(format!(
                "job {id} ({path}): {} rejects on rows other than expected (extra {extra:?}, missing {missing:?})",
                rejects.len()
            ));
        }
    }
    for (path, id) in &submitted.jobs {
        if !jobs.iter().any(|j| j["job_id"] == id.as_str()) {
            v.push(format!("no job listed for the submit of {path} ({id})"));
        }
    }
    for e in expects {
        let acc = accepted_by_path.get(e.path.as_str()).copied().unwrap_or(0);
        if acc != e.valid.len() as u64 {
            v.push(format!(
                "{}: its jobs accepted {acc} orders in all, the file has {} valid",
                e.path,
                e.valid.len()
            ));
        }
    }
    for o in orders {
        let j = o["job_id"].as_str().unwrap_or("");
        if !done_jobs.contains(j) {
            v.push(format!(
                "order {} carries job {j:?}, which is not a done job of its file",
                o["order_id"]
            ));
            break;
        }
    }
    format!(
        "{} listed {states:?} ({unreported} from refused submits), {duplicates} duplicates counted",
        jobs.len()
    )
}
