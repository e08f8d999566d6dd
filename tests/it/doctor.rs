//! `oms doctor` run as the built binary: every check green on the embedded default;
//! each kind of trouble (a warehouse that is down or silent, a missing or unusable
//! storage root or data dir, a broken config file, backends on closed ports) a failed
//! check with a fix, exit 4, and no hang; and every check green on the real services.
//!
//! The tests on real services read the variables of `scripts/services env` (start them
//! with `scripts/services up` and `eval "$(scripts/services env)"`); without them such a
//! test is skipped with a note, or fails when `OMS_REQUIRE_SERVICES=1` (CI).

use crate::support::*;
use serde_json::Value;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// The exit code of doctor when a check fails.
const FAILED: i32 = 4;
/// Doctor's checks run at the same time, each cut off after 10 s (the warehouse's
/// after its own timeout + 2 s): a whole run stays well under this.
const BOUND: Duration = Duration::from_secs(20);

const EMBEDDED_CHECKS: [&str; 7] = [
    "configuration",
    "storage root",
    "embedded database",
    "queue",
    "bus",
    "store",
    "warehouse",
];

/// A doctor run: its checks (from `--output json`) and how long it took.
struct Doctor {
    run: Run,
    checks: Vec<Value>,
    took: Duration,
}

impl Doctor {
    fn check(&self, name: &str) -> &Value {
        self.checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name:?} in {:#?}", self.checks))
    }

    fn names(&self) -> Vec<String> {
        self.checks.iter().map(|c| s(&c["name"])).collect()
    }

    fn assert_ok(&self, name: &str) -> String {
        let c = self.check(name);
        assert_eq!(c["ok"], true, "check {name} failed: {c:#}");
        assert!(c["fix"].is_null(), "a passed check has no fix: {c:#}");
        s(&c["detail"])
    }

    /// The failed check's detail and fix.
    fn assert_failed(&self, name: &str) -> (String, String) {
        let c = self.check(name);
        assert_eq!(c["ok"], false, "check {name} passed: {c:#}");
        let fix = s(&c["fix"]);
        assert!(!fix.trim().is_empty(), "a failed check needs a fix: {c:#}");
        (s(&c["detail"]), fix)
    }

    fn assert_all_ok(&self) {
        assert_eq!(
            self.run.code, 0,
            "doctor exited {}: {:#?}\nstderr: {}",
            self.run.code, self.checks, self.run.stderr
        );
        for c in &self.checks {
            self.assert_ok(&s(&c["name"]));
        }
    }

    fn assert_exit_failed(&self) {
        assert_eq!(
            self.run.code, FAILED,
            "doctor should exit {FAILED}: {:#?}\nstderr: {}",
            self.checks, self.run.stderr
        );
        assert!(
            self.took < BOUND,
            "doctor took {:?} (more than {BOUND:?})",
            self.took
        );
    }
}

