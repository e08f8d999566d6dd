//! S3 as another program sees it: boto3 (the services' Python) creating buckets,
//! writing objects and listing them, against the test S3 (`OMS_TEST_S3_ENDPOINT`, a
//! moto server of its own) or a private one.

use super::service_env;
use std::path::PathBuf;
use std::process::Command;

/// An S3 endpoint reached through boto3.
#[derive(Debug, Clone)]
pub struct Boto3 {
    pub python: PathBuf,
    pub endpoint: String,
}

impl Boto3 {
    /// The shared test S3; `None` when it is not configured (and not required).
    pub fn from_env() -> Option<Self> {
        Some(Self {
            python: PathBuf::from(service_env("OMS_TEST_PYTHON")?),
            endpoint: service_env("OMS_TEST_S3_ENDPOINT")?,
        })
    }

    /// Runs `script` with `s3` bound to a boto3 client of the endpoint and `args` as
    /// `sys.argv[1:]`; gives what it printed.
    pub fn run(&self, script: &str, args: &[&str]) -> String {
        let program = format!(
            "import boto3, sys\ns3 = boto3.client('s3', endpoint_url={:?})\n{script}",
            self.endpoint
        );
        let out = Command::new(&self.python)
            .arg("-c")
            .arg(program)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .expect("run boto3");
        assert!(
            out.status.success(),
            "boto3 {script:?} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates the bucket `name`.
    pub fn create_bucket(&self, name: &str) {
        self.run("s3.create_bucket(Bucket=sys.argv[1])", &[name]);
    }

    /// Writes `body` at `s3://bucket/key`.
    pub fn put(&self, bucket: &str, key: &str, body: &str) {
        self.run(
            "s3.put_object(Bucket=sys.argv[1], Key=sys.argv[2], Body=sys.argv[3].encode())",
            &[bucket, key, body],
        );
    }

    /// The keys under `prefix` in `bucket`, sorted.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let out = self.run(
            "r = s3.list_objects_v2(Bucket=sys.argv[1], Prefix=sys.argv[2])\nfor o in r.get('Contents', []): print(o['Key'])",
            &[bucket, prefix],
        );
        let mut keys: Vec<String> = out.lines().map(str::to_owned).collect();
        keys.sort();
        keys
    }
}
