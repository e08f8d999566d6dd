//! The receipt book: until when each receipt this client handed out holds its message,
//! so that a stale, acknowledged or released receipt is refused as
//! [`QueueError::LostReceipt`] without asking SQS (which may accept an old receipt).

use super::SqsQueue;
use crate::ports::{QueueError, QueueMessage};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Receipts finished or run out longer ago than this are forgotten.
const FORGET_RECEIPTS_AFTER: Duration = Duration::from_secs(15 * 60);
/// How often the receipt book is pruned (at most).
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The state of one receipt as far as this client knows.
#[derive(Debug, Clone, Copy)]
enum Hold {
    /// Holds the message until then (a little before SQS's own deadline).
    Until(Instant),
    /// Acknowledged, released or reported lost at that time.
    Finished(Instant),
}

/// Until when each receipt this client handed out holds its message.
#[derive(Debug)]
pub(super) struct ReceiptBook {
    holds: HashMap<String, Hold>,
    pruned_at: Instant,
}

impl ReceiptBook {
    /// An empty book, last pruned `now`.
    pub(super) fn new(now: Instant) -> Self {
        Self {
            holds: HashMap::new(),
            pruned_at: now,
        }
    }

    /// `Ok(true)`: held; `Ok(false)`: unknown here; `Err(LostReceipt)`: no longer held.
    fn check(&self, receipt: &str, now: Instant) -> Result<bool, QueueError> {
        match self.holds.get(receipt) {
            None => Ok(false),
            Some(Hold::Until(t)) if now < *t => Ok(true),
            Some(_) => Err(QueueError::LostReceipt),
        }
    }

    /// Forgets receipts finished or run out long ago (at most every [`PRUNE_EVERY`]).
    fn prune(&mut self, now: Instant) {
        if now.duration_since(self.pruned_at) < PRUNE_EVERY {
            return;
        }
        self.pruned_at = now;
        self.holds.retain(|_, h| {
            let (Hold::Until(t) | Hold::Finished(t)) = *h;
            now.saturating_duration_since(t) < FORGET_RECEIPTS_AFTER
        });
    }
}

impl SqsQueue {
    /// The receipt book, locked.
    fn book(&self) -> std::sync::MutexGuard<'_, ReceiptBook> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.inner
            .receipts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records the state of one receipt.
    fn hold(&self, receipt: &str, hold: Hold) {
        self.book().holds.insert(receipt.to_owned(), hold);
    }

    /// Records a delivery received at `at` whose receipt holds its message until `until`
    /// (and forgets old receipts now and then).
    pub(super) fn hand_out(&self, receipt: &str, at: Instant, until: Instant) {
        let mut book = self.book();
        book.prune(at);
        book.holds.insert(receipt.to_owned(), Hold::Until(until));
    }

    /// Refuses a receipt this client knows to be stale, before asking SQS.
    ///
    /// # Errors
    /// [`QueueError::LostReceipt`] when the receipt ran out or was already finished.
    pub(super) fn check_receipt(&self, msg: &QueueMessage) -> Result<(), QueueError> {
        self.book().check(&msg.receipt, Instant::now()).map(|_| ())
    }

    /// Records the outcome of a call made with `msg`'s receipt: held until
    /// `held_until` (an extension) or finished; a lost receipt is finished too.
    ///
    /// # Errors
    /// Gives `result` back unchanged.
    pub(super) fn settle<T>(
        &self,
        msg: &QueueMessage,
        result: Result<T, QueueError>,
        held_until: Option<Instant>,
    ) -> Result<T, QueueError> {
        match &result {
            Ok(_) => self.hold(
                &msg.receipt,
                held_until.map_or(Hold::Finished(Instant::now()), Hold::Until),
            ),
            Err(QueueError::LostReceipt) => self.hold(&msg.receipt, Hold::Finished(Instant::now())),
            Err(_) => {}
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receipt_book_refuses_stale_and_finished_receipts() {
        let now = Instant::now();
        let mut book = ReceiptBook::new(now);
        book.holds
            .insert("held".into(), Hold::Until(now + Duration::from_secs(5)));
        book.holds.insert("ran-out".into(), Hold::Until(now));
        book.holds.insert("acked".into(), Hold::Finished(now));
        assert!(matches!(book.check("held", now), Ok(true)));
        assert!(matches!(book.check("someone-else's", now), Ok(false)));
        assert!(matches!(
            book.check("ran-out", now),
            Err(QueueError::LostReceipt)
        ));
        assert!(matches!(
            book.check("acked", now),
            Err(QueueError::LostReceipt)
        ));
        book.prune(now + FORGET_RECEIPTS_AFTER + PRUNE_EVERY);
        assert!(book.holds.is_empty(), "old receipts are forgotten");
    }
}
