//! Seller-scoped API tokens over real HTTP: `oms token add | ls | rm` keep only hashes
//! and print a token once; `oms serve` lets a token submit and read only for its
//! sellers (403 on a submit for another seller, 404 on a read of another seller's order
//! or job, listings of its sellers only), on the embedded default and on the real
//! services; every bulkorder leaves an audit line and `/metrics` counts refusals by
//! reason; the tokens file is read again on SIGHUP and when it changes, with no
//! restart and no failed request, and a malformed file keeps the last good list.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The operator's `OMS_API_TOKEN` in these tests.
const OPERATOR: &str = "operator-token-5b1e";

/// A machine whose `oms serve` has the operator's token and reads the tokens file
/// `tokens.toml` of its home (not made yet), with an order file of seller 7 and one of
/// seller 8 (both have an order 5000).
fn machine() -> Oms {
    let mut oms = Oms::new();
    let file = oms.home.join("tokens.toml").display().to_string();
    oms.set_env("OMS_API_TOKENS_FILE", file);
    oms.set_env("OMS_API_TOKEN", OPERATOR);
    let header = "order_id,sku_id,quantity,seller_id,hub_id\n";
    oms.write(
        "seller7.csv",
        &format!("{header}7001,15,1,7,1\n5000,7,1,7,1\n"),
    );
    oms.write(
        "seller8.csv",
        &format!("{header}8001,15,1,8,1\n5000,29,1,8,2\n"),
    );
    oms
}

/// `oms token add NAME ARGS`: the token it printed (the only line on stdout).
fn add_token(oms: &Oms, name: &str, args: &[&str]) -> String {
    let mut all = vec!["token", "add", name];
    all.extend_from_slice(args);
    let r = oms.ok(&all);
    let token = r.stdout.trim().to_owned();
    assert!(
        token.starts_with("oms_") && r.stdout.lines().count() == 1,
        "stdout: {}",
        r.stdout
    );
    assert!(
        !r.stderr.contains(&token),
        "the token on stderr: {}",
        r.stderr
    );
    token
}

/// (seller, order id) of a listing answer, in order.
fn keys(v: &Value) -> Vec<(String, String)> {
    v["orders"]
        .as_array()
        .unwrap_or_else(|| panic!("no orders array in {v}"))
        .iter()
        .map(|o| (s(&o["seller_id"]), s(&o["order_id"])))
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// The fields of every JSON log event with this message.
fn events(lines: &[String], message: &str) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == message)
        .map(|v| v["fields"].clone())
        .collect()
}

/// Reads the server's stderr until an event with `message` satisfying `want` comes.
fn wait_event(p: &mut Proc, message: &str, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = p.lines.recv_timeout(left).unwrap_or_else(|e| {
            panic!(
                "no {message:?} event ({e:?}); stderr so far:\n{}",
                p.seen.join("\n")
            )
        });
        p.seen.push(line.clone());
        if let Some(v) = event(&[line], message)
            && want(&v)
        {
            return v;
        }
    }
}

/// `kill -HUP` the server.
fn hangup(server: &ApiServer) {
    let pid = server.proc.child.id().to_string();
    let ok = Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("run kill -HUP");
    assert!(ok.success(), "kill -HUP {pid}");
}

