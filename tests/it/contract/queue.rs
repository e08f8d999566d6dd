//! The job-queue contract: send and receive byte for byte, visibility timeouts and
//! redelivery, acknowledgement by receipt, extending and releasing, dead-lettering after
//! the maximum receives, and listing, redriving and purging dead letters.

use super::{PATIENCE, QueueFixture, SLACK};
use crate::support::depth;
use oms::ports::{DeadLetter, JobQueue, QueueError, QueueMessage};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Runs a queue test on every queue adapter: one line per adapter (the async fn that
/// starts its fixture).
macro_rules! queue_test {
    ($name:ident, $test:expr) => {
        contract_test!($name, $test, {
            embedded: crate::adapters::embedded::Embedded::start,
            sqs: crate::adapters::sqs::SqsFixture::start,
            sqs_without_redrive: crate::adapters::sqs::SqsFixture::start_without_redrive,
        });
    };
}

async fn receive_now(q: &dyn JobQueue) -> Option<QueueMessage> {
    q.receive(Duration::ZERO).await.expect("receive")
}

async fn receive_one(q: &dyn JobQueue) -> QueueMessage {
    q.receive(Duration::from_secs(2))
        .await
        .expect("receive")
        .expect("a visible message must be received within 2 s")
}

queue_test!(send_then_receive_returns_the_body, async |f| {
    let q = f.queue().await;
    let body = r#"{"job_id":"j-1","file":"/srv/in/commandes ü 2026.csv"}"#;
    let id = q.send(body).await.expect("send");
    let m = receive_one(&*q).await;
    assert_eq!(m.body, body, "the body must come back byte for byte");
    assert_eq!(m.id, id, "the message id must be the one send returned");
    assert_eq!(m.receive_count, 1);
    assert!(!m.receipt.is_empty());
});

queue_test!(
    a_received_message_is_invisible_until_its_timeout_then_redelivered,
    async |f| {
        let q = f.queue().await;
        let other = f.queue().await;
        q.send("job-a").await.expect("send");
        let first = receive_one(&*q).await;
        assert_eq!(
            receive_now(&*other).await,
            None,
            "a received message must be invisible to another worker"
        );
        assert_eq!(receive_now(&*q).await, None);
        tokio::time::sleep(f.visibility() + SLACK).await;
        let again = receive_one(&*other).await;
        assert_eq!(again.id, first.id, "the same message must be redelivered");
        assert_eq!(again.body, "job-a");
        assert_eq!(
            again.receive_count, 2,
            "receive_count counts every delivery"
        );
        assert_ne!(
            again.receipt, first.receipt,
            "each delivery has its own receipt"
        );
    }
);

queue_test!(ack_deletes_the_message, async |f| {
    let q = f.queue().await;
    q.send("done").await.expect("send");
    let m = receive_one(&*q).await;
    q.ack(&m).await.expect("ack");
    tokio::time::sleep(f.visibility() + SLACK).await;
    assert_eq!(
        receive_now(&*q).await,
        None,
        "an acknowledged message must never be redelivered"
    );
    assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 0));
    assert!(
        matches!(q.ack(&m).await, Err(QueueError::LostReceipt)),
        "acknowledging a deleted message must say the receipt is lost"
    );
});

queue_test!(
    ack_with_a_stale_receipt_after_redelivery_is_lost_receipt,
    async |f| {
        let q = f.queue().await;
        q.send("slow job").await.expect("send");
        let stale = receive_one(&*q).await;
        tokio::time::sleep(f.visibility() + SLACK).await;
        let current = receive_one(&*q).await;
        assert_eq!(current.id, stale.id);
        assert!(
            matches!(q.ack(&stale).await, Err(QueueError::LostReceipt)),
            "ack with the receipt of an earlier delivery must fail with LostReceipt"
        );
        assert!(matches!(
            q.extend(&stale, f.visibility()).await,
            Err(QueueError::LostReceipt)
        ));
        assert!(matches!(
            q.release(&stale).await,
            Err(QueueError::LostReceipt)
        ));
        assert_eq!(
            receive_now(&*q).await,
            None,
            "the stale receipt must not have touched the current delivery"
        );
        q.ack(&current).await.expect("ack with the current receipt");
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 0));
    }
);

