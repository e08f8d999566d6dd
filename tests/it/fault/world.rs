//! One variant's world: the `oms` machine under test, what its outages act on (the
//! embedded database's file, an `oms wms serve`, the private services), the outage
//! plan, and the way poison messages are put in its job queue.

use super::services::Private;
use super::{secs, signal};
use crate::support::{Aws, Oms, Proc, Stock, block_on, free_port};
use oms::adapters::embedded::{Db, EmbeddedQueue, QueueSettings};
use oms::ports::JobQueue;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A backend the plan takes away for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// An exclusive write lock on the embedded SQLite file.
    DbLock,
    /// moto paused.
    Sqs,
    /// moto (S3) paused: the order files cannot be read or uploaded.
    S3,
    /// tansu stopped.
    Kafka,
    /// SecantusDB stopped.
    Mongo,
    /// `oms wms serve` SIGKILLed.
    Wms,
}

impl Kind {
    /// How the figures name the outage.
    pub fn name(self) -> &'static str {
        match self {
            Kind::DbLock => "embedded db (exclusive lock)",
            Kind::Sqs => "queue: moto SIGSTOP/SIGCONT",
            Kind::S3 => "files: moto (S3) SIGSTOP/SIGCONT",
            Kind::Kafka => "bus: tansu stop/start",
            Kind::Mongo => "store: SecantusDB stop/start",
            Kind::Wms => "warehouse: oms wms serve SIGKILL/start",
        }
    }
}

/// An outage of the plan: `kind` from `at` (since the chaos phase began) for `hold`.
#[derive(Debug, Clone, Copy)]
pub struct Planned {
    pub kind: Kind,
    pub at: Duration,
    pub hold: Duration,
}

/// What happened to one outage.
#[derive(Debug)]
pub struct Happened {
    pub kind: Kind,
    pub at: Duration,
    pub lasted: Duration,
    pub note: String,
}

/// The warehouse over HTTP: a machine of its own serving its stock.
pub struct HttpWms {
    pub machine: Oms,
    pub bind: String,
    pub proc: Option<Proc>,
}

impl HttpWms {
    /// A warehouse machine on a free port, not started yet.
    pub fn new() -> Self {
        Self {
            machine: Oms::new(),
            bind: format!("127.0.0.1:{}", free_port()),
            proc: None,
        }
    }

    /// Starts `oms wms serve`, once it listens.
    pub fn start(&mut self) {
        self.proc = Some(self.machine.serve_wms(&self.bind));
    }
}

/// Where poison messages go in.
#[derive(Clone)]
pub enum QueueAccess {
    /// The embedded queue of this data dir.
    Embedded(PathBuf),
    /// The SQS queue `queue` at `endpoint`.
    Sqs { endpoint: String, queue: String },
}

impl QueueAccess {
    /// Puts `body` in the job queue (an error while the backend is down).
    pub fn send(&self, body: &str) -> Result<(), String> {
        match self {
            QueueAccess::Embedded(data) => {
                let db = Db::open(data).map_err(|e| e.to_string())?;
                let q = EmbeddedQueue::new(db, QueueSettings::default());
                block_on(q.send(body))
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            QueueAccess::Sqs { endpoint, queue } => block_on(async {
                let sqs = Aws::from_env().sqs_client(endpoint);
                let url = sqs
                    .get_queue_url()
                    .queue_name(queue)
                    .send()
                    .await
                    .map_err(|e| format!("{e:?}"))?
                    .queue_url
                    .ok_or("no queue URL")?;
                sqs.send_message()
                    .queue_url(url)
                    .message_body(body)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}"))
            }),
        }
    }
}

/// One variant's machines, services and plan.
pub struct World {
    pub name: &'static str,
    pub oms: Oms,
    pub faults: Faults,
    pub queue: QueueAccess,
    pub ingests: usize,
    pub fulfils: usize,
    pub plan: Vec<Planned>,
    /// Files are submitted over this long from the start of the chaos phase.
    pub submit_over: Duration,
    /// The chaos phase lasts at least this long (every outage is over by then).
    pub chaos: Duration,
    /// Time between two SIGKILLs.
    pub kill_every: (Duration, Duration),
    pub settle_within: Duration,
}

/// What the outages act on.
pub struct Faults {
    /// The embedded database file.
    pub db_file: PathBuf,
    pub wms: Option<HttpWms>,
    pub private: Option<Private>,
    /// The exclusive lock held on the embedded database, during a `DbLock` outage.
    pub lock: Option<rusqlite::Connection>,
}

