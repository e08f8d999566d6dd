//! Contract fixture for the SQS adapter, on the endpoint in `OMS_SQS_ENDPOINT` (moto
//! server in the test script; region and credentials from the usual AWS variables),
//! plus what only a real SQS can show: messages of other clients, queues given by URL,
//! an unreachable endpoint, dead letters beyond one receive's batch.
//!
//! The queue suite runs twice: on a queue the adapter creates (SQS moves dead letters by
//! its redrive policy) and on a queue created beforehand without a redrive policy (the
//! adapter dead-letters itself). Every fixture uses fresh, uniquely named queues.

use crate::contract::{MAX_RECEIVES, QueueFixture};
use crate::support::{Aws, free_port, service_env};
use async_trait::async_trait;
use oms::adapters::sqs::{SqsQueue, SqsSettings};
use oms::ports::JobQueue;
use std::sync::Arc;
use std::time::Duration;

/// SQS counts visibility in whole seconds.
const SQS_VISIBILITY: Duration = Duration::from_secs(1);

/// Fresh SQS queues for one test.
pub struct SqsFixture {
    endpoint: String,
    queue: String,
}

impl SqsFixture {
    /// A fixture whose queue the adapter creates, with its dead-letter queue and
    /// redrive policy; `None` (skipped) when `OMS_SQS_ENDPOINT` is not set.
    pub async fn start() -> Option<Self> {
        let endpoint = service_env("OMS_SQS_ENDPOINT")?;
        Some(Self {
            endpoint,
            queue: format!("oms-test-{}", uuid::Uuid::new_v4().simple()),
        })
    }

    /// A fixture whose queue exists before the adapter connects and has no redrive
    /// policy, so the adapter dead-letters by itself.
    pub async fn start_without_redrive() -> Option<Self> {
        let fixture = Self::start().await?;
        fixture
            .raw_client()
            .create_queue()
            .queue_name(&fixture.queue)
            .send()
            .await
            .expect("create a queue without redrive policy");
        Some(fixture)
    }

    /// A plain SDK client for the same endpoint (another program talking to the queue).
    fn raw_client(&self) -> aws_sdk_sqs::Client {
        Aws::from_env().sqs_client(&self.endpoint)
    }

    fn settings(&self) -> SqsSettings {
        SqsSettings {
            queue: self.queue.clone(),
            endpoint: Some(self.endpoint.clone()),
            visibility_timeout: SQS_VISIBILITY,
            max_receives: MAX_RECEIVES,
        }
    }

    async fn connect(&self) -> SqsQueue {
        SqsQueue::connect(self.settings())
            .await
            .expect("connect to SQS")
    }
}

#[async_trait]
impl QueueFixture for SqsFixture {
    async fn queue(&self) -> Arc<dyn JobQueue> {
        Arc::new(self.connect().await)
    }

    fn visibility(&self) -> Duration {
        SQS_VISIBILITY
    }

    fn max_receives(&self) -> u32 {
        MAX_RECEIVES
    }
}

/// A message in the original service's format, sent by another program with a plain
/// SDK client, comes out of the adapter unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_by_another_client_is_received_with_the_same_body() {
    let Some(f) = SqsFixture::start().await else {
        return;
    };
    let q = f.connect().await;
    let body = r#"{"sellerID":1,"filePath":"storage/orders.csv"}"#;
    let sent = f
        .raw_client()
        .send_message()
        .queue_url(q.url())
        .message_body(body)
        .send()
        .await
        .expect("send with the raw client");
    let m = q
        .receive(Duration::from_secs(2))
        .await
        .expect("receive")
        .expect("the message sent by the other client");
    assert_eq!(m.body, body);
    assert_eq!(Some(m.id.as_str()), sent.message_id());
    assert_eq!(m.receive_count, 1);
    q.ack(&m).await.expect("ack");
}

/// The queue may be given by URL as well as by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_given_by_url_is_the_same_queue() {
    let Some(f) = SqsFixture::start().await else {
        return;
    };
    let by_name = f.connect().await;
    let by_url = SqsQueue::connect(SqsSettings {
        queue: by_name.url().to_owned(),
        ..f.settings()
    })
    .await
    .expect("connect by URL");
    by_name.send("via name").await.expect("send");
    let m = by_url
        .receive(Duration::from_secs(2))
        .await
        .expect("receive")
        .expect("the message sent through the name");
    assert_eq!(m.body, "via name");
    by_url.ack(&m).await.expect("ack");
}

/// Nothing listening at the endpoint is `Unavailable` (retried by callers), not `Other`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_unavailable() {
    let Some(f) = SqsFixture::start().await else {
        return;
    };
    let closed = free_port();
    let err = SqsQueue::connect(SqsSettings {
        endpoint: Some(format!("http://127.0.0.1:{closed}")),
        ..f.settings()
    })
    .await
    .expect_err("nothing listens there");
    assert!(
        matches!(err, oms::ports::QueueError::Unavailable(_)),
        "{err:?}"
    );
}

/// More dead letters than one SQS receive returns (10) are all listed (each once,
/// oldest first), all redriven and all purged, whoever put them in the dead-letter
/// queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_dead_letters_are_listed_redriven_and_purged_in_batches() {
    const N: usize = 25;
    let Some(f) = SqsFixture::start().await else {
        return;
    };
    let q = f.connect().await;
    let raw = f.raw_client();
    let dlq = raw
        .get_queue_url()
        .queue_name(format!("{}-dlq", f.queue))
        .send()
        .await
        .expect("the dead-letter queue the adapter created")
        .queue_url
        .expect("a URL");
    let fill = |tag: &'static str| {
        let (raw, dlq) = (raw.clone(), dlq.clone());
        async move {
            for i in 0..N {
                raw.send_message()
                    .queue_url(&dlq)
                    .message_body(format!("{tag}-{i:02}"))
                    .send()
                    .await
                    .expect("send to the dead-letter queue");
                // Distinct sent timestamps (milliseconds), so "oldest first" is defined.
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }
    };
    fill("dead").await;
    let expected: Vec<String> = (0..N).map(|i| format!("dead-{i:02}")).collect();

    let all = q.dead_letters(100).await.expect("dead_letters");
    let bodies: Vec<String> = all.iter().map(|d| d.body.clone()).collect();
    assert_eq!(bodies, expected, "every dead letter once, oldest first");
    let some = q.dead_letters(12).await.expect("dead_letters");
    assert_eq!(some.len(), 12, "at most max");
    let distinct: std::collections::HashSet<&str> = some.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(distinct.len(), 12, "no duplicates");
    assert_eq!(
        q.depth().await.expect("depth").dead,
        N as u64,
        "listing leaves every dead letter visible"
    );

    assert_eq!(q.redrive().await.expect("redrive"), N as u64);
    let d = q.depth().await.expect("depth");
    assert_eq!((d.visible, d.dead), (N as u64, 0), "{d:?}");
    let mut back = Vec::new();
    while let Some(m) = q.receive(Duration::ZERO).await.expect("receive") {
        assert_eq!(m.receive_count, 1);
        back.push(m.body.clone());
        q.ack(&m).await.expect("ack");
    }
    back.sort();
    assert_eq!(back, expected, "every redriven message once");

    fill("again").await;
    assert_eq!(q.purge_dead().await.expect("purge_dead"), N as u64);
    assert_eq!(q.depth().await.expect("depth"), Default::default());
    assert!(q.dead_letters(100).await.expect("dead_letters").is_empty());
}
