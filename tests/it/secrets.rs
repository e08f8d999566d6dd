//! No secret ever appears in what oms prints or logs.
//!
//! Commands run with secrets configured: a MongoDB URI with a password (unreachable,
//! and, when the test services run, a reachable server that the credentials do not
//! fit), an AWS secret key (for an unreachable SQS endpoint, and moto when it runs), a
//! warehouse URL with a password, a config file holding the MongoDB URI, and
//! `OMS_API_TOKEN` for `oms serve` (requests without a token, with a wrong one and with
//! the right one), a seller-scoped token of the tokens file (`oms token add` prints it
//! once, on stdout, which is therefore not searched; then `oms token ls | rm` and
//! `oms serve` answering it right, wrong and for another seller, with its audit lines),
//! and `OMS_WMS_TOKEN` (`oms wms serve` asked without it, with a wrong one and the
//! right one; doctor, ingest and fulfil sending a wrong one and the right one). Most of them fail (unreachable backends, a bad token, `oms doctor`
//! with ✗s, a bad config value). Each runs with text logs, `--log-format json`,
//! `RUST_LOG=debug` and both; every stdout, stderr and HTTP response body is searched
//! for each secret string, and all the places one shows up are reported together.
//!
//! The real services are optional here (`scripts/services env`): without them only the
//! unreachable cases run (skipped with a note, or failing when
//! `OMS_REQUIRE_SERVICES=1`).

use crate::support::*;
use reqwest::Method;
use std::process::Command;
use std::time::Duration;

/// Everything the runs printed: (what ran, text).
#[derive(Default)]
struct Seen {
    texts: Vec<(String, String)>,
    slowest: Vec<(Duration, String)>,
}

impl Seen {
    fn add(&mut self, what: impl Into<String>, text: impl Into<String>) {
        self.texts.push((what.into(), text.into()));
    }

