//! The `oms serve` API over real HTTP: the built binary runs as a server process on a
//! free loopback port, from a temporary working directory holding a data dir and a
//! storage root (the sample files of `storage/` are copied in), on the embedded
//! default with the caller's `OMS_*` settings stripped. Each test starts its own server
//! and kills it when it ends (pass or fail). The CLI steps of a flow (`inventory load`,
//! `ingest --drain`, `fulfil --drain`) run against the same data dir. The process and
//! server harness is in `crate::support` ([`ApiServer`]); the seller-scoped tokens are
//! `crate::api_tokens`'s.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fs;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------
// Helpers (the server harness is `crate::support::ApiServer`)
// ---------------------------------------------------------------------------------

/// The fulfil group's consumer lag (whatever the group is called).
fn lag(metrics: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with("oms_consumer_lag{group="))
        .and_then(|l| l.rsplit_once(' '))
        .map(|(_, v)| v.parse().expect("a numeric lag"))
        .unwrap_or_else(|| panic!("/metrics has no consumer lag:\n{metrics}"))
}

/// Ids of a listing answer, in order.
fn order_ids(v: &Value) -> Vec<String> {
    v["orders"]
        .as_array()
        .unwrap_or_else(|| panic!("no orders array in {v}"))
        .iter()
        .map(|o| s(&o["order_id"]))
        .collect()
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

/// 1. The original service's example request, then the flow through the CLI, read
///    back over the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_example_is_queued_processed_and_readable() {
    let oms = Oms::new();
    let server = ApiServer::start(&oms).await;

    let r = server
        .post(
            "/api/v1/orders/bulkorder",
            r#"{"sellerID":1,"filePath":"storage/orders.csv"}"#,
        )
        .await
        .status(StatusCode::ACCEPTED);
    let v = r.json();
    assert_eq!(v["status"], "queued", "{v}");
    assert_eq!(
        v.as_object().map(|o| o.len()),
        Some(2),
        "only jobId and status: {v}"
    );
    let job_id = s(&v["jobId"]);
    assert!(!job_id.is_empty());

    let job = server
        .get(&format!("/api/v1/jobs/{job_id}"))
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(job["state"], "queued", "{job}");
    assert_eq!(job["seller_id"], "1", "{job}");

    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    oms.ok(&["ingest", "--drain"]);
    oms.ok(&["fulfil", "--drain"]);

    // The job, with every reject and its row.
    let job = server
        .get(&format!("/api/v1/jobs/{job_id}"))
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(job["job_id"], job_id.as_str());
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["orders_accepted"], 6, "{job}");
    assert_eq!(job["orders_rejected"], 6, "{job}");
    let rejects = job["rejects"].as_array().expect("rejects");
    let rows: BTreeSet<u64> = rejects.iter().map(|r| n(&r["row"])).collect();
    assert_eq!(
        rows,
        [10, 11, 12, 13, 14, 16, 17].into(),
        "reject rows: {rejects:?}"
    );
    assert!(
        rejects
            .iter()
            .any(|r| r["order_id"] == "2007" && r["row"] == 11 && r["column"] == "seller_id"),
        "{rejects:?}"
    );

    // Filtering by status.
    let held = server
        .get("/api/v1/orders?status=on_hold")
        .await
        .status(StatusCode::OK)
        .json();
    let mut ids = order_ids(&held);
    ids.sort();
    assert_eq!(ids, ["2003", "2004", "2005"], "{held}");
    for o in held["orders"].as_array().expect("orders") {
        assert_eq!(o["status"], "on_hold");
        assert_eq!(o["reason"], "insufficient_inventory", "{o}");
    }
    let fresh = server
        .get("/api/v1/orders?status=new_order")
        .await
        .status(StatusCode::OK)
        .json();
    let mut ids = order_ids(&fresh);
    ids.sort();
    assert_eq!(ids, ["2001", "2002", "2011"], "{fresh}");

    // Paging: three pages of two, each pointing at the next; together every order once.
    let mut seen = Vec::new();
    for page in 1..=3u64 {
        let v = server
            .get(&format!("/api/v1/orders?limit=2&page={page}"))
            .await
            .status(StatusCode::OK)
            .json();
        assert_eq!((n(&v["page"]), n(&v["limit"])), (page, 2), "{v}");
        let ids = order_ids(&v);
        assert_eq!(ids.len(), 2, "page {page}: {v}");
        if page < 3 {
            assert_eq!(v["next_page"], page + 1, "page {page}: {v}");
        } else {
            assert!(v["next_page"].is_null(), "the last page has no next: {v}");
        }
        seen.extend(ids);
    }
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 6, "pages overlap: {seen:?}");
    let past = server
        .get("/api/v1/orders?limit=2&page=4")
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(order_ids(&past).len(), 0, "{past}");
    assert!(past["next_page"].is_null(), "{past}");

    // One order, with its items and history.
    let o = server
        .get("/api/v1/orders/2004")
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(
        (&o["order_id"], &o["seller_id"]),
        (&json!("2004"), &json!("1")),
        "{o}"
    );
    assert_eq!(o["status"], "on_hold");
    assert_eq!(o["job_id"], job_id.as_str());
    let items: BTreeSet<(String, String, i64)> = o["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                s(&i["hub_id"]),
                s(&i["sku_id"]),
                i["quantity"].as_i64().expect("quantity"),
            )
        })
        .collect();
    assert_eq!(
        items,
        [("2".into(), "15".into(), 2), ("3".into(), "8".into(), 5)].into(),
        "{o}"
    );
    let history = o["history"].as_array().expect("a history");
    assert!(!history.is_empty(), "{o}");
    assert!(
        history
            .iter()
            .any(|h| h["reason"] == "insufficient_inventory"),
        "the history records why it is held: {o}"
    );
    let same = server
        .get("/api/v1/orders/2004?seller=1")
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(same, o);

    // Unknown things and bad queries.
    server
        .get("/api/v1/orders/9999")
        .await
        .error(StatusCode::NOT_FOUND, "9999");
    server
        .get("/api/v1/jobs/00000000-0000-0000-0000-000000000000")
        .await
        .error(StatusCode::NOT_FOUND, "no job");
    server
        .get("/api/v1/orders?status=shipped")
        .await
        .error(StatusCode::BAD_REQUEST, "shipped");
    server
        .get("/api/v1/orders?limit=0")
        .await
        .error(StatusCode::BAD_REQUEST, "limit");
    server
        .get("/api/v1/orders?limit=1001")
        .await
        .error(StatusCode::BAD_REQUEST, "limit");
    server
        .get("/api/v1/orders?page=0")
        .await
        .error(StatusCode::BAD_REQUEST, "page");
    server
        .get("/api/v1/orders?page=two")
        .await
        .error(StatusCode::BAD_REQUEST, "page");
    server
        .get("/api/v1/orders?colour=red")
        .await
        .error(StatusCode::BAD_REQUEST, "colour");
    // A page past any offset the store can take is a bad request, not a store failure.
    server
        .get("/api/v1/orders?page=18446744073709551615")
        .await
        .error(StatusCode::BAD_REQUEST, "page");
    server
        .get("/api/v1/orders?page=9223372036854775807&limit=1000")
        .await
        .error(StatusCode::BAD_REQUEST, "page");
    let far = server
        .get("/api/v1/orders?page=9223372036854775807&limit=1")
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(order_ids(&far).len(), 0, "{far}");
    // An id that is not UTF-8 once decoded: a JSON 400 like every other error.
    server
        .get("/api/v1/orders/%FF")
        .await
        .error(StatusCode::BAD_REQUEST, "UTF-8");
    server
        .get("/api/v1/jobs/%FF")
        .await
        .error(StatusCode::BAD_REQUEST, "UTF-8");

    // sellerID as a string works too (queued, not processed here).
    let v = server
        .bulkorder(&json!({ "sellerID": "1", "filePath": "storage/orders.csv" }))
        .await
        .status(StatusCode::ACCEPTED)
        .json();
    assert_eq!(v["status"], "queued");
    let second = s(&v["jobId"]);
    assert_ne!(second, job_id);
    let job = server
        .get(&format!("/api/v1/jobs/{second}"))
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(
        (&job["state"], &job["seller_id"]),
        (&json!("queued"), &json!("1")),
        "{job}"
    );
}