queue_test!(
    extend_keeps_the_message_invisible_past_its_original_timeout,
    async |f| {
        let q = f.queue().await;
        q.send("long job").await.expect("send");
        let m = receive_one(&*q).await;
        let extended_at = Instant::now();
        q.extend(&m, f.visibility() * 3).await.expect("extend");
        tokio::time::sleep_until((extended_at + f.visibility() + SLACK).into()).await;
        assert_eq!(
            receive_now(&*q).await,
            None,
            "an extended message must stay invisible past its original timeout"
        );
        tokio::time::sleep_until((extended_at + f.visibility() * 3 + SLACK).into()).await;
        let again = receive_one(&*q).await;
        assert_eq!(
            again.id, m.id,
            "after the extension runs out it is redelivered"
        );
        assert_eq!(again.receive_count, 2);
    }
);

queue_test!(release_makes_the_message_visible_at_once, async |f| {
    let q = f.queue().await;
    let other = f.queue().await;
    q.send("retry me").await.expect("send");
    let m = receive_one(&*q).await;
    q.release(&m).await.expect("release");
    let again = receive_now(&*other)
        .await
        .expect("a released message must be visible at once");
    assert_eq!(again.id, m.id);
    assert_eq!(again.receive_count, 2);
});

queue_test!(
    after_max_receives_the_message_goes_to_the_dead_letter_queue,
    async |f| {
        let q = f.queue().await;
        q.send("poison").await.expect("send");
        for n in 1..=f.max_receives() {
            let m = receive_one(&*q).await;
            assert_eq!(m.body, "poison");
            assert_eq!(m.receive_count, n);
            q.release(&m).await.expect("release");
        }
        assert_eq!(
            receive_now(&*q).await,
            None,
            "a message received max_receives times must be dead-lettered, not delivered"
        );
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 1));
        q.send("next").await.expect("send");
        let m = receive_one(&*q).await;
        assert_eq!(
            m.body, "next",
            "the queue keeps working after a dead-letter"
        );
        assert_eq!(m.receive_count, 1);
        assert_eq!(q.depth().await.expect("depth"), depth(0, 1, 1));
    }
);

queue_test!(depth_counts_visible_and_in_flight_messages, async |f| {
    let q = f.queue().await;
    assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 0));
    for body in ["a", "b", "c"] {
        q.send(body).await.expect("send");
    }
    assert_eq!(q.depth().await.expect("depth"), depth(3, 0, 0));
    let m = receive_one(&*q).await;
    assert_eq!(q.depth().await.expect("depth"), depth(2, 1, 0));
    q.ack(&m).await.expect("ack");
    assert_eq!(q.depth().await.expect("depth"), depth(2, 0, 0));
    let _held = receive_one(&*q).await;
    assert_eq!(q.depth().await.expect("depth"), depth(1, 1, 0));
    tokio::time::sleep(f.visibility() + SLACK).await;
    assert_eq!(
        q.depth().await.expect("depth"),
        depth(2, 0, 0),
        "a message whose visibility ran out counts as visible again"
    );
});

queue_test!(
    receive_on_an_empty_queue_waits_then_returns_none,
    async |f| {
        let q = f.queue().await;
        let wait = Duration::from_millis(300);
        let started = Instant::now();
        assert_eq!(q.receive(wait).await.expect("receive"), None);
        let took = started.elapsed();
        assert!(
            took >= wait - Duration::from_millis(50),
            "receive returned after {took:?}, before its wait of {wait:?}"
        );
        assert!(
            took < wait + Duration::from_millis(1500),
            "receive took {took:?} for a wait of {wait:?}"
        );
    }
);