    /// Runs `c` in every log mode; gives the exit codes.
    fn run_modes(&mut self, oms: &Oms, args: &[&str], extra_env: &[(&str, String)]) -> Vec<i32> {
        let mut codes = Vec::new();
        for (json, debug) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut full: Vec<&str> = Vec::new();
            if json {
                full.extend(["--log-format", "json"]);
            }
            full.extend_from_slice(args);
            let mut c: Command = oms.cmd(&full);
            for (k, v) in extra_env {
                c.env(k, v);
            }
            if debug {
                c.env("RUST_LOG", "debug");
            }
            let what = format!(
                "{}{}",
                if debug { "RUST_LOG=debug " } else { "" },
                described(&c)
            );
            let t = std::time::Instant::now();
            match run_within(c, Duration::from_secs(90)) {
                Ok(r) => {
                    self.slowest.push((t.elapsed(), what.clone()));
                    codes.push(r.code);
                    self.add(format!("{what} (stdout, exit {})", r.code), r.stdout);
                    self.add(format!("{what} (stderr, exit {})", r.code), r.stderr);
                }
                Err(e) => panic!("{e}"),
            }
        }
        codes
    }

    /// `oms serve` with the tokens file (holding `named`) and the operator's token: a
    /// named token right, wrong and for another seller, a bulkorder accepted and one
    /// refused; every answer and the server's log (the audit lines) are kept.
    fn scoped_server(&mut self, oms: &Oms, tokens_file: &str, named: &str, operator: &str) {
        let bind = format!("127.0.0.1:{}", free_port());
        let mut c = oms.cmd(&["--log-format", "json", "serve", "--bind", &bind]);
        c.env("OMS_API_TOKENS_FILE", tokens_file)
            .env("OMS_API_TOKEN", operator)
            .env("RUST_LOG", "debug");
        let what = described(&c);
        let mut server = Proc::spawn(c);
        server.wait_for("serving the bulkorder API");
        let base = format!("http://{bind}");
        let wrong = format!("{named}x");
        let answers = block_on(async {
            let http = http_client();
            let mut out = Vec::new();
            for (token, method, path, body) in [
                (named, Method::GET, "/api/v1/orders", None),
                (&wrong, Method::GET, "/api/v1/orders", None),
                (named, Method::GET, "/api/v1/orders?seller=2", None),
                (
                    named,
                    Method::POST,
                    "/api/v1/orders/bulkorder",
                    Some((1, "storage/orders.csv")),
                ),
                (
                    named,
                    Method::POST,
                    "/api/v1/orders/bulkorder",
                    Some((2, "storage/orders.csv")),
                ),
                (
                    &wrong,
                    Method::POST,
                    "/api/v1/orders/bulkorder",
                    Some((1, "storage/orders.csv")),
                ),
                (
                    named,
                    Method::POST,
                    "/api/v1/orders/bulkorder",
                    Some((1, "storage/none.csv")),
                ),
            ] {
                let body = body.map(|(seller, file)| {
                    serde_json::json!({ "sellerID": seller, "filePath": file })
                        .to_string()
                        .into_bytes()
                });
                let url = format!("{base}{path}");
                out.push(send(&http, method, &url, Some(token), body).await);
            }
            out
        });
        let codes: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
        assert_eq!(codes, [200, 401, 200, 202, 403, 401, 400], "{answers:?}");
        for r in answers {
            self.add(format!("{what}: {} answered {}", r.what, r.status), r.text);
        }
        let (_, lines) = server.terminate();
        assert!(
            lines.iter().any(|l| l.contains("bulkorder accepted")),
            "no audit line"
        );
        self.add(format!("{what} (stderr)"), lines.join("\n"));
    }

    /// `oms wms serve` with `OMS_WMS_TOKEN`, asked with no token, a wrong one and the
    /// right one; then doctor, ingest and fulfil sending a wrong and the right token.
    fn guarded_warehouse(&mut self, oms: &Oms, token: &str) {
        let w = Oms::new();
        w.ok(&["inventory", "load", "storage/inventory.csv"]);
        let bind = format!("127.0.0.1:{}", free_port());
        let mut c = w.cmd(&["--log-format", "json", "wms", "serve", "--bind", &bind]);
        c.env("OMS_WMS_TOKEN", token).env("RUST_LOG", "debug");
        let what = described(&c);
        let mut wms = Proc::spawn(c);
        wms.wait_for("reference warehouse listening");
        let wrong = format!("{token}-wrong");
        let url = format!("http://{bind}/api/v1/orders/validate_order");
        let answers = block_on(async {
            let http = http_client();
            let mut out = Vec::new();
            for t in [None, Some(wrong.as_str()), Some(token)] {
                let body = br#"{"sku_id":"15","hub_id":"1"}"#.to_vec();
                out.push(send(&http, Method::POST, &url, t, Some(body)).await);
            }
            out
        });
        let codes: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
        assert_eq!(codes, [401, 401, 200], "{answers:?}");
        for r in answers {
            self.add(format!("{what}: {} answered {}", r.what, r.status), r.text);
        }
        let url = format!("http://{bind}");
        let with = |t: &str| {
            vec![
                ("OMS_WMS_URL", url.clone()),
                ("OMS_WMS_TIMEOUT_SECS", "2".to_owned()),
                ("OMS_WMS_TOKEN", t.to_owned()),
                ("OMS_QUEUE_MAX_RECEIVES", "1".to_owned()),
            ]
        };
        let codes = self.run_modes(oms, &["doctor"], &with(&wrong));
        assert!(
            codes.iter().all(|&c| c == 4),
            "doctor, wrong token: {codes:?}"
        );
        self.run_modes(oms, &["doctor"], &with(token));
        oms.submit("storage/orders.csv");
        self.run_modes(oms, &["ingest", "--drain"], &with(&wrong));
        oms.ok(&["dlq", "redrive", "--yes"]);
        self.run_modes(oms, &["ingest", "--drain"], &with(token));
        for t in [wrong.as_str(), token] {
            let mut c = oms.cmd(&["--log-format", "json", "fulfil", "--drain"]);
            for (k, v) in with(t) {
                c.env(k, v);
            }
            c.env("RUST_LOG", "debug");
            let what = described(&c);
            let r = run_within(c, Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"));
            self.add(format!("{what} (stdout, exit {})", r.code), r.stdout);
            self.add(format!("{what} (stderr, exit {})", r.code), r.stderr);
        }
        let (_, lines) = wms.terminate();
        self.add(format!("{what} (stderr)"), lines.join("\n"));
    }

    /// Where each secret shows up.
    fn leaks(&self, secrets: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for secret in secrets {
            for (what, text) in &self.texts {
                if let Some(at) = text.find(secret) {
                    let from = text[..at]
                        .char_indices()
                        .rev()
                        .nth(80)
                        .map_or(0, |(i, _)| i);
                    let to = (at + secret.len() + 40).min(text.len());
                    let to = (to..=text.len())
                        .find(|&i| text.is_char_boundary(i))
                        .unwrap_or(text.len());
                    out.push(format!(
                        "{secret:?} in {what}: …{}…",
                        text[from..to].replace('\n', "⏎")
                    ));
                }
            }
        }
        out
    }
}