/// 2. Every bad request is a 400 (or 413) naming the problem, and queues nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_bulkorder_is_a_named_4xx_and_queues_nothing() {
    let oms = Oms::new();
    // A readable orders file outside the root, and a link to it inside.
    fs::copy(oms.root.join("orders.csv"), oms.home.join("secret.csv")).expect("copy");
    std::os::unix::fs::symlink(oms.home.join("secret.csv"), oms.root.join("link.csv"))
        .expect("symlink");
    fs::create_dir(oms.root.join("sub.csv")).expect("a directory");
    oms.write(
        "no-hub.csv",
        "order_id,sku_id,quantity,seller_id\n1,15,1,1\n",
    );
    let server = ApiServer::start(&oms).await;

    let path = |p: &str| json!({ "sellerID": 1, "filePath": p }).to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "bad JSON",
            r#"{"sellerID":1,"filePath":"#.into(),
            "not a bulk order request",
        ),
        ("not an object", "[1,2]".into(), "not a bulk order request"),
        ("empty body", String::new(), "not a bulk order request"),
        (
            "missing sellerID",
            r#"{"filePath":"storage/orders.csv"}"#.into(),
            "sellerID",
        ),
        ("missing filePath", r#"{"sellerID":1}"#.into(), "filePath"),
        (
            "empty filePath",
            r#"{"sellerID":1,"filePath":"  "}"#.into(),
            "filePath",
        ),
        (
            "sellerID true",
            r#"{"sellerID":true,"filePath":"storage/orders.csv"}"#.into(),
            "sellerID",
        ),
        (
            "sellerID -1",
            r#"{"sellerID":-1,"filePath":"storage/orders.csv"}"#.into(),
            "negative",
        ),
        (
            "sellerID 1.5",
            r#"{"sellerID":1.5,"filePath":"storage/orders.csv"}"#.into(),
            "sellerID",
        ),
        (
            "sellerID empty",
            r#"{"sellerID":" ","filePath":"storage/orders.csv"}"#.into(),
            "sellerID",
        ),
        (
            "../ out of the root",
            path("../secret.csv"),
            "outside the storage root",
        ),
        (
            "storage/../ out of the root",
            path("storage/../secret.csv"),
            "outside the storage root",
        ),
        (
            "absolute path elsewhere",
            path("/etc/passwd"),
            "outside the storage root",
        ),
        (
            "symlink pointing out",
            path("storage/link.csv"),
            "outside the storage root",
        ),
        ("a directory", path("storage/sub.csv"), "not a regular file"),
        ("the root itself", path("storage"), "not a regular file"),
        (
            "header missing a column",
            path("storage/no-hub.csv"),
            "hub_id",
        ),
        ("no such file", path("storage/nope.csv"), "no such file"),
        (
            "URL-encoded traversal",
            path("%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
            "no such file",
        ),
        (
            "URL-encoded in the root",
            path("storage%2f..%2fsecret.csv"),
            "no such file",
        ),
        ("NUL", path("storage/orders.csv\u{0}.txt"), "NUL"),
        (
            "S3 not configured",
            path("s3://orders/in/a.csv"),
            "OMS_S3_ALLOW",
        ),
    ];
    for (what, body, says) in &cases {
        let r = server.post("/api/v1/orders/bulkorder", body.clone()).await;
        assert!(
            !r.status.is_server_error(),
            "{what}: a 5xx ({}): {}",
            r.status,
            r.short()
        );
        r.error(StatusCode::BAD_REQUEST, says);
    }

    // Over 64 KiB: 413, still a JSON error.
    let big = json!({ "sellerID": 1, "filePath": "x".repeat(70 * 1024) }).to_string();
    let r = server.post("/api/v1/orders/bulkorder", big).await;
    r.error(StatusCode::PAYLOAD_TOO_LARGE, "limit");
    let big = format!(
        r#"{{"sellerID":1,"filePath":"storage/orders.csv","pad":"{}"}}"#,
        " ".repeat(65 * 1024)
    );
    server
        .post("/api/v1/orders/bulkorder", big)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "limit");

    // Nothing was recorded or queued.
    let jobs = oms.json(&["jobs", "ls", "--output", "json"]);
    assert_eq!(jobs, json!([]), "no job recorded");
    let m = server.metrics().await;
    assert_eq!(
        the_sample(&m, r#"oms_queue_messages{state="visible"}"#),
        0.0,
        "{m}"
    );
    assert_eq!(
        the_sample(&m, r#"oms_queue_messages{state="in_flight"}"#),
        0.0,
        "{m}"
    );
    for l in m
        .lines()
        .filter(|l| l.starts_with("oms_http_requests_total"))
    {
        assert!(!l.contains("code=\"5"), "a 5xx was answered: {l}");
    }
    let n400 = the_sample(
        &m,
        r#"oms_http_requests_total{route="/api/v1/orders/bulkorder",code="400"}"#,
    );
    assert_eq!(n400, cases.len() as f64, "{m}");

    // The server still takes a good request afterwards.
    server
        .bulkorder(&json!({ "sellerID": 1, "filePath": "storage/orders.csv" }))
        .await
        .status(StatusCode::ACCEPTED);
}

/// 3. With OMS_API_TOKEN every /api route needs the bearer token; the operational
///    routes do not. Without it /api is open on loopback; a non-loopback bind without
///    a token is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_guards_api_routes_and_non_loopback_needs_one() {
    let mut oms = Oms::new();
    oms.set_env("OMS_API_TOKEN", "s3cret");
    let server = ApiServer::start(&oms).await;
    let body = json!({ "sellerID": 1, "filePath": "storage/orders.csv" }).to_string();
    let bulk = "/api/v1/orders/bulkorder";

    for (token, what) in [
        (None, "no token"),
        (Some("wrong"), "a wrong token"),
        (Some("s3cre"), "a prefix"),
        (Some(""), "empty"),
    ] {
        let r = server
            .send(Method::POST, bulk, token, Some(body.clone().into_bytes()))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
        r.error(StatusCode::UNAUTHORIZED, "bearer token");
    }
    // Not a bearer scheme at all.
    let r = server
        .http
        .post(server.url(bulk))
        .header("Authorization", "Basic czNjcmV0")
        .body(body.clone())
        .send()
        .await
        .expect("a response");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );

    let v = server
        .send(
            Method::POST,
            bulk,
            Some("s3cret"),
            Some(body.clone().into_bytes()),
        )
        .await
        .status(StatusCode::ACCEPTED)
        .json();
    let job_id = s(&v["jobId"]);

    for p in [
        "/api/v1/orders",
        "/api/v1/orders/2001",
        &format!("/api/v1/jobs/{job_id}"),
    ] {
        server
            .get(p)
            .await
            .error(StatusCode::UNAUTHORIZED, "bearer token");
        server
            .send(Method::GET, p, Some("nope"), None)
            .await
            .status(StatusCode::UNAUTHORIZED);
    }
    server
        .send(Method::GET, "/api/v1/orders", Some("s3cret"), None)
        .await
        .status(StatusCode::OK);
    let job = server
        .send(
            Method::GET,
            &format!("/api/v1/jobs/{job_id}"),
            Some("s3cret"),
            None,
        )
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(job["state"], "queued");
    // Exactly one job: the refused requests queued nothing.
    assert_eq!(oms.jobs().len(), 1);

    for p in ["/health", "/ready", "/metrics", "/openapi.json"] {
        server.get(p).await.status(StatusCode::OK);
    }
    drop(server);

    // No token: /api needs no header.
    let open = Oms::new();
    let server = ApiServer::start(&open).await;
    server
        .bulkorder(&json!({ "sellerID": 1, "filePath": "storage/orders.csv" }))
        .await
        .status(StatusCode::ACCEPTED);
    server.get("/api/v1/orders").await.status(StatusCode::OK);
    // A header sent anyway is ignored.
    server
        .send(Method::GET, "/api/v1/orders", Some("whatever"), None)
        .await
        .status(StatusCode::OK);
    drop(server);

    // A non-loopback bind without a token: refused before listening.
    let port = free_port();
    let started = Instant::now();
    let r = open.run(&["serve", "--bind", &format!("0.0.0.0:{port}")]);
    assert_eq!(r.code, 3, "exit code; stderr: {}", r.stderr);
    assert!(
        r.stderr.contains("OMS_API_TOKEN"),
        "the refusal names OMS_API_TOKEN: {}",
        r.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on {port}"
    );
    // An empty token is no token.
    let mut blank = Oms::new();
    blank.set_env("OMS_API_TOKEN", " ");
    let r = blank.run(&["serve", "--bind", &format!("127.0.0.1:{port}")]);
    assert_eq!(r.code, 3, "exit code; stderr: {}", r.stderr);
    assert!(r.stderr.contains("OMS_API_TOKEN"), "{}", r.stderr);
}

