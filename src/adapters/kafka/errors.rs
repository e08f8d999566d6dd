//! Driver errors of the Kafka adapter: which error codes mean "the broker cannot be
//! reached (now)" and which "the group moved on", and their mapping into [`BusError`]s
//! that keep the driver's error as the cause.

use crate::ports::{BusError, Detail};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Driver error codes that mean "the broker cannot be reached (now)".
pub(super) fn is_unavailable(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::Resolve
            | C::OperationTimedOut
            | C::MessageTimedOut
            | C::RequestTimedOut
            | C::TimedOutQueue
            | C::QueueFull
            | C::NetworkException
            | C::BrokerNotAvailable
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::CoordinatorNotAvailable
            | C::CoordinatorLoadInProgress
            | C::NotCoordinator
            | C::WaitingForCoordinator
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::KafkaStorageError
    )
}

/// Driver error codes of a commit that mean "this member no longer owns what it
/// commits": the group moved on without it.
pub(super) fn is_rebalanced(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::IllegalGeneration
            | C::UnknownMemberId
            | C::RebalanceInProgress
            | C::FencedInstanceId
            | C::StaleMemberEpoch
            | C::FencedMemberEpoch
            | C::AssignmentLost
    )
}

/// Maps a driver error of `what`: codes of an unreachable broker are
/// [`BusError::Unavailable`], the rest [`BusError::Other`]. The text is `what: <the
/// error>`; the driver's error is its cause.
pub(super) fn map_err(what: &str, e: KafkaError) -> BusError {
    let code = match &e {
        KafkaError::AdminOp(code) => Some(*code),
        e => e.rdkafka_error_code(),
    };
    let detail = Detail::caused(format!("{what}: {e}"), e);
    match code {
        Some(code) if is_unavailable(code) => BusError::Unavailable(detail),
        _ => BusError::Other(detail),
    }
}

/// Maps an error code the broker gave for `what` (a topic's, a creation's):
/// [`BusError::Unavailable`] or [`BusError::Other`] as for [`map_err`]. The text is
/// `what: <the code>`; the code is its cause.
pub(super) fn map_code(what: &str, code: RDKafkaErrorCode) -> BusError {
    let detail = Detail::caused(format!("{what}: {code}"), code);
    if is_unavailable(code) {
        BusError::Unavailable(detail)
    } else {
        BusError::Other(detail)
    }
}

/// A blocking task of the driver that panicked or was cancelled.
pub(super) fn join_err(e: tokio::task::JoinError) -> BusError {
    BusError::Other(Detail::caused(
        format!("kafka worker thread failed: {e}"),
        e,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_refusals_of_a_moved_group_are_rebalances() {
        for code in [
            RDKafkaErrorCode::IllegalGeneration,
            RDKafkaErrorCode::UnknownMemberId,
            RDKafkaErrorCode::RebalanceInProgress,
        ] {
            assert!(is_rebalanced(code) && !is_unavailable(code), "{code:?}");
        }
        assert!(is_unavailable(RDKafkaErrorCode::AllBrokersDown));
        assert!(!is_rebalanced(RDKafkaErrorCode::AllBrokersDown));
    }

    #[test]
    fn the_driver_error_is_kept_as_the_cause() {
        let e = map_err(
            "publish",
            KafkaError::MessageProduction(RDKafkaErrorCode::AllBrokersDown),
        );
        let BusError::Unavailable(detail) = &e else {
            panic!("all brokers down is unavailable: {e:?}");
        };
        assert!(detail.text().starts_with("publish: "), "{detail}");
        let cause = detail
            .find_cause::<KafkaError>()
            .expect("the driver's error");
        assert_eq!(
            cause.rdkafka_error_code(),
            Some(RDKafkaErrorCode::AllBrokersDown)
        );
        let e = map_code("topic t", RDKafkaErrorCode::TopicAuthorizationFailed);
        let BusError::Other(detail) = &e else {
            panic!("a refused authorization is not unavailable: {e:?}");
        };
        assert_eq!(
            detail.find_cause::<RDKafkaErrorCode>(),
            Some(&RDKafkaErrorCode::TopicAuthorizationFailed)
        );
    }
}
