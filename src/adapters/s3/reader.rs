//! Streaming an object: a task reads the object's body and hands its chunks through a
//! bounded channel (so memory stays bounded, whatever the object's size), resuming
//! with a ranged GET of the same version from the offset reached when the body fails
//! midway; [`ChannelReader`] is the blocking `Read` over that channel.

use super::S3Files;
use super::errors::{FaultKind, body_failed, map_err, own};
use super::location::ObjectUri;
use crate::ports::{FileError, OpenedFile};
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use std::io::{self, Read};
use std::time::Duration;
use tokio::sync::mpsc;

/// Chunks in flight between the task and the reader.
const CHANNEL_CHUNKS: usize = 8;
/// A body that delivers nothing for this long has stalled (treated as a dropped
/// connection: resumed).
const STALL: Duration = Duration::from_secs(20);
/// Resumes tried in a row (without a byte read in between) before giving up.
pub(super) const MAX_TRIES: u32 = 5;
/// The first pause before a retry; doubled each time, at most [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// The pause before retry number `n` (1-based).
pub(super) fn backoff(n: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << n.saturating_sub(1).min(10))
        .min(MAX_BACKOFF)
}

/// Which version of an object to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pin {
    /// A version id (the bucket keeps versions).
    Version(String),
    /// An ETag, quoted as S3 gives it (asked with `If-Match`).
    ETag(String),
}

impl Pin {
    /// The pin of an object S3 described with `version_id` and `etag`: the version id
    /// when there is a real one (not `null`, as an unversioned object's is), else the
    /// ETag.
    pub(super) fn of(version_id: Option<&str>, etag: Option<&str>) -> Option<Self> {
        match (version_id.filter(|v| !v.is_empty() && *v != "null"), etag) {
            (Some(v), _) => Some(Pin::Version(v.to_owned())),
            (None, Some(e)) if !e.is_empty() => Some(Pin::ETag(e.to_owned())),
            _ => None,
        }
    }

    /// A version as [`crate::ports::CheckedFile::version`] says it: a quoted ETag, or a
    /// version id.
    pub(super) fn parse(text: &str) -> Self {
        if text.starts_with('"') || text.starts_with("W/\"") {
            Pin::ETag(text.to_owned())
        } else {
            Pin::Version(text.to_owned())
        }
    }

    /// The text of [`crate::ports::CheckedFile::version`].
    pub(super) fn text(&self) -> &str {
        match self {
            Pin::Version(v) | Pin::ETag(v) => v,
        }
    }
}

/// GET `object` (exactly `pin` when given) from byte `from` on.
///
/// # Errors
/// As [`map_err`] sorts them; with a pin, a missing object is `Changed` (it was there
/// when it was checked).
pub(super) async fn get(
    client: &Client,
    object: &ObjectUri,
    pin: Option<&Pin>,
    from: u64,
) -> Result<GetObjectOutput, FileError> {
    let mut req = client.get_object().bucket(&object.bucket).key(&object.key);
    match pin {
        Some(Pin::Version(v)) => req = req.version_id(v),
        Some(Pin::ETag(e)) => req = req.if_match(e),
        None => {}
    }
    if from > 0 {
        req = req.range(format!("bytes={from}-"));
    }
    let uri = object.uri();
    req.send().await.map_err(|e| {
        let e = map_err("GET", &uri, e);
        if pin.is_some() && FaultKind::of(&e) == FaultKind::NoSuchObject {
            own(
                FaultKind::Changed,
                format!(
                    "S3 GET {uri}: the object changed since it was submitted (it is gone); \
                     submit it again"
                ),
            )
        } else {
            e
        }
    })
}

/// Where the pump reads from.
pub(super) struct Source {
    pub client: Client,
    pub object: ObjectUri,
    pub pin: Option<Pin>,
    /// The object's size, when known: a body that ends before it is resumed.
    pub size: Option<u64>,
}