queue_test!(receive_returns_a_message_sent_during_its_wait, async |f| {
    let q = f.queue().await;
    let sender = f.queue().await;
    let send = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        sender.send("late").await.expect("send");
    });
    let started = Instant::now();
    let m = q
        .receive(Duration::from_secs(4))
        .await
        .expect("receive")
        .expect("a message sent during the wait must be returned");
    assert_eq!(m.body, "late");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "receive must return soon after a message arrives, not at the end of its wait"
    );
    send.await.unwrap();
});

queue_test!(concurrent_receivers_never_get_the_same_message, async |f| {
    const N: usize = 50;
    let producer = f.queue().await;
    for i in 0..N {
        producer.send(&format!("m{i}")).await.expect("send");
    }
    let mut workers = Vec::new();
    for _ in 0..2 {
        let q = f.queue().await;
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(m) = q
                .receive(Duration::from_millis(300))
                .await
                .expect("receive")
            {
                q.ack(&m)
                    .await
                    .expect("ack: a message held by this receiver must not be lost");
                got.push((m.body, m.receive_count));
                // Leave the other receiver room to compete.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            got
        }));
    }
    let mut per_worker = Vec::new();
    for w in workers {
        per_worker.push(w.await.unwrap());
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (body, count) in per_worker.iter().flatten() {
        assert_eq!(*count, 1, "{body} was delivered more than once");
        *seen.entry(body.clone()).or_default() += 1;
    }
    let dupes: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dupes.is_empty(), "delivered to both receivers: {dupes:?}");
    let expected: HashSet<String> = (0..N).map(|i| format!("m{i}")).collect();
    let got: HashSet<String> = seen.into_keys().collect();
    assert_eq!(got, expected, "every message must be received exactly once");
    assert!(
        per_worker.iter().all(|w| !w.is_empty()),
        "both receivers should have taken part: {:?}",
        per_worker.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(producer.depth().await.expect("depth"), depth(0, 0, 0));
});

/// Sends each body (in this order, a little apart) and receives and releases until
/// every one of them is dead-lettered.
async fn dead_letter_all(f: &impl QueueFixture, q: &dyn JobQueue, bodies: &[&str]) {
    for body in bodies {
        q.send(body).await.expect("send");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let most = bodies.len() * f.max_receives() as usize;
    let mut receives = 0;
    while let Some(m) = receive_now(q).await {
        assert!(bodies.contains(&m.body.as_str()), "received {m:?}");
        receives += 1;
        assert!(
            receives <= most,
            "{receives} receives: a message must be dead-lettered after {} receives",
            f.max_receives()
        );
        q.release(&m).await.expect("release");
    }
    assert_eq!(
        receives, most,
        "each message is received max_receives times"
    );
    assert_eq!(
        q.depth().await.expect("depth"),
        depth(0, 0, bodies.len() as u64),
        "every message is dead-lettered"
    );
}

fn bodies(letters: &[DeadLetter]) -> Vec<&str> {
    letters.iter().map(|d| d.body.as_str()).collect()
}

queue_test!(
    dead_letters_lists_a_poison_message_and_leaves_it_in_place,
    async |f| {
        let q = f.queue().await;
        dead_letter_all(f, &*q, &["poison {1}", "poison ü 2"]).await;
        let listed = q.dead_letters(10).await.expect("dead_letters");
        assert_eq!(
            bodies(&listed),
            ["poison {1}", "poison ü 2"],
            "both dead letters, oldest first, bodies byte for byte"
        );
        for d in &listed {
            assert!(!d.id.is_empty());
            assert_eq!(
                d.receive_count,
                f.max_receives(),
                "a dead letter was received max_receives times: {d:?}"
            );
        }
        assert_ne!(listed[0].id, listed[1].id);
        assert_eq!(
            q.depth().await.expect("depth"),
            depth(0, 0, 2),
            "listing leaves the dead letters where they are"
        );
        let other = f.queue().await;
        let again = other.dead_letters(10).await.expect("dead_letters");
        assert_eq!(
            again, listed,
            "listing again (another client) gives the same"
        );
        let one = q.dead_letters(1).await.expect("dead_letters");
        assert_eq!(one.len(), 1, "at most max: {one:?}");
        assert!(listed.contains(&one[0]));
        assert!(q.dead_letters(0).await.expect("dead_letters").is_empty());
        assert_eq!(
            receive_now(&*q).await,
            None,
            "listing dead letters delivers nothing from the queue"
        );
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 2));
    }
);

