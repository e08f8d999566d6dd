//! Backoff: how a use case waits before trying a failed backend again (doubling delays
//! up to a cap, cut short by shutdown), and [`retry_transient`], which tries one call
//! again while it fails with an error a predicate calls transient.

use super::Shutdown;
use std::future::Future;
use std::time::Duration;

/// Doubling delays from `first` up to `cap`. A consumer keeps one across its loop and
/// [`Backoff::reset`]s it after a success; [`retry_transient`] uses a fresh one per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
    next: Duration,
}

impl Backoff {
    /// Between tries of one call ([`retry_transient`]): 100 ms, doubling, at most 5 s.
    pub const CALL: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

    /// Between failed receives, polls or batches of a long-running consumer: 200 ms,
    /// doubling, at most 10 s.
    pub const CONSUMER: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));

    /// Delays from `first`, doubling, never over `cap`.
    #[must_use]
    pub const fn new(first: Duration, cap: Duration) -> Self {
        Self {
            first,
            cap,
            next: first,
        }
    }

    /// How long the next [`Backoff::wait`] waits.
    #[must_use]
    pub fn delay(&self) -> Duration {
        self.next
    }

    /// Back to the first delay (the backend answered again).
    pub fn reset(&mut self) {
        self.next = self.first;
    }

    /// Waits the next delay, or less when shutdown comes first: true when it did.
    /// Otherwise the delay after it is twice as long, up to the cap.
    pub async fn wait(&mut self, shutdown: &mut Shutdown) -> bool {
        if shutdown.sleep(self.next).await {
            return true;
        }
        self.next = (self.next * 2).min(self.cap);
        false
    }
}

/// Calls `op` until it succeeds, up to `attempts` calls in all, waiting
/// [`Backoff::CALL`] between them; an error that `transient` does not accept, or a
/// shutdown, ends the tries at once (a call in flight is never cut short). Each failure
/// tried again is logged as a warning with its error, so an operator sees it.
///
/// # Errors
/// The last error of `op`.
pub async fn retry_transient<T, E, F, Fut>(
    attempts: u32,
    shutdown: &mut Shutdown,
    transient: impl Fn(&E) -> bool,
    mut op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut backoff = Backoff::CALL;
    let mut tried = 0;
    loop {
        tried += 1;
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if tried < attempts && transient(&e) && !shutdown.is_set() => {
                tracing::warn!(
                    "{e}: trying again in {:?} (attempt {} of {attempts})",
                    backoff.delay(),
                    tried + 1
                );
                if backoff.wait(shutdown).await {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn delays_double_up_to_the_cap_and_reset() {
        let (_trigger, mut sd) = Shutdown::new();
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(1), ms(5));
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(b.delay());
            assert!(!b.wait(&mut sd).await);
        }
        assert_eq!(seen, [ms(1), ms(2), ms(4), ms(5), ms(5)]);
        b.reset();
        assert_eq!(b.delay(), ms(1));
        assert_eq!(Backoff::CALL.delay(), ms(100));
        assert_eq!(Backoff::CONSUMER.delay(), ms(200));
    }

    #[tokio::test]
    async fn a_wait_ends_at_once_on_shutdown() {
        let (trigger, mut sd) = Shutdown::new();
        trigger.trigger();
        let mut b = Backoff::new(Duration::from_secs(60), Duration::from_secs(60));
        assert!(b.wait(&mut sd).await);
    }

    #[tokio::test]
    async fn only_transient_errors_are_tried_again_and_shutdown_stops_the_tries() {
        let (trigger, mut sd) = Shutdown::new();
        let busy = |e: &&str| *e == "busy";
        let counter = Cell::new(0);
        let calls = &counter;
        let failing = |err: &'static str| {
            calls.set(0);
            move || {
                calls.set(calls.get() + 1);
                std::future::ready(Err::<(), _>(err))
            }
        };

        let r = retry_transient(3, &mut sd, busy, failing("busy")).await;
        assert_eq!((r, calls.get()), (Err("busy"), 3), "every attempt used");

        let r = retry_transient(3, &mut sd, busy, failing("refused")).await;
        assert_eq!((r, calls.get()), (Err("refused"), 1), "not transient");

        calls.set(0);
        let r = retry_transient(3, &mut sd, busy, || {
            calls.set(calls.get() + 1);
            std::future::ready(if calls.get() < 2 { Err("busy") } else { Ok(7) })
        })
        .await;
        assert_eq!((r, calls.get()), (Ok(7), 2));

        trigger.trigger();
        let r = retry_transient(3, &mut sd, busy, failing("busy")).await;
        assert_eq!(
            (r, calls.get()),
            (Err("busy"), 1),
            "shutdown: no more tries"
        );
    }
}
