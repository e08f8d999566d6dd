//! HTTP servers under test and a client's view of them: a running `oms serve`
//! ([`ApiServer`], JSON logs, on a free loopback port, ready to answer), requests with
//! or without a bearer token, answers as a client sees them ([`Resp`]), and the samples
//! of Prometheus text.

use super::{Oms, Proc, free_port};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The fallback answer of the API's router for a path it does not know.
pub const NO_SUCH_ROUTE: &str = "no such route";

/// An HTTP client for the tests (30 s per request).
pub fn http_client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// A running `oms serve`; killed when dropped.
pub struct ApiServer {
    pub proc: Proc,
    pub base: String,
    pub http: Client,
}

impl ApiServer {
    /// `oms --log-format json serve --bind 127.0.0.1:<free port>` on `oms`'s data dir,
    /// ready to answer.
    pub async fn start(oms: &Oms) -> Self {
        let bind = format!("127.0.0.1:{}", free_port());
        let proc = oms.spawn(&["--log-format", "json", "serve", "--bind", &bind]);
        let mut s = Self {
            proc,
            base: format!("http://{bind}"),
            http: http_client(),
        };
        s.wait_healthy().await;
        s
    }

    async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.proc.exited() {
                let stderr = self.proc.collect().join("\n");
                panic!(
                    "`{}` exited ({status}) before answering /health; stderr:\n{stderr}",
                    self.proc.what
                );
            }
            if let Ok(r) = self.http.get(self.url("/health")).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            if Instant::now() > deadline {
                let stderr = self.proc.collect().join("\n");
                panic!(
                    "`{}` did not answer /health within 30 s; stderr:\n{stderr}",
                    self.proc.what
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `method path`, with `Authorization: Bearer TOKEN` when there is a token.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        send(&self.http, method, &self.url(path), token, body).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None, None).await
    }

    /// `GET path` with a bearer token.
    pub async fn get_as(&self, token: &str, path: &str) -> Resp {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, body: impl Into<Vec<u8>>) -> Resp {
        self.send(Method::POST, path, None, Some(body.into())).await
    }

    pub async fn bulkorder(&self, body: &Value) -> Resp {
        self.post("/api/v1/orders/bulkorder", body.to_string())
            .await
    }

    /// The bulkorder of `file` for `seller`, with a bearer token.
    pub async fn bulkorder_as(&self, token: &str, seller: &str, file: &str) -> Resp {
        let body = json!({ "sellerID": seller, "filePath": file }).to_string();
        self.send(
            Method::POST,
            "/api/v1/orders/bulkorder",
            Some(token),
            Some(body.into_bytes()),
        )
        .await
    }

    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> String {
        let r = self.get("/metrics").await.status(StatusCode::OK);
        assert!(
            r.content_type.starts_with("text/plain"),
            "/metrics is Prometheus text, not {:?}",
            r.content_type
        );
        r.text
    }
}

/// `method url` with `client`, with `Authorization: Bearer TOKEN` when there is a token
/// and a JSON body when there is one.
pub async fn send(
    client: &Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> Resp {
    let mut rq = client.request(method.clone(), url);
    if let Some(t) = token {
        rq = rq.header("Authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        rq = rq.header("Content-Type", "application/json").body(b);
    }
    let r = rq
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = r.status();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let content_type = header("content-type");
    let www_authenticate = header("www-authenticate");
    let text = r.text().await.expect("a response body");
    let path = url.splitn(4, '/').nth(3).unwrap_or("");
    Resp {
        what: format!("{method} /{path}"),
        status,
        content_type,
        www_authenticate,
        text,
    }
}

/// A response as a client sees it.
#[derive(Debug)]
pub struct Resp {
    pub what: String,
    pub status: StatusCode,
    pub content_type: String,
    pub www_authenticate: String,
    pub text: String,
}

impl Resp {
    pub fn status(self, want: StatusCode) -> Self {
        assert_eq!(self.status, want, "{} answered {}", self.what, self.short());
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{} did not answer JSON ({e}): {}", self.what, self.short()))
    }

    /// The `error` of a JSON error answer with this status; it must mention `says`.
    pub fn error(self, want: StatusCode, says: &str) -> String {
        let r = self.status(want);
        assert!(
            r.content_type.starts_with("application/json"),
            "{}: an error is JSON, not {:?}",
            r.what,
            r.content_type
        );
        let v = r.json();
        let e = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no \"error\" string in {v}", r.what))
            .to_owned();
        assert!(
            e.to_lowercase().contains(&says.to_lowercase()),
            "{}: the error {e:?} should name {says:?}",
            r.what
        );
        e
    }

    /// A 401 asking for a bearer token (`WWW-Authenticate: Bearer`, a JSON error).
    pub fn unauthorized(self) {
        assert_eq!(self.www_authenticate, "Bearer", "{}", self.what);
        self.error(StatusCode::UNAUTHORIZED, "bearer token");
    }

    /// The body, cut short for a failure message.
    pub fn short(&self) -> String {
        if self.text.chars().count() > 400 {
            format!(
                "{}... ({} bytes)",
                self.text.chars().take(400).collect::<String>(),
                self.text.len()
            )
        } else {
            self.text.clone()
        }
    }

    pub fn is_no_such_route(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
            && serde_json::from_str::<Value>(&self.text).ok()
                == Some(json!({ "error": NO_SUCH_ROUTE }))
    }
}

/// The value of one Prometheus sample line (`name{labels} value`), if present.
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().expect("a numeric sample"))
    })
}

/// The value of one Prometheus sample line, which must be present.
pub fn the_sample(metrics: &str, series: &str) -> f64 {
    sample(metrics, series).unwrap_or_else(|| panic!("/metrics has no {series}:\n{metrics}"))
}

/// `oms_api_refusals_total{reason="REASON"}`.
pub fn refusals(metrics: &str, reason: &str) -> f64 {
    the_sample(
        metrics,
        &format!("oms_api_refusals_total{{reason=\"{reason}\"}}"),
    )
}