/// 4. The served OpenAPI document is the repository's, and names exactly the routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_routes() {
    let oms = Oms::new();
    let server = ApiServer::start(&oms).await;

    let r = server.get("/openapi.json").await.status(StatusCode::OK);
    assert!(
        r.content_type.starts_with("application/json"),
        "{:?}",
        r.content_type
    );
    let served = r.json();
    let file: Value = serde_json::from_str(
        &fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"))
            .expect("openapi.json"),
    )
    .expect("the repository's openapi.json is JSON");
    assert_eq!(served, file, "the served document is the repository's");
    assert!(
        served["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with('3')),
        "{}",
        served["openapi"]
    );

    let paths = served["paths"].as_object().expect("paths");
    let mut tried = 0;
    for (path, item) in paths {
        let concrete: String = {
            let mut out = String::new();
            let mut inside = false;
            for c in path.chars() {
                match c {
                    '{' => {
                        inside = true;
                        out.push('x');
                    }
                    '}' => inside = false,
                    _ if inside => {}
                    _ => out.push(c),
                }
            }
            out
        };
        for (method, _) in item.as_object().expect("a path item") {
            let Ok(m) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].contains(&m.as_str()) {
                continue;
            }
            let body = (m == Method::POST).then(|| b"{}".to_vec());
            let r = server.send(m.clone(), &concrete, None, body).await;
            assert!(
                !r.is_no_such_route(),
                "{m} {concrete} (documented as {path}) is not routed: {} {}",
                r.status,
                r.short()
            );
            assert!(
                !r.status.is_server_error(),
                "{m} {concrete}: {} {}",
                r.status,
                r.short()
            );
            tried += 1;
        }
    }
    assert_eq!(tried, 8, "every documented operation was tried");

    for p in [
        "/api/v1/nope",
        "/api/v2/orders",
        "/api/v1/orders/x/y",
        "/healthz",
        "/",
    ] {
        assert!(!paths.contains_key(p));
        let r = server.get(p).await;
        assert!(r.is_no_such_route(), "GET {p}: {} {}", r.status, r.short());
    }
    let r = server.post("/api/v1/bulkorder", "{}").await;
    assert!(
        r.is_no_such_route(),
        "POST /api/v1/bulkorder: {} {}",
        r.status,
        r.short()
    );
}

