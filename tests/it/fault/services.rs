//! The fault suite's own real services: moto (SQS), a second moto (S3), tansu (Kafka)
//! and SecantusDB (MongoDB) on free loopback ports, their files under the test's temporary directory,
//! so that the suite can pause, stop and start them without touching the shared ones.

use super::{signal, wait_port};
use crate::support::{Boto3, free_port, service_env, wait_timeout};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A service process of the test's own; killed when dropped.
pub struct Service {
    pub name: &'static str,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub port: u16,
    pub log: PathBuf,
    pub child: Option<Child>,
}

impl Service {
    /// Starts the service (its output appended to its log); waits until it listens.
    pub fn start(&mut self) -> Result<(), String> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: log {}: {e}", self.name, self.log.display()))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone a file handle"))
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        self.child = Some(child);
        if wait_port(self.port, Duration::from_secs(60)) {
            Ok(())
        } else {
            Err(format!(
                "{} did not listen on {} within 60 s; its log:\n{}",
                self.name,
                self.port,
                self.log_tail()
            ))
        }
    }

    /// The process id of the running service.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGTERM, then SIGKILL after `grace`; how long it took to exit.
    pub fn stop(&mut self, grace: Duration) -> (Duration, bool) {
        let started = Instant::now();
        let Some(mut child) = self.child.take() else {
            return (Duration::ZERO, true);
        };
        signal(child.id(), "TERM");
        let clean = wait_timeout(&mut child, grace).is_some();
        if !clean {
            let _ = child.kill();
            let _ = child.wait();
        }
        (started.elapsed(), clean)
    }

    /// The last 30 lines of its log.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// moto (SQS), moto (S3), tansu and SecantusDB of this test only.
pub struct Private {
    /// The Python of the services' venv (boto3: another S3 client than oms).
    pub python: PathBuf,
    pub moto: Service,
    pub moto_s3: Service,
    pub tansu: Service,
    pub secantus: Service,
}

impl Private {
    /// `None` when the binaries are not configured (and not required).
    pub fn start(dir: &Path) -> Option<Self> {
        let python = PathBuf::from(service_env("OMS_TEST_PYTHON")?);
        let tansu = PathBuf::from(service_env("OMS_TEST_TANSU")?);
        let bin = python
            .parent()
            .expect("the venv's bin directory")
            .to_owned();
        let (sqs, s3, kafka, mongo) = (free_port(), free_port(), free_port(), free_port());
        let mongo_dir = dir.join("secantus");
        let kafka_dir = dir.join("tansu");
        fs::create_dir_all(&mongo_dir).expect("mkdir");
        fs::create_dir_all(&kafka_dir).expect("mkdir");
        let listener = format!("tcp://127.0.0.1:{kafka}");
        let mut p = Self {
            python: python.clone(),
            moto: Service {
                name: "moto",
                program: bin.join("moto_server"),
                args: vec![
                    "-H".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    sqs.to_string(),
                ],
                port: sqs,
                log: dir.join("moto.log"),
                child: None,
            },
            moto_s3: Service {
                name: "moto-s3",
                program: bin.join("moto_server"),
                args: vec!["-H".into(), "127.0.0.1".into(), "-p".into(), s3.to_string()],
                port: s3,
                log: dir.join("moto-s3.log"),
                child: None,
            },
            tansu: Service {
                name: "tansu",
                program: tansu,
                args: vec![
                    "broker".into(),
                    "--listener-url".into(),
                    listener.clone(),
                    "--advertised-listener-url".into(),
                    listener,
                    "--storage-engine".into(),
                    // sqlite:/// + an absolute path: four slashes (tansu drops one).
                    format!("sqlite:///{}", kafka_dir.join("tansu.db").display()),
                ],
                port: kafka,
                log: dir.join("tansu.log"),
                child: None,
            },
            secantus: Service {
                name: "secantus",
                program: bin.join("secantusd-py"),
                args: vec![
                    "--host".into(),
                    "127.0.0.1".into(),
                    "--port".into(),
                    mongo.to_string(),
                    "--storage-path".into(),
                    mongo_dir.display().to_string(),
                ],
                port: mongo,
                log: dir.join("secantus.log"),
                child: None,
            },
        };
        for s in [&mut p.moto, &mut p.moto_s3, &mut p.tansu, &mut p.secantus] {
            s.start().unwrap_or_else(|e| panic!("{e}"));
        }
        Some(p)
    }
}

impl Private {
    /// The S3 endpoint of the private moto.
    pub fn s3_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.moto_s3.port)
    }

    /// boto3 on the private S3 (another S3 client than oms).
    pub fn boto3(&self) -> Boto3 {
        Boto3 {
            python: self.python.clone(),
            endpoint: self.s3_endpoint(),
        }
    }
}