#[test]
fn no_secret_appears_in_any_output_or_log() {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mongo_pw = format!("MongoPw{id}");
    let aws_secret = format!("AwsSecret{id}");
    let api_token = format!("ApiToken{id}");
    let wms_pw = format!("WmsPw{id}");
    let wms_token = format!("WmsToken{id}");
    let mut secrets = vec![
        mongo_pw.clone(),
        aws_secret.clone(),
        api_token.clone(),
        wms_pw.clone(),
        wms_token.clone(),
    ];
    let mut seen = Seen::default();
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let fast = "serverSelectionTimeoutMS=1500&connectTimeoutMS=1000";

    // 1. MongoDB unreachable, with a password in its URI.
    let mongo_down = format!(
        "mongodb://omsuser:{mongo_pw}@127.0.0.1:{}/?{fast}",
        free_port()
    );
    let env = [("OMS_MONGODB_URI", mongo_down.clone())];
    for args in [
        &["orders", "ls"][..],
        &["jobs", "ls", "--output", "json"],
        &["submit", "storage/orders.csv", "--seller", "1"],
        &["ingest", "--drain"],
        &["doctor"],
        &["doctor", "--output", "json"],
    ] {
        let codes = seen.run_modes(&oms, args, &env);
        assert!(
            codes.iter().all(|&c| c == 4),
            "`oms {}` with MongoDB down exits 4: {codes:?}",
            args.join(" ")
        );
    }
    // A malformed URI holding the password.
    let bad_uri = format!("mongodb://omsuser:{mongo_pw}@127.0.0.1:notaport/?{fast}");
    let codes = seen.run_modes(&oms, &["orders", "ls"], &[("OMS_MONGODB_URI", bad_uri)]);
    assert!(
        codes.iter().all(|&c| c != 0),
        "a malformed URI fails: {codes:?}"
    );
    // The URI in a config file with an invalid value beside it.
    let cfg = oms.home.join("secret-oms.toml");
    std::fs::write(
        &cfg,
        format!("[mongodb]\nuri = \"{mongo_down}\"\n\n[queue]\nmax_receives = \"many\"\n"),
    )
    .expect("write a config file");
    let env = [("OMS_CONFIG", cfg.display().to_string())];
    let codes = seen.run_modes(&oms, &["orders", "ls"], &env);
    assert!(
        codes.iter().all(|&c| c != 0),
        "a bad config fails: {codes:?}"
    );
    let codes = seen.run_modes(&oms, &["doctor"], &env);
    assert!(
        codes.iter().all(|&c| c == 4),
        "doctor with a bad config: {codes:?}"
    );

    // 2. A reachable MongoDB that the credentials do not fit (when the services run).
    if let Some(uri) = service_env("OMS_MONGODB_URI") {
        let host = uri
            .trim_start_matches("mongodb://")
            .split(['/', '?'])
            .next()
            .expect("host:port")
            .to_owned();
        let env = [(
            "OMS_MONGODB_URI",
            format!("mongodb://omsuser:{mongo_pw}@{host}/?authSource=admin&{fast}"),
        )];
        seen.run_modes(&oms, &["orders", "ls"], &env);
        seen.run_modes(&oms, &["doctor"], &env);
    }

    // 3. SQS with a secret key: unreachable, then moto (when it runs).
    let aws = |endpoint: String| {
        vec![
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "AKIAFAULTSUITE".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", aws_secret.clone()),
            ("OMS_SQS_ENDPOINT", endpoint),
            ("OMS_SQS_QUEUE", format!("oms-secrets-{id}")),
        ]
    };
    let down = aws(format!("http://127.0.0.1:{}", free_port()));
    for args in [
        &["submit", "storage/orders.csv", "--seller", "1"][..],
        &["dlq", "ls"],
        &["doctor"],
    ] {
        let codes = seen.run_modes(&oms, args, &down);
        assert!(
            codes.iter().all(|&c| c == 4),
            "`oms {}` with SQS down exits 4: {codes:?}",
            args.join(" ")
        );
    }
    if let Some(endpoint) = service_env("OMS_SQS_ENDPOINT") {
        let up = aws(endpoint);
        seen.run_modes(
            &oms,
            &["submit", "storage/orders.csv", "--seller", "1"],
            &up,
        );
        seen.run_modes(&oms, &["ingest", "--drain"], &up);
        seen.run_modes(&oms, &["dlq", "ls"], &up);
        seen.run_modes(&oms, &["doctor"], &up);
    }

    // 4. A warehouse URL with a password, nobody listening there.
    let env = [
        (
            "OMS_WMS_URL",
            format!("http://wmsuser:{wms_pw}@127.0.0.1:{}", free_port()),
        ),
        ("OMS_WMS_TIMEOUT_SECS", "1".to_owned()),
    ];
    seen.run_modes(&oms, &["doctor"], &env);
    // A file to validate: ingest retries, leaves the message, and dead-letters it after
    // its one receive.
    let mut env = env.to_vec();
    env.push(("OMS_QUEUE_MAX_RECEIVES", "1".to_owned()));
    for _ in 0..4 {
        oms.submit("storage/orders.csv");
    }
    seen.run_modes(&oms, &["ingest", "--drain"], &env);
    // fulfil retries a warehouse that does not answer for as long as it runs (even with
    // --drain): give it a few seconds of that, then SIGTERM.
    for debug in [false, true] {
        let mut c = oms.cmd(&["--log-format", "json", "fulfil", "--drain"]);
        for (k, v) in &env {
            c.env(k, v);
        }
        if debug {
            c.env("RUST_LOG", "debug");
        }
        let what = described(&c);
        let p = Proc::spawn(c);
        std::thread::sleep(Duration::from_secs(4));
        let (_, lines) = p.terminate();
        seen.add(format!("{what} (stderr)"), lines.join("\n"));
    }

    // 5. `oms serve` with a token: no token, a wrong one, the right one.
    for (json, debug) in [(false, false), (true, true)] {
        let bind = format!("127.0.0.1:{}", free_port());
        let mut args = Vec::new();
        if json {
            args.extend(["--log-format", "json"]);
        }
        args.extend(["serve", "--bind", bind.as_str()]);
        let mut c = oms.cmd(&args);
        c.env("OMS_API_TOKEN", &api_token);
        if debug {
            c.env("RUST_LOG", "debug");
        }
        let what = described(&c);
        let mut server = Proc::spawn(c);
        server.wait_for("serving the bulkorder API");
        let base = format!("http://{bind}");
        let bodies = block_on(async {
            let http = reqwest::Client::new();
            let mut out = Vec::new();
            for (auth, path) in [
                (None, "/api/v1/orders"),
                (Some("Bearer wrong-token"), "/api/v1/orders"),
                (
                    Some(format!("Bearer {api_token}x").as_str()),
                    "/api/v1/orders",
                ),
                (
                    Some(format!("Bearer {api_token}").as_str()),
                    "/api/v1/orders",
                ),
                (
                    Some(format!("Basic {api_token}").as_str()),
                    "/api/v1/jobs/nope",
                ),
                (None, "/metrics"),
                (None, "/ready"),
            ] {
                let mut req = http.get(format!("{base}{path}"));
                if let Some(a) = auth {
                    req = req.header("Authorization", a);
                }
                let r = req.send().await.expect("a response");
                let status = r.status().as_u16();
                out.push((
                    auth.map(str::to_owned),
                    path,
                    status,
                    r.text().await.unwrap_or_default(),
                ));
            }
            let r = http
                .post(format!("{base}/api/v1/orders/bulkorder"))
                .header("Authorization", "Bearer wrong-token")
                .body(r#"{"sellerID":1,"filePath":"storage/orders.csv"}"#)
                .send()
                .await
                .expect("a response");
            out.push((
                Some("wrong".into()),
                "bulkorder",
                r.status().as_u16(),
                r.text().await.unwrap_or_default(),
            ));
            out
        });
        for (auth, path, status, body) in &bodies {
            let right = auth
                .as_deref()
                .is_some_and(|a| a == format!("Bearer {api_token}"));
            if path.starts_with("/api") || *path == "bulkorder" {
                assert_eq!(
                    *status == 401,
                    !right,
                    "{path} with {:?}: {status}",
                    auth.as_deref().map(|a| a.replace(&api_token, "TOKEN"))
                );
            }
            seen.add(format!("{what}: response {status} to {path}"), body.clone());
        }
        let (_, lines) = server.terminate();
        seen.add(format!("{what} (stderr)"), lines.join("\n"));
    }

    // 6. Seller-scoped API tokens and the warehouse's token. `oms token add` prints its
    //    token on stdout (once: that is what it is for), so only its stderr is searched.
    let tokens_file = oms.home.join("secret-tokens.toml").display().to_string();
    let named = {
        let mut c = oms.cmd(&["--log-format", "json", "token", "add", "scoped", "-s", "1"]);
        c.env("OMS_API_TOKENS_FILE", &tokens_file)
            .env("RUST_LOG", "debug");
        let r = run_cmd(c).ok();
        seen.add("oms token add (stderr)", r.stderr);
        r.stdout.trim().to_owned()
    };
    assert!(named.starts_with("oms_"), "{named}");
    let file_env = [("OMS_API_TOKENS_FILE", tokens_file.clone())];
    seen.run_modes(&oms, &["token", "ls"], &file_env);
    seen.run_modes(&oms, &["token", "ls", "--output", "json"], &file_env);
    seen.run_modes(&oms, &["token", "rm", "nobody"], &file_env);
    seen.add(
        "the tokens file",
        std::fs::read_to_string(&tokens_file).expect("tokens file"),
    );
    seen.scoped_server(&oms, &tokens_file, &named, &api_token);
    seen.guarded_warehouse(&oms, &wms_token);

    seen.slowest.sort();
    for (took, what) in seen.slowest.iter().rev().take(5) {
        eprintln!("secrets: {:.1}s {what}", took.as_secs_f64());
    }
    secrets.push(named);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let leaks = seen.leaks(&secrets);
    eprintln!(
        "secrets: {} outputs of {} runs searched for {} secrets: {} leak(s)",
        seen.texts.len(),
        seen.texts.len() / 2,
        secrets.len(),
        leaks.len()
    );
    assert!(
        leaks.is_empty(),
        "secrets in the output:\n{}",
        leaks.join("\n")
    );
}
