//! The dead-letter queue: list it, move its messages back (redrive) or delete them
//! (purge), each after the operator's yes.

use super::{AppError, Backends};
use crate::ports::DeadLetter;

/// Up to `max` dead-lettered messages, oldest first.
///
/// # Errors
/// The queue's errors.
pub async fn list(b: &Backends, max: usize) -> Result<Vec<DeadLetter>, AppError> {
    Ok(b.queue.dead_letters(max).await?)
}

/// What to do with the dead-lettered messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Back to the queue, their receive counts reset.
    Redrive,
    /// Deleted for good.
    Purge,
}

/// How a redrive or purge ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The dead-letter queue was empty: nothing was asked or done.
    Empty,
    /// The operator said no: nothing was done.
    Declined,
    /// This many messages were moved or deleted.
    Done(u64),
}

/// Applies `action` to every dead-lettered message: nothing on an empty dead-letter
/// queue; otherwise `confirm(count)` decides (the caller answers yes for `--yes`).
///
/// # Errors
/// The queue's errors, and `confirm`'s.
pub async fn handle<E: From<AppError>>(
    b: &Backends,
    action: Action,
    confirm: impl FnOnce(u64) -> Result<bool, E>,
) -> Result<Handled, E> {
    let dead = b.queue.depth().await.map_err(AppError::from)?.dead;
    if dead == 0 {
        return Ok(Handled::Empty);
    }
    if !confirm(dead)? {
        return Ok(Handled::Declined);
    }
    let n = match action {
        Action::Redrive => b.queue.redrive().await,
        Action::Purge => b.queue.purge_dead().await,
    }
    .map_err(AppError::from)?;
    Ok(Handled::Done(n))
}
