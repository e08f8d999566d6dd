//! Where the real test services are (the variables `scripts/services env` prints), how
//! an `oms` is pointed at them, plain clients of them (as another program would use),
//! and free loopback ports.

use super::Oms;
use aws_sdk_sqs::types::QueueAttributeName;

/// True when `OMS_REQUIRE_SERVICES=1` (CI): a missing service or tool is then a
/// failure, never a skip.
pub fn services_required() -> bool {
    std::env::var("OMS_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The value of `var`, or `None` (after saying so) when the service is not configured
/// and services are not required.
///
/// # Panics
/// When `var` is missing and `OMS_REQUIRE_SERVICES=1` (CI), so nothing is skipped silently.
pub fn service_env(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => {
            assert!(
                !services_required(),
                "{var} is not set: start the services with `scripts/services up` and \
                 `eval \"$(scripts/services env)\"`"
            );
            eprintln!("skipped: {var} is not set (scripts/services up)");
            None
        }
    }
}

/// The value of `var`, or `default` when it is unset or empty.
pub fn env_or(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// A loopback port that was free a moment ago (bound, read, released): for a service
/// a test starts later, or as a port nothing listens on.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// Serves `router` on a free loopback port (on the current Tokio runtime, until it
/// ends); gives its base URL.
pub async fn serve_router(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// The AWS region and credentials of the test services: `AWS_REGION`,
/// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, or moto's defaults when unset.
pub struct Aws {
    pub region: String,
    pub key: String,
    pub secret: String,
}

impl Aws {
    /// The values of the environment, or the defaults.
    pub fn from_env() -> Self {
        Self {
            region: env_or("AWS_REGION", "us-east-1"),
            key: env_or("AWS_ACCESS_KEY_ID", "testing"),
            secret: env_or("AWS_SECRET_ACCESS_KEY", "testing"),
        }
    }

    /// The variables that give an `oms` process this region and these credentials.
    pub fn vars(&self) -> [(&'static str, String); 3] {
        [
            ("AWS_REGION", self.region.clone()),
            ("AWS_ACCESS_KEY_ID", self.key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
        ]
    }

    /// A plain SQS client for `endpoint` (another program than `oms`).
    pub fn sqs_client(&self, endpoint: &str) -> aws_sdk_sqs::Client {
        let conf = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new(self.region.clone()))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                &self.key,
                &self.secret,
                None,
                None,
                "oms-tests",
            ))
            .build();
        aws_sdk_sqs::Client::from_conf(conf)
    }

    /// A plain S3 client for `endpoint` (another program than `oms`), path-style as
    /// emulators need.
    pub fn s3_client(&self, endpoint: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(self.region.clone()))
            .endpoint_url(endpoint)
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                &self.key,
                &self.secret,
                None,
                None,
                "oms-tests",
            ))
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}

/// The S3 API of the test services (a moto server of its own, so that an S3 outage can
/// be staged without touching SQS): `OMS_TEST_S3_ENDPOINT`, or `None` (after saying
/// so) when it is not set and services are not required.
pub fn s3_endpoint() -> Option<String> {
    service_env("OMS_TEST_S3_ENDPOINT")
}

/// (visible, in flight) of the SQS queue `name`, as SQS counts them.
pub async fn sqs_queue_counts(sqs: &aws_sdk_sqs::Client, name: &str) -> (u64, u64) {
    let url = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("no queue {name}: {e:?}"))
        .queue_url
        .expect("a queue URL");
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    let count = |a: QueueAttributeName| -> u64 {
        attrs
            .get(&a)
            .map_or(0, |v| v.parse().expect("a count of messages"))
    };
    (
        count(QueueAttributeName::ApproximateNumberOfMessages),
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

/// The shared real services: SQS (moto), Kafka (tansu) and MongoDB (SecantusDB); S3
/// is [`s3_endpoint`].
pub struct RealServices {
    pub sqs_endpoint: String,
    pub kafka_brokers: String,
    pub mongodb_uri: String,
    pub aws: Aws,
}

impl RealServices {
    /// `None` when they are not configured (and not required).
    pub fn from_env() -> Option<Self> {
        Some(Self {
            sqs_endpoint: service_env("OMS_SQS_ENDPOINT")?,
            kafka_brokers: service_env("OMS_KAFKA_BROKERS")?,
            mongodb_uri: service_env("OMS_MONGODB_URI")?,
            aws: Aws::from_env(),
        })
    }

    /// Points every command of `oms` at these services under fresh names of its own
    /// (`oms-{name}-{id}` for the queue and the topic, `oms-{name}-fulfil-{id}` for the
    /// consumer group, `oms_{name}_{id}` for the database), with the warehouse of
    /// `oms wms serve --bind {wms_bind}` (2 s timeout); gives the queue's name.
    pub fn configure(&self, oms: &mut Oms, name: &str, wms_bind: &str) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let queue = format!("oms-{name}-{id}");
        for (k, v) in self.aws.vars() {
            oms.set_env(k, v);
        }
        for (k, v) in [
            ("OMS_SQS_ENDPOINT", self.sqs_endpoint.clone()),
            ("OMS_SQS_QUEUE", queue.clone()),
            ("OMS_KAFKA_BROKERS", self.kafka_brokers.clone()),
            ("OMS_KAFKA_TOPIC", format!("oms-{name}-{id}")),
            ("OMS_KAFKA_GROUP", format!("oms-{name}-fulfil-{id}")),
            ("OMS_MONGODB_URI", self.mongodb_uri.clone()),
            ("OMS_MONGODB_DATABASE", format!("oms_{name}_{id}")),
            ("OMS_WMS_URL", format!("http://{wms_bind}")),
            ("OMS_WMS_TIMEOUT_SECS", "2".to_owned()),
        ] {
            oms.set_env(k, v);
        }
        queue
    }
}