/// Submits and reads as a seller-7 token, a sellers-7-and-8 token and the operator,
/// after the submitted files are ingested; gives the server and the two tokens.
async fn scoped_submits_and_reads(oms: &Oms) -> (ApiServer, String, String) {
    let t7 = add_token(oms, "shop7", &["--seller", "7"]);
    let t78 = add_token(oms, "group78", &["--seller", "7", "--seller", "8"]);
    let server = ApiServer::start(oms).await;

    // Submits: only for the token's sellers, refused before the file is looked at.
    server
        .bulkorder_as(&t7, "8", "storage/seller8.csv")
        .await
        .error(StatusCode::FORBIDDEN, "seller 8");
    server
        .bulkorder_as(&t7, "8", "storage/none.csv")
        .await
        .error(StatusCode::FORBIDDEN, "seller 8");
    assert!(oms.jobs().is_empty(), "a refused submit queued a job");
    let job = |r: Resp| s(&r.status(StatusCode::ACCEPTED).json()["jobId"]);
    let job7 = job(server.bulkorder_as(&t7, "7", "storage/seller7.csv").await);
    let job8 = job(server.bulkorder_as(&t78, "8", "storage/seller8.csv").await);
    let job1 = job(server
        .bulkorder_as(OPERATOR, "1", "storage/orders.csv")
        .await);
    oms.ok(&["ingest", "--drain"]);

    // Listings: the token's sellers only; another seller's filter finds nothing.
    let sevens = pairs(&[("7", "5000"), ("7", "7001")]);
    for q in ["", "?seller=7", "?status=on_hold"] {
        let v = server
            .get_as(&t7, &format!("/api/v1/orders{q}"))
            .await
            .status(StatusCode::OK)
            .json();
        let mut got = keys(&v);
        got.sort();
        assert_eq!(got, sevens, "shop7 lists {q:?}: {v}");
    }
    for q in ["?seller=8", "?seller=1", "?seller=8&status=on_hold"] {
        let v = server
            .get_as(&t7, &format!("/api/v1/orders{q}"))
            .await
            .status(StatusCode::OK)
            .json();
        assert_eq!(keys(&v), vec![], "shop7 lists {q:?}: {v}");
    }

    // One order: another seller's answers exactly as one that does not exist.
    let mine = server
        .get_as(&t7, "/api/v1/orders/5000")
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(
        (s(&mine["seller_id"]), s(&mine["order_id"])),
        ("7".into(), "5000".into())
    );
    let same = |hidden: String, absent: String, ids: [&str; 2]| {
        assert_eq!(
            hidden.replace(ids[0], "ID"),
            absent.replace(ids[1], "ID"),
            "another seller's order or job is told apart from a missing one"
        );
    };
    let hidden = server
        .get_as(&t7, "/api/v1/orders/8001")
        .await
        .error(StatusCode::NOT_FOUND, "no order 8001");
    let absent = server
        .get_as(&t7, "/api/v1/orders/8999")
        .await
        .error(StatusCode::NOT_FOUND, "no order 8999");
    same(hidden, absent, ["8001", "8999"]);
    let hidden = server
        .get_as(&t7, "/api/v1/orders/8001?seller=8")
        .await
        .error(StatusCode::NOT_FOUND, "no order 8001 of seller 8");
    let absent = server
        .get_as(OPERATOR, "/api/v1/orders/8999?seller=8")
        .await
        .error(StatusCode::NOT_FOUND, "no order 8999 of seller 8");
    same(hidden, absent, ["8001", "8999"]);
    server
        .get_as(&t7, "/api/v1/orders/2001")
        .await
        .error(StatusCode::NOT_FOUND, "no order 2001");

    // Jobs: the same.
    server
        .get_as(&t7, &format!("/api/v1/jobs/{job7}"))
        .await
        .status(StatusCode::OK);
    let nobody = "00000000-0000-0000-0000-000000000000";
    let absent = server
        .get_as(&t7, &format!("/api/v1/jobs/{nobody}"))
        .await
        .error(StatusCode::NOT_FOUND, "no job");
    for other in [&job8, &job1] {
        let hidden = server
            .get_as(&t7, &format!("/api/v1/jobs/{other}"))
            .await
            .error(StatusCode::NOT_FOUND, "no job");
        same(hidden, absent.clone(), [other.as_str(), nobody]);
    }

    // Two sellers: one listing of both, in the operator's order, paged the same way.
    let everyone = server
        .get_as(OPERATOR, "/api/v1/orders?limit=1000")
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(keys(&everyone).len(), 10, "{everyone}");
    let want: Vec<(String, String)> = keys(&everyone)
        .into_iter()
        .filter(|(seller, _)| seller == "7" || seller == "8")
        .collect();
    let both = server
        .get_as(&t78, "/api/v1/orders")
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(keys(&both), want, "{both}");
    let mut paged = Vec::new();
    for page in 1..=4u64 {
        let v = server
            .get_as(&t78, &format!("/api/v1/orders?limit=1&page={page}"))
            .await
            .status(StatusCode::OK)
            .json();
        if page < 4 {
            assert_eq!(v["next_page"], page + 1, "{v}");
        } else {
            assert!(v["next_page"].is_null(), "{v}");
        }
        paged.extend(keys(&v));
    }
    assert_eq!(paged, want, "pages of the merged listing");
    server
        .get_as(&t78, "/api/v1/orders/5000")
        .await
        .error(StatusCode::BAD_REQUEST, "several sellers");
    server
        .get_as(&t78, &format!("/api/v1/jobs/{job8}"))
        .await
        .status(StatusCode::OK);

    // No token, or one that is no one's.
    server
        .send(
            Method::POST,
            "/api/v1/orders/bulkorder",
            None,
            Some(
                json!({"sellerID": 7, "filePath": "storage/seller7.csv"})
                    .to_string()
                    .into(),
            ),
        )
        .await
        .unauthorized();
    server
        .bulkorder_as(&format!("{t7}x"), "7", "storage/seller7.csv")
        .await
        .unauthorized();

    let m = server.metrics().await;
    assert_eq!(refusals(&m, "seller_not_allowed"), 2.0, "{m}");
    // ?seller=8, ?seller=1, ?seller=8&status, 8001?seller=8, job8, job1.
    assert_eq!(refusals(&m, "not_visible"), 6.0, "{m}");
    assert_eq!(refusals(&m, "missing_token"), 1.0, "{m}");
    assert_eq!(refusals(&m, "invalid_token"), 1.0, "{m}");
    assert_eq!(refusals(&m, "too_large"), 0.0, "{m}");
    assert_eq!(jobs_of(oms), BTreeSet::from([job1, job7, job8]));
    (server, t7, t78)
}