/// 5. /ready checks every backend; /metrics counts requests, jobs and orders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_and_metrics_report_what_happened() {
    let oms = Oms::new();
    let server = ApiServer::start(&oms).await;

    let v = server.get("/ready").await.status(StatusCode::OK).json();
    assert_eq!(v["ready"], true, "{v}");
    let checks = v["checks"].as_object().expect("checks");
    let names: BTreeSet<&str> = checks.keys().map(String::as_str).collect();
    assert_eq!(names, ["bus", "queue", "store", "wms"].into(), "{v}");
    for (name, c) in checks {
        assert_eq!(c, "ok", "check {name}: {v}");
    }
    assert_eq!(
        server.get("/health").await.status(StatusCode::OK).json(),
        json!({"status": "ok"})
    );

    // Known requests: /health answered by start() at least once, then these.
    let before = server.metrics().await;
    let health_before = the_sample(
        &before,
        r#"oms_http_requests_total{route="/health",code="200"}"#,
    );
    for _ in 0..3 {
        server.get("/health").await.status(StatusCode::OK);
    }
    server
        .get("/no/such/thing")
        .await
        .status(StatusCode::NOT_FOUND);
    server
        .get("/api/v1/orders?limit=0")
        .await
        .status(StatusCode::BAD_REQUEST);
    server
        .get("/api/v1/orders/77")
        .await
        .status(StatusCode::NOT_FOUND);
    server
        .get("/api/v1/orders/78")
        .await
        .status(StatusCode::NOT_FOUND);

    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    server
        .bulkorder(&json!({ "sellerID": 1, "filePath": "storage/orders.csv" }))
        .await
        .status(StatusCode::ACCEPTED);
    let m = server.metrics().await;
    assert!(m.contains("# TYPE oms_http_requests_total counter"), "{m}");
    assert_eq!(
        the_sample(&m, r#"oms_http_requests_total{route="/health",code="200"}"#),
        health_before + 3.0,
        "{m}"
    );
    assert_eq!(
        the_sample(&m, r#"oms_http_requests_total{route="/ready",code="200"}"#),
        1.0,
        "{m}"
    );
    assert_eq!(
        the_sample(
            &m,
            r#"oms_http_requests_total{route="unmatched",code="404"}"#
        ),
        1.0,
        "{m}"
    );
    assert_eq!(
        the_sample(
            &m,
            r#"oms_http_requests_total{route="/api/v1/orders",code="400"}"#
        ),
        1.0,
        "{m}"
    );
    assert_eq!(
        the_sample(
            &m,
            r#"oms_http_requests_total{route="/api/v1/orders/{order_id}",code="404"}"#
        ),
        2.0,
        "requests are counted by route, not by path: {m}"
    );
    assert_eq!(
        the_sample(
            &m,
            r#"oms_http_requests_total{route="/api/v1/orders/bulkorder",code="202"}"#
        ),
        1.0,
        "{m}"
    );
    assert_eq!(
        the_sample(
            &m,
            r#"oms_http_requests_total{route="/metrics",code="200"}"#
        ),
        1.0,
        "{m}"
    );
    assert_eq!(the_sample(&m, r#"oms_jobs{state="queued"}"#), 1.0, "{m}");
    assert_eq!(
        the_sample(&m, r#"oms_queue_messages{state="visible"}"#),
        1.0,
        "{m}"
    );

    oms.ok(&["ingest", "--drain"]);
    let m = server.metrics().await;
    assert_eq!(the_sample(&m, r#"oms_jobs{state="done"}"#), 1.0, "{m}");
    assert_eq!(
        sample(&m, r#"oms_jobs{state="queued"}"#).unwrap_or(0.0),
        0.0,
        "{m}"
    );
    assert_eq!(
        the_sample(&m, r#"oms_orders{status="on_hold"}"#),
        6.0,
        "stored, not yet fulfilled: {m}"
    );
    assert_eq!(
        the_sample(&m, r#"oms_queue_messages{state="visible"}"#),
        0.0,
        "{m}"
    );
    assert_eq!(lag(&m), 6.0, "six events, none consumed yet: {m}");

    oms.ok(&["fulfil", "--drain"]);
    let m = server.metrics().await;
    assert_eq!(
        the_sample(&m, r#"oms_orders{status="new_order"}"#),
        3.0,
        "{m}"
    );
    assert_eq!(
        the_sample(&m, r#"oms_orders{status="on_hold"}"#),
        3.0,
        "{m}"
    );
    assert_eq!(lag(&m), 0.0, "every event committed: {m}");
}

/// 6. SIGTERM while idle: a clean, quick exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_idle_exits_0_promptly() {
    let oms = Oms::new();
    let server = ApiServer::start(&oms).await;
    server.get("/health").await.status(StatusCode::OK);
    // The client keeps its idle keep-alive connection open across the SIGTERM.
    let ApiServer {
        mut proc,
        base,
        http,
    } = server;
    proc.sigterm();
    let started = Instant::now();
    let status = wait_timeout(&mut proc.child, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("`oms serve` did not exit within 5 s of SIGTERM"));
    assert_eq!(
        status.code(),
        Some(0),
        "exit status; stderr:\n{}",
        proc.collect().join("\n")
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let gone = http.get(format!("{base}/health")).send().await;
    assert!(gone.is_err(), "nothing answers after the exit");
}