queue_test!(
    redrive_moves_dead_letters_back_with_their_receive_count_reset,
    async |f| {
        let q = f.queue().await;
        dead_letter_all(f, &*q, &["poison"]).await;
        assert_eq!(
            bodies(&q.dead_letters(10).await.expect("dead_letters")),
            ["poison"]
        );
        // Right after a listing: the listing must not have hidden it from the redrive.
        let moved = q.redrive().await.expect("redrive");
        assert_eq!(moved, 1, "redrive returns how many moved");
        assert_eq!(
            q.depth().await.expect("depth"),
            depth(1, 0, 0),
            "the dead letter is back in the queue"
        );
        assert!(q.dead_letters(10).await.expect("dead_letters").is_empty());
        let other = f.queue().await;
        let m = receive_one(&*other).await;
        assert_eq!(m.body, "poison");
        assert_eq!(m.receive_count, 1, "redrive resets the receive count");
        // It has all its receives again before the next dead-lettering.
        other.release(&m).await.expect("release");
        for n in 2..=f.max_receives() {
            let m = receive_one(&*other).await;
            assert_eq!(m.receive_count, n);
            other.release(&m).await.expect("release");
        }
        assert_eq!(receive_now(&*other).await, None);
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 1));
        assert_eq!(q.redrive().await.expect("redrive"), 1);
        let m = receive_one(&*q).await;
        q.ack(&m).await.expect("ack");
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 0));
        assert_eq!(q.redrive().await.expect("redrive"), 0);
    }
);

queue_test!(
    purge_dead_deletes_every_dead_letter_and_counts_them,
    async |f| {
        let q = f.queue().await;
        dead_letter_all(f, &*q, &["bad 1", "bad 2", "bad 3"]).await;
        q.send("good").await.expect("send");
        assert_eq!(q.dead_letters(10).await.expect("dead_letters").len(), 3);
        assert_eq!(q.purge_dead().await.expect("purge_dead"), 3);
        assert_eq!(
            q.depth().await.expect("depth"),
            depth(1, 0, 0),
            "purge deletes the dead letters only"
        );
        assert!(q.dead_letters(10).await.expect("dead_letters").is_empty());
        assert_eq!(q.purge_dead().await.expect("purge_dead"), 0);
        assert_eq!(q.redrive().await.expect("redrive"), 0);
        let m = receive_one(&*q).await;
        assert_eq!(m.body, "good");
        assert_eq!(m.receive_count, 1);
    }
);

queue_test!(
    an_empty_dead_letter_queue_lists_redrives_and_purges_nothing,
    async |f| {
        let q = f.queue().await;
        assert!(q.dead_letters(10).await.expect("dead_letters").is_empty());
        assert_eq!(q.redrive().await.expect("redrive"), 0);
        assert_eq!(q.purge_dead().await.expect("purge_dead"), 0);
        q.send("alive").await.expect("send");
        let held = receive_one(&*q).await;
        // Held through the calls below, however long they look at the dead letters.
        q.extend(&held, PATIENCE).await.expect("extend");
        q.send("waiting").await.expect("send");
        assert!(q.dead_letters(10).await.expect("dead_letters").is_empty());
        assert_eq!(q.redrive().await.expect("redrive"), 0);
        assert_eq!(q.purge_dead().await.expect("purge_dead"), 0);
        assert_eq!(
            q.depth().await.expect("depth"),
            depth(1, 1, 0),
            "redrive and purge leave the queue's own messages alone"
        );
        q.ack(&held)
            .await
            .expect("ack: the held message is still held");
    }
);