fn jobs_of(oms: &Oms) -> BTreeSet<String> {
    oms.jobs().iter().map(|j| s(&j["job_id"])).collect()
}

/// 1. On the embedded default: scoped submits and reads, the audit line of every
///    bulkorder (never a token in the log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_token_acts_for_its_sellers_only() {
    let oms = machine();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let (mut server, t7, t78) = scoped_submits_and_reads(&oms).await;
    // A body over the limit is refused and counted too.
    let big = json!({ "sellerID": 7, "filePath": "x".repeat(70 * 1024) }).to_string();
    server
        .send(
            Method::POST,
            "/api/v1/orders/bulkorder",
            Some(&t7),
            Some(big.into()),
        )
        .await
        .status(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(refusals(&server.metrics().await, "too_large"), 1.0);

    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = server.proc.collect().to_vec();
    let accepted = events(&lines, "bulkorder accepted");
    let who: BTreeSet<(String, String, String)> = accepted
        .iter()
        .map(|e| (s(&e["token"]), s(&e["seller"]), s(&e["file"])))
        .collect();
    assert_eq!(
        who,
        BTreeSet::from([
            ("shop7".into(), "7".into(), "storage/seller7.csv".into()),
            ("group78".into(), "8".into(), "storage/seller8.csv".into()),
            (
                "OMS_API_TOKEN".into(),
                "1".into(),
                "storage/orders.csv".into()
            ),
        ]),
        "{accepted:?}"
    );
    for e in &accepted {
        assert!(!s(&e["job_id"]).is_empty(), "{e}");
        assert!(s(&e["client"]).starts_with("127.0.0.1:"), "{e}");
    }
    let refused = events(&lines, "bulkorder refused");
    let why: Vec<(String, String, String)> = refused
        .iter()
        .map(|e| (s(&e["token"]), s(&e["seller"]), s(&e["reason"])))
        .collect();
    assert_eq!(
        why,
        [
            ("shop7", "8", "seller_not_allowed"),
            ("shop7", "8", "seller_not_allowed"),
            ("-", "-", "missing_token"),
            ("-", "-", "invalid_token"),
            ("shop7", "-", "too_large"),
        ]
        .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
        .to_vec(),
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .all(|e| s(&e["client"]).starts_with("127.0.0.1:"))
    );
    for token in [&t7, &t78, &OPERATOR.to_owned()] {
        assert!(
            !lines.iter().any(|l| l.contains(token.as_str())),
            "a token in the server's log"
        );
    }
}

/// 2. The same scoping on the real services (SQS, Kafka, MongoDB, an HTTP warehouse).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_token_acts_for_its_sellers_only_on_real_backends() {
    let Some(services) = RealServices::from_env() else {
        return;
    };
    let w = Oms::new();
    w.ok(&["inventory", "load", "storage/inventory.csv"]);
    let bind = format!("127.0.0.1:{}", free_port());
    let _wms = w.serve_wms(&bind);
    let mut oms = machine();
    oms.visibility_secs = 3;
    services.configure(&mut oms, "tokens", &bind);
    scoped_submits_and_reads(&oms).await;
}