impl Faults {
    /// The last lines of the private services' logs (after a failed settle).
    pub fn print_logs(&self, variant: &str) {
        if let Some(p) = &self.private {
            for s in [&p.moto, &p.moto_s3, &p.tansu, &p.secantus] {
                eprintln!(
                    "fault[{variant}]: the last lines of {}'s log:\n{}",
                    s.name,
                    s.log_tail()
                );
            }
        }
    }

    /// Takes the backend of `kind` away; gives a note for the figures.
    pub fn begin(&mut self, kind: Kind) -> Result<String, String> {
        match kind {
            Kind::DbLock => {
                let conn = rusqlite::Connection::open(&self.db_file).map_err(|e| e.to_string())?;
                conn.busy_timeout(Duration::from_secs(20))
                    .map_err(|e| e.to_string())?;
                let t = Instant::now();
                conn.execute_batch("BEGIN EXCLUSIVE")
                    .map_err(|e| format!("BEGIN EXCLUSIVE: {e}"))?;
                self.lock = Some(conn);
                Ok(format!("lock taken in {}", secs(t.elapsed())))
            }
            Kind::Sqs | Kind::S3 => {
                let p = self.private.as_ref().expect("private services");
                let moto = if kind == Kind::S3 {
                    &p.moto_s3
                } else {
                    &p.moto
                };
                if signal(moto.pid(), "STOP") {
                    Ok(String::new())
                } else {
                    Err(format!("kill -STOP {} failed", moto.name))
                }
            }
            Kind::Kafka => {
                let p = self.private.as_mut().expect("private services");
                let (took, clean) = p.tansu.stop(Duration::from_secs(10));
                Ok(format!(
                    "tansu stopped in {}{}",
                    secs(took),
                    if clean { "" } else { " (SIGKILL)" }
                ))
            }
            Kind::Mongo => {
                let p = self.private.as_mut().expect("private services");
                let (took, clean) = p.secantus.stop(Duration::from_secs(20));
                Ok(format!(
                    "SecantusDB stopped in {}{}",
                    secs(took),
                    if clean { "" } else { " (SIGKILL)" }
                ))
            }
            Kind::Wms => {
                let w = self.wms.as_mut().expect("an HTTP warehouse");
                if let Some(p) = w.proc.take() {
                    let lines = p.kill9_lines();
                    if lines.iter().any(|l| l.contains("panicked")) {
                        return Err(format!("the warehouse had panicked: {lines:?}"));
                    }
                }
                Ok(String::new())
            }
        }
    }

    /// Gives the backend of `kind` back; gives a note for the figures.
    pub fn end(&mut self, kind: Kind) -> Result<String, String> {
        match kind {
            Kind::DbLock => {
                let conn = self.lock.take().ok_or("no lock held")?;
                conn.execute_batch("ROLLBACK").map_err(|e| e.to_string())?;
                Ok(String::new())
            }
            Kind::Sqs | Kind::S3 => {
                let p = self.private.as_ref().expect("private services");
                let moto = if kind == Kind::S3 {
                    &p.moto_s3
                } else {
                    &p.moto
                };
                if signal(moto.pid(), "CONT") {
                    Ok(String::new())
                } else {
                    Err(format!("kill -CONT {} failed", moto.name))
                }
            }
            Kind::Kafka => {
                let t = Instant::now();
                let p = self.private.as_mut().expect("private services");
                p.tansu.start()?;
                Ok(format!("tansu listening again in {}", secs(t.elapsed())))
            }
            Kind::Mongo => {
                let t = Instant::now();
                let p = self.private.as_mut().expect("private services");
                p.secantus.start()?;
                Ok(format!(
                    "SecantusDB listening again in {}",
                    secs(t.elapsed())
                ))
            }
            Kind::Wms => {
                let t = Instant::now();
                self.wms.as_mut().expect("an HTTP warehouse").start();
                Ok(format!(
                    "warehouse listening again in {}",
                    secs(t.elapsed())
                ))
            }
        }
    }
}

impl World {
    /// The stock where the warehouse keeps it.
    pub fn stock(&self) -> Stock {
        match &self.faults.wms {
            Some(w) => w.machine.stock(),
            None => self.oms.stock(),
        }
    }
}