/// Reads `body` (the object from byte 0) into `tx`, resuming after transient failures;
/// ends with the sender dropped (the end of the object) or an error sent.
pub(super) async fn pump(
    src: Source,
    mut body: ByteStream,
    tx: mpsc::Sender<Result<Bytes, FileError>>,
) {
    let uri = src.object.uri();
    let mut offset = 0u64;
    let mut tries = 0u32;
    loop {
        let next = tokio::select! {
            () = tx.closed() => return,
            next = tokio::time::timeout(STALL, body.next()) => next,
        };
        let failure = match next {
            Ok(Some(Ok(chunk))) => {
                tries = 0;
                offset += chunk.len() as u64;
                if tx.send(Ok(chunk)).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(None) => match src.size {
                Some(size) if offset < size => body_failed(
                    &uri,
                    format!("the body ended at byte {offset} of {size}"),
                    None,
                ),
                _ => return,
            },
            Ok(Some(Err(e))) => {
                let why = super::errors::describe(&e);
                body_failed(&uri, why, Some(e.into()))
            }
            Err(_) => body_failed(
                &uri,
                format!("nothing came for {} s", STALL.as_secs()),
                None,
            ),
        };
        match resume(&src, offset, &mut tries, failure, &tx).await {
            Some(next_body) => body = next_body,
            None => return,
        }
    }
}

/// After `failure` at `offset`: GETs the rest of the same version again, with backoff,
/// up to [`MAX_TRIES`] tries in a row; `None` when it gave up (the error sent).
async fn resume(
    src: &Source,
    offset: u64,
    tries: &mut u32,
    mut failure: FileError,
    tx: &mpsc::Sender<Result<Bytes, FileError>>,
) -> Option<ByteStream> {
    loop {
        if !matches!(failure, FileError::Unavailable(_)) || *tries >= MAX_TRIES {
            let _ = tx.send(Err(failure)).await;
            return None;
        }
        *tries += 1;
        tracing::warn!(
            object = %src.object,
            offset,
            tries = *tries,
            "reading the object failed ({failure}); resuming"
        );
        tokio::select! {
            () = tx.closed() => return None,
            () = tokio::time::sleep(backoff(*tries)) => {}
        }
        match get(&src.client, &src.object, src.pin.as_ref(), offset).await {
            Ok(out) => return Some(out.body),
            Err(e) => failure = e,
        }
    }
}

/// A blocking reader over the chunks the pump sends. Must not be read on a Tokio
/// worker thread (it blocks); a `spawn_blocking` thread or a plain thread is right.
pub(super) struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes, FileError>>,
    current: Bytes,
    read: u64,
    size: Option<u64>,
    uri: String,
    done: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                buf[..n].copy_from_slice(&self.current[..n]);
                let _ = self.current.split_to(n);
                self.read += n as u64;
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => {
                    self.done = true;
                    return Err(io::Error::other(e));
                }
                None => {
                    self.done = true;
                    if let Some(size) = self.size.filter(|s| self.read < *s) {
                        // The pump stopped without a word (it panicked): never pass a
                        // cut object off as whole.
                        return Err(io::Error::other(body_failed(
                            &self.uri,
                            format!("the read stopped at byte {} of {size}", self.read),
                            None,
                        )));
                    }
                    return Ok(0);
                }
            }
        }
    }
}

/// Starts the pump for `src` on the current runtime; gives the receiving end.
pub(super) fn spawn_pump(
    src: Source,
    body: ByteStream,
) -> mpsc::Receiver<Result<Bytes, FileError>> {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    tokio::runtime::Handle::current().spawn(pump(src, body, tx));
    rx
}

impl S3Files {
    /// Opens `object` (exactly `version` when given) for streaming.
    pub(super) async fn open_object(
        &self,
        object: ObjectUri,
        version: Option<&str>,
    ) -> Result<OpenedFile, FileError> {
        let client = self.inner.client.clone();
        let pin = version.map(Pin::parse);
        let out = get(&client, &object, pin.as_ref(), 0).await?;
        let size = out.content_length.and_then(|n| u64::try_from(n).ok());
        // Without a version asked for, later resumes still read the version this GET
        // began with.
        let pin = pin.or_else(|| Pin::of(out.version_id(), out.e_tag()));
        let uri = object.uri();
        let rx = spawn_pump(
            Source {
                client,
                object,
                pin,
                size,
            },
            out.body,
        );
        Ok(OpenedFile {
            reader: Box::new(ChannelReader {
                rx,
                current: Bytes::new(),
                read: 0,
                size,
                uri,
                done: false,
            }),
            bytes: size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_told_from_etags_and_backoff_grows_to_a_cap() {
        assert_eq!(Pin::parse("\"abc\""), Pin::ETag("\"abc\"".into()));
        assert_eq!(
            Pin::parse("3HL4kqtJlcpXroDTDmJ"),
            Pin::Version("3HL4kqtJlcpXroDTDmJ".into())
        );
        assert_eq!(
            Pin::of(Some("null"), Some("\"e\"")),
            Some(Pin::ETag("\"e\"".into()))
        );
        assert_eq!(
            Pin::of(Some("v1"), Some("\"e\"")),
            Some(Pin::Version("v1".into()))
        );
        assert_eq!(Pin::of(None, None), None);
        assert_eq!(backoff(1), FIRST_BACKOFF);
        assert_eq!(backoff(2), FIRST_BACKOFF * 2);
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