/// 3. `oms token`: the token printed once, only its hash in the file, never shown again;
///    names unique; the file from `[api] tokens_file` or `OMS_API_TOKENS_FILE`.
#[test]
fn token_commands_keep_only_hashes_and_print_the_token_once() {
    let oms = Oms::new();
    let r = oms.run(&["token", "ls"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("OMS_API_TOKENS_FILE"), "{}", r.stderr);

    std::fs::write(
        oms.home.join("oms.toml"),
        "[api]\ntokens_file = \"tokens.toml\"\n",
    )
    .expect("write oms.toml");
    let acme = add_token(&oms, "acme", &["--seller", "7", "--seller", "8"]);
    let ops = add_token(&oms, "ops", &["--all-sellers"]);
    assert_ne!(acme, ops);
    let file = oms.home.join("tokens.toml");
    let text = std::fs::read_to_string(&file).expect("the tokens file");
    for (token, name) in [(&acme, "acme"), (&ops, "ops")] {
        assert!(
            !text.contains(token.as_str()),
            "a token in the file:\n{text}"
        );
        let hash = oms::domain::access::TokenHash::of(token).to_hex();
        assert!(
            text.contains(&hash),
            "{name}'s hash is not in the file:\n{text}"
        );
    }

    let listed = oms.json(&["token", "ls", "--output", "json"]);
    let rows: Vec<(String, Value)> = listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| (s(&t["name"]), t["sellers"].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            ("acme".to_owned(), json!(["7", "8"])),
            ("ops".to_owned(), json!(["*"]))
        ]
    );
    assert!(
        listed[0]["added"]
            .as_str()
            .is_some_and(|a| a.starts_with("20"))
    );
    for format in ["table", "json", "csv"] {
        let out = oms.ok(&["token", "ls", "--output", format]);
        for token in [&acme, &ops] {
            assert!(!out.stdout.contains(token.as_str()) && !out.stderr.contains(token.as_str()));
            let hash = oms::domain::access::TokenHash::of(token).to_hex();
            assert!(
                !out.stdout.contains(&hash),
                "ls shows a hash:\n{}",
                out.stdout
            );
        }
        assert!(out.stdout.contains("acme"), "{}", out.stdout);
    }

    let r = oms.run(&["token", "add", "acme", "--seller", "9"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("exists already"), "{}", r.stderr);
    for bad in [
        &["token", "add", "x", "--seller", "7", "--all-sellers"][..],
        &["token", "add", "x"],
    ] {
        assert_eq!(oms.run(bad).code, 2, "{bad:?}");
    }
    let r = oms.run(&["token", "add", "a b", "--seller", "7"]);
    assert_eq!(r.code, 3, "{}", r.stderr);

    oms.ok(&["token", "rm", "acme"]);
    let listed = oms.json(&["token", "ls", "--output", "json"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let r = oms.run(&["token", "rm", "acme"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("no token is named"), "{}", r.stderr);

    // The environment wins over oms.toml.
    let mut other = Oms::new();
    std::fs::write(
        other.home.join("oms.toml"),
        "[api]\ntokens_file = \"a.toml\"\n",
    )
    .expect("write oms.toml");
    other.set_env(
        "OMS_API_TOKENS_FILE",
        other.home.join("b.toml").display().to_string(),
    );
    add_token(&other, "x", &["-s", "1"]);
    assert!(other.home.join("b.toml").exists() && !other.home.join("a.toml").exists());
}

/// 4. A removed token is refused after SIGHUP: no restart, and not one request of
///    the tokens that stay fails meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_token_is_refused_after_sighup_without_a_restart_or_a_failed_request() {
    let oms = machine();
    let keep = add_token(&oms, "keep", &["--seller", "1"]);
    let gone = add_token(&oms, "gone", &["--seller", "1"]);
    let mut server = ApiServer::start(&oms).await;
    let pid = server.proc.child.id();
    server
        .get_as(&gone, "/api/v1/orders")
        .await
        .status(StatusCode::OK);

    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for i in 0..3 {
        let (http, base, keep, stop) = (
            server.http.clone(),
            server.base.clone(),
            keep.clone(),
            Arc::clone(&stop),
        );
        workers.push(tokio::spawn(async move {
            let (mut answered, mut failed) = (0u32, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let r = if i == 0 {
                    let body = json!({ "sellerID": 1, "filePath": "storage/orders.csv" });
                    http.post(format!("{base}/api/v1/orders/bulkorder"))
                        .bearer_auth(&keep)
                        .body(body.to_string())
                        .send()
                        .await
                } else {
                    http.get(format!("{base}/api/v1/orders?seller=1"))
                        .bearer_auth(&keep)
                        .send()
                        .await
                };
                match r {
                    Ok(r) if r.status().is_success() => answered += 1,
                    Ok(r) => failed.push(r.status().to_string()),
                    Err(e) => failed.push(e.to_string()),
                }
            }
            (answered, failed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    oms.ok(&["token", "rm", "gone"]);
    hangup(&server);
    tokio::task::block_in_place(|| {
        wait_event(&mut server.proc, "API tokens reloaded", |e| {
            e["trigger"] == "SIGHUP" && e["tokens"] == 1
        })
    });
    server.get_as(&gone, "/api/v1/orders").await.unauthorized();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for w in workers {
        let (answered, failed) = w.await.expect("a worker");
        assert!(
            failed.is_empty(),
            "requests failed across the reload: {failed:?}"
        );
        total += answered;
    }
    assert!(total > 10, "only {total} requests answered");
    assert!(server.proc.exited().is_none(), "the server stopped");
    assert_eq!(server.proc.child.id(), pid);
    server
        .get_as(&keep, "/api/v1/orders")
        .await
        .status(StatusCode::OK);
}

/// 5. A changed file is read again without a signal; a malformed one keeps the last
///    good list (and says why), and `oms token` does not overwrite it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_file_is_read_again_and_a_malformed_one_keeps_the_last_good_list() {
    let oms = machine();
    let a = add_token(&oms, "a", &["--seller", "1"]);
    let mut server = ApiServer::start(&oms).await;
    let b = add_token(&oms, "b", &["--seller", "1"]);
    tokio::task::block_in_place(|| {
        wait_event(&mut server.proc, "API tokens reloaded", |e| {
            e["trigger"] == "file changed" && e["tokens"] == 2
        })
    });
    for t in [&a, &b] {
        server
            .get_as(t, "/api/v1/orders")
            .await
            .status(StatusCode::OK);
    }

    let file = oms.home.join("tokens.toml");
    let good = std::fs::read_to_string(&file).expect("the tokens file");
    std::fs::write(&file, format!("{good}\n[[token]\nname = 3\n")).expect("spoil the file");
    let warned = tokio::task::block_in_place(|| {
        wait_event(
            &mut server.proc,
            "API tokens not reloaded: keeping the last good list",
            |_| true,
        )
    });
    assert!(s(&warned["error"]).contains("line"), "{warned}");
    hangup(&server);
    tokio::task::block_in_place(|| {
        wait_event(
            &mut server.proc,
            "API tokens not reloaded: keeping the last good list",
            |e| e["trigger"] == "SIGHUP",
        )
    });
    for t in [&a, &b] {
        server
            .get_as(t, "/api/v1/orders")
            .await
            .status(StatusCode::OK);
    }
    let r = oms.run(&["token", "rm", "b"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("tokens.toml"), "{}", r.stderr);

    std::fs::write(&file, good).expect("restore the file");
    oms.ok(&["token", "rm", "b"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = server.get_as(&b, "/api/v1/orders").await;
        if r.status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "b still accepted: {}", r.short());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
        .get_as(&a, "/api/v1/orders")
        .await
        .status(StatusCode::OK);
    assert!(server.proc.exited().is_none());
}

/// 6. `oms serve` does not start on a tokens file it cannot read (there is no last
///    good list yet); off loopback a tokens file is a token requirement.
#[test]
fn serve_refuses_a_tokens_file_it_cannot_read() {
    let mut oms = machine();
    let bind = format!("127.0.0.1:{}", free_port());
    let r = oms.run(&["serve", "--bind", &bind]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("tokens.toml") && r.stderr.contains("oms token add"),
        "{}",
        r.stderr
    );
    std::fs::write(oms.home.join("tokens.toml"), "[[token]]\nname = \"x\"\n").expect("write");
    let r = oms.run(&["serve", "--bind", &bind]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("sha256"), "{}", r.stderr);

    // Without OMS_API_TOKEN, the tokens file alone guards a non-loopback address.
    std::fs::remove_file(oms.home.join("tokens.toml")).expect("remove");
    oms.env.retain(|(k, _)| k != "OMS_API_TOKEN");
    let token = add_token(&oms, "only", &["--seller", "1"]);
    let port = free_port();
    let mut p = oms.spawn(&["serve", "--bind", &format!("0.0.0.0:{port}")]);
    p.wait_for("serving the bulkorder API");
    block_on(async {
        let http = http_client();
        let url = format!("http://127.0.0.1:{port}/api/v1/orders");
        send(&http, Method::GET, &url, None, None)
            .await
            .unauthorized();
        send(&http, Method::GET, &url, Some(&token), None)
            .await
            .status(StatusCode::OK);
    });
}