/// `oms doctor --output json` on `oms`'s machine, with `env` set on top.
fn doctor(oms: &Oms, env: &[(&str, &str)]) -> Doctor {
    let mut c = oms.cmd(&["doctor", "--output", "json"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let started = Instant::now();
    let run = run_cmd(c);
    let took = started.elapsed();
    let checks = run
        .json()
        .as_array()
        .unwrap_or_else(|| panic!("doctor printed no JSON array: {}", run.stdout))
        .clone();
    for c in &checks {
        assert!(c["name"].is_string() && c["ok"].is_boolean() && c["detail"].is_string());
    }
    Doctor { run, checks, took }
}

// ---------------------------------------------------------------------------------
// The embedded default
// ---------------------------------------------------------------------------------

#[test]
fn on_the_embedded_default_every_check_passes() {
    let oms = Oms::new();
    let d = doctor(&oms, &[]);
    d.assert_all_ok();
    assert_eq!(d.names(), EMBEDDED_CHECKS);
    let config = d.assert_ok("configuration");
    assert!(
        config.contains("queue=embedded bus=embedded store=embedded wms=embedded"),
        "{config}"
    );
    let db = d.assert_ok("embedded database");
    assert!(db.contains("journal_mode=wal"), "{db}");
    assert!(db.contains("created now"), "the data dir was new: {db}");
    assert!(d.assert_ok("storage root").contains("3 files"));
    assert!(d.assert_ok("warehouse").contains("no stock lines yet"));

    // With stock, and in the other formats.
    let inv = oms.root.join("inventory.csv");
    oms.ok(&["inventory", "load", inv.to_str().expect("UTF-8")]);
    let d = doctor(&oms, &[]);
    d.assert_all_ok();
    assert!(
        d.assert_ok("warehouse").contains("7 stock lines"),
        "{:#?}",
        d.checks
    );
    assert!(!d.assert_ok("embedded database").contains("created now"));
    let table = oms.ok(&["doctor"]).stdout;
    assert!(table.contains('✓') && !table.contains('✗'), "{table}");
    let csv = oms.ok(&["doctor", "--output", "csv"]).stdout;
    assert!(csv.starts_with("ok,check,detail,fix"), "{csv}");
}

#[test]
fn a_warehouse_on_a_closed_port_fails_at_once_with_a_fix() {
    let oms = Oms::new();
    let url = format!("http://127.0.0.1:{}", free_port());
    let d = doctor(&oms, &[("OMS_WMS_URL", &url)]);
    d.assert_exit_failed();
    let (detail, fix) = d.assert_failed("warehouse");
    assert!(detail.contains("validate_order"), "{detail}");
    assert!(fix.contains("OMS_WMS_URL"), "{fix}");
    for name in [
        "configuration",
        "storage root",
        "embedded database",
        "queue",
        "bus",
        "store",
    ] {
        d.assert_ok(name);
    }
    assert!(d.took < Duration::from_secs(10), "took {:?}", d.took);
}

#[test]
fn a_warehouse_that_never_answers_is_cut_off_at_its_timeout() {
    let oms = Oms::new();
    // Connections are accepted by the kernel, and never answered.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", silent.local_addr().expect("addr"));
    let d = doctor(
        &oms,
        &[("OMS_WMS_URL", &url), ("OMS_WMS_TIMEOUT_SECS", "1")],
    );
    d.assert_exit_failed();
    let (detail, fix) = d.assert_failed("warehouse");
    assert!(
        detail.contains("timed out") || detail.contains("no answer"),
        "{detail}"
    );
    assert!(fix.contains("OMS_WMS_TIMEOUT_SECS"), "{fix}");
    assert!(d.took < Duration::from_secs(8), "took {:?}", d.took);
    drop(silent);
}

#[test]
fn a_warehouse_without_batch_reserve_passes_with_a_warning() {
    use oms::adapters::embedded::{Db, EmbeddedWarehouse};
    let oms = Oms::new();
    let wms_dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let served = EmbeddedWarehouse::new(Db::open(wms_dir.path()).expect("open db"));
    let base = rt.block_on(serve_router(oms::http::wms::original_router(served)));

    let d = doctor(&oms, &[("OMS_WMS_URL", &base)]);
    d.assert_all_ok();
    let detail = d.assert_ok("warehouse");
    assert!(
        detail.contains("no batch reserve") && detail.contains("not all-or-nothing"),
        "{detail}"
    );
}

#[test]
fn a_warehouse_with_reserve_but_not_reserve_many_is_noted() {
    use axum::response::IntoResponse;
    use oms::adapters::embedded::{Db, EmbeddedWarehouse};
    let oms = Oms::new();
    let wms_dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let served = EmbeddedWarehouse::new(Db::open(wms_dir.path()).expect("open db"));
    let full = rt.block_on(serve_router(oms::http::wms::router(served)));
    // The same warehouse, but as one that predates reserve_many: 404 there.
    let served = EmbeddedWarehouse::new(Db::open(wms_dir.path()).expect("open db"));
    let older = oms::http::wms::router(served).layer(axum::middleware::from_fn(
        |req: axum::extract::Request, next: axum::middleware::Next| async move {
            if req.uri().path() == "/api/v1/orders/reserve_many" {
                return axum::http::StatusCode::NOT_FOUND.into_response();
            }
            next.run(req).await
        },
    ));
    let older = rt.block_on(serve_router(older));

    let d = doctor(&oms, &[("OMS_WMS_URL", &full)]);
    let detail = d.assert_ok("warehouse");
    assert!(
        detail.contains("batch reserve offered") && detail.contains("and reserve_many"),
        "{detail}"
    );
    let d = doctor(&oms, &[("OMS_WMS_URL", &older)]);
    d.assert_all_ok();
    let detail = d.assert_ok("warehouse");
    assert!(
        detail.contains("batch reserve offered")
            && detail.contains("no reserve_many endpoint")
            && detail.contains("a request of its own"),
        "{detail}"
    );
}

#[test]
fn a_missing_storage_root_fails_with_a_fix() {
    let oms = Oms::new();
    let missing = oms.home.join("no-such-dir");
    let d = doctor(
        &oms,
        &[("OMS_STORAGE_ROOT", missing.to_str().expect("UTF-8"))],
    );
    d.assert_exit_failed();
    let (detail, fix) = d.assert_failed("storage root");
    assert!(detail.contains("does not exist"), "{detail}");
    assert!(
        fix.contains("mkdir -p") && fix.contains("OMS_STORAGE_ROOT"),
        "{fix}"
    );
    d.assert_ok("embedded database");

    let file = oms.root.join("orders.csv");
    let d = doctor(&oms, &[("OMS_STORAGE_ROOT", file.to_str().expect("UTF-8"))]);
    d.assert_exit_failed();
    let (detail, _) = d.assert_failed("storage root");
    assert!(detail.contains("not a directory"), "{detail}");
}

#[test]
fn an_unreadable_storage_root_fails_with_a_fix() {
    use std::os::unix::fs::PermissionsExt;
    let oms = Oms::new();
    let locked = oms.home.join("locked");
    std::fs::create_dir(&locked).expect("mkdir");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    if std::fs::read_dir(&locked).is_ok() {
        eprintln!("skipped: permissions do not apply to this user (root)");
        return;
    }
    let d = doctor(
        &oms,
        &[("OMS_STORAGE_ROOT", locked.to_str().expect("UTF-8"))],
    );
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    d.assert_exit_failed();
    let (_, fix) = d.assert_failed("storage root");
    assert!(fix.contains("chmod"), "{fix}");
}

#[test]
fn an_unusable_data_dir_fails_every_embedded_port() {
    let oms = Oms::new();
    // A file where the data dir should be: no user, root included, can use it.
    let file = oms.home.join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let d = doctor(&oms, &[("OMS_DATA_DIR", file.to_str().expect("UTF-8"))]);
    d.assert_exit_failed();
    let (detail, fix) = d.assert_failed("embedded database");
    assert!(detail.contains("not a directory"), "{detail}");
    assert!(fix.contains("OMS_DATA_DIR"), "{fix}");
    for name in ["queue", "bus", "store", "warehouse"] {
        d.assert_failed(name);
    }
    d.assert_ok("storage root");
}

#[test]
fn a_broken_config_file_is_a_failed_check_without_secrets() {
    let oms = Oms::new();
    let config = oms.home.join("oms.toml");
    std::fs::write(
        &config,
        "[mongodb]\nurii = \"mongodb://admin:hunter2secret@db.example:27017/oms\"\n",
    )
    .expect("write");
    let d = doctor(&oms, &[("OMS_CONFIG", config.to_str().expect("UTF-8"))]);
    d.assert_exit_failed();
    assert_eq!(d.names(), ["configuration"]);
    let (detail, fix) = d.assert_failed("configuration");
    assert!(detail.contains("urii"), "{detail}");
    assert!(fix.contains("config file"), "{fix}");
    assert!(
        !d.run.stdout.contains("hunter2secret") && !d.run.stderr.contains("hunter2secret"),
        "the password is shown: {}",
        d.run.stdout
    );
}

#[test]
fn real_backends_on_closed_ports_fail_each_port_in_bounded_time() {
    // Nothing needs to run: every address is a closed loopback port.
    let oms = Oms::new();
    let sqs = format!("http://127.0.0.1:{}", free_port());
    let kafka = format!("127.0.0.1:{}", free_port());
    let mongo = format!("mongodb://oms:s3cr3tpw@127.0.0.1:{}", free_port());
    let wms = format!("http://127.0.0.1:{}", free_port());
    let d = doctor(
        &oms,
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("OMS_SQS_ENDPOINT", &sqs),
            ("OMS_SQS_QUEUE", "oms-doctor"),
            ("OMS_KAFKA_BROKERS", &kafka),
            ("OMS_MONGODB_URI", &mongo),
            ("OMS_WMS_URL", &wms),
        ],
    );
    d.assert_exit_failed();
    assert_eq!(
        d.names(),
        [
            "configuration",
            "storage root",
            "queue",
            "bus",
            "store",
            "warehouse"
        ],
        "no embedded database when no port is embedded"
    );
    d.assert_ok("configuration");
    let (_, fix) = d.assert_failed("queue");
    assert!(fix.contains("OMS_SQS_ENDPOINT"), "{fix}");
    let (_, fix) = d.assert_failed("bus");
    assert!(fix.contains("OMS_KAFKA_BROKERS"), "{fix}");
    let (_, fix) = d.assert_failed("store");
    assert!(fix.contains("OMS_MONGODB_URI"), "{fix}");
    let (_, fix) = d.assert_failed("warehouse");
    assert!(fix.contains("OMS_WMS_URL"), "{fix}");
    assert!(!d.run.stdout.contains("s3cr3tpw"), "{}", d.run.stdout);
    assert!(!oms.data.exists(), "doctor opened the embedded database");
}

// ---------------------------------------------------------------------------------
// Real services
// ---------------------------------------------------------------------------------

/// An operator's machine whose `oms` uses the real services (fresh names of its own)
/// and a warehouse served by `oms wms serve` from another data dir; `None` when the
/// services are not configured (and not required).
fn real_site() -> Option<(Oms, Oms, Proc)> {
    let services = RealServices::from_env()?;
    let wms = Oms::new();
    let bind = format!("127.0.0.1:{}", free_port());
    let warehouse = wms.serve_wms(&bind);
    let mut oms = Oms::new();
    services.configure(&mut oms, "doctor", &bind);
    Some((oms, wms, warehouse))
}

#[test]
fn on_real_services_every_check_passes() {
    let Some((oms, _wms, _warehouse)) = real_site() else {
        return;
    };
    let d = doctor(&oms, &[]);
    d.assert_all_ok();
    assert_eq!(
        d.names(),
        [
            "configuration",
            "storage root",
            "queue",
            "dead-letter queue",
            "bus",
            "store",
            "warehouse"
        ]
    );
    let config = d.assert_ok("configuration");
    assert!(
        config.contains("queue=sqs(") && config.contains("store=mongodb("),
        "{config}"
    );
    // Fresh names: doctor sets them up as any oms command would, and says so.
    let queue = d.assert_ok("queue");
    assert!(queue.contains("created now"), "{queue}");
    assert!(d.assert_ok("dead-letter queue").contains("redrive policy"));
    let bus = d.assert_ok("bus");
    assert!(
        bus.contains("created now") && bus.contains("lag 0"),
        "{bus}"
    );
    assert!(d.assert_ok("store").contains("created now"));
    let wms = d.assert_ok("warehouse");
    assert!(wms.contains("batch reserve offered"), "{wms}");

    // Run again: everything is there now.
    let d = doctor(&oms, &[]);
    d.assert_all_ok();
    assert!(d.assert_ok("queue").contains("present"));
    assert!(d.assert_ok("bus").contains("topic present, 3 partitions"));
    let store = d.assert_ok("store");
    assert!(
        store.contains("unique (seller_id, order_id) index") && !store.contains("created"),
        "{store}"
    );
    assert!(
        !oms.data.exists(),
        "nothing on all-real backends needs the data dir"
    );
}

#[test]
fn on_real_services_a_closed_mongodb_port_fails_the_store() {
    let Some((oms, _wms, _warehouse)) = real_site() else {
        return;
    };
    let uri = format!("mongodb://oms:s3cr3tpw@127.0.0.1:{}", free_port());
    let d = doctor(&oms, &[("OMS_MONGODB_URI", &uri)]);
    d.assert_exit_failed();
    let (detail, fix) = d.assert_failed("store");
    assert!(fix.contains("OMS_MONGODB_URI"), "{fix}");
    assert!(!detail.contains("s3cr3tpw") && !d.run.stdout.contains("s3cr3tpw"));
    for name in [
        "configuration",
        "queue",
        "dead-letter queue",
        "bus",
        "warehouse",
    ] {
        d.assert_ok(name);
    }
}
