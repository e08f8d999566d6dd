//! `oms status`: the pipeline's figures as JSON after each step of the sample flow on
//! the embedded default, the same figures on MongoDB + Kafka (a figure a backend cannot
//! give is `null` and named in `not_available`, `–` on screen, never an error), and
//! `--watch` with JSON refused.
//! (`--watch` redrawing in place in a real terminal: `tty`.)

use crate::support::*;
use serde_json::Value;

fn status(oms: &Oms) -> Value {
    oms.json(&["status", "--output", "json"])
}

fn not_available(v: &Value) -> Vec<String> {
    v["not_available"]
        .as_array()
        .expect("not_available")
        .iter()
        .map(s)
        .collect()
}

#[test]
fn status_follows_the_sample_flow_on_the_embedded_default() {
    let oms = Oms::new();
    let v = status(&oms);
    assert_eq!(v["jobs"]["queued"], 0, "{v}");
    assert_eq!(v["queue"]["waiting"], 0, "{v}");
    assert_eq!(v["groups"][0]["group"], "oms-fulfil", "{v}");
    assert_eq!(v["groups"][0]["lag"], 0, "{v}");
    assert_eq!(v["orders"]["by_status"]["on_hold"], 0, "{v}");
    assert!(v["last_error"].is_null(), "{v}");
    assert!(not_available(&v).is_empty(), "{v}");

    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let job = oms.submit("storage/orders.csv");
    let v = status(&oms);
    assert_eq!(v["jobs"]["queued"], 1, "{v}");
    assert_eq!(v["queue"]["waiting"], 1, "{v}");

    oms.ingest_drain();
    let v = status(&oms);
    assert_eq!(
        (&v["jobs"]["queued"], &v["jobs"]["done"]),
        (&Value::from(0), &Value::from(1)),
        "{v}"
    );
    assert_eq!(v["queue"]["waiting"], 0, "{v}");
    assert_eq!(v["groups"][0]["lag"], 6, "six events for fulfil: {v}");
    assert_eq!(v["orders"]["by_status"]["on_hold"], 6, "{v}");
    assert_eq!(
        v["orders"]["on_hold_by_reason"],
        serde_json::json!([{ "reason": null, "orders": 6 }]),
        "not tried yet: {v}"
    );

    oms.fulfil_drain();
    // A job that fails: its file is gone when ingest takes it.
    oms.write("gone.csv", &format!("{ORDERS_HEADER}9001,15,1,1,1\n"));
    let failed = oms.submit("storage/gone.csv");
    std::fs::remove_file(oms.root.join("gone.csv")).expect("remove the file");
    let r = oms.run(&["ingest", "--drain"]);
    assert_eq!(r.code, 5, "a job failed: {r:?}");

    let v = status(&oms);
    assert_eq!(v["jobs"]["done"], 1, "{v}");
    assert_eq!(v["jobs"]["failed"], 1, "{v}");
    assert_eq!(v["jobs"]["in_progress"], 0, "{v}");
    assert_eq!(v["groups"][0]["lag"], 0, "{v}");
    assert_eq!(v["groups"][0]["members"], 0, "{v}");
    assert_eq!(v["orders"]["by_status"]["new_order"], 3, "{v}");
    assert_eq!(
        v["orders"]["on_hold_by_reason"],
        serde_json::json!([{ "reason": "insufficient_inventory", "orders": 3 }]),
        "{v}"
    );
    assert_eq!(v["last_error"]["job_id"], failed.as_str(), "{v}");
    assert!(s(&v["last_error"]["message"]).contains("gone.csv"), "{v}");
    assert!(not_available(&v).is_empty(), "{v}");
    assert_eq!(v["problems"], serde_json::json!([]), "{v}");
    assert_ne!(failed, job);

    let screen = oms.ok(&["status"]).stdout;
    for needle in [
        "queued 0",
        "done 1",
        "failed 1",
        "dead-lettered 0",
        "oms-fulfil",
        "new_order 3",
        "insufficient_inventory 3",
        &failed[..8],
    ] {
        assert!(screen.contains(needle), "{needle:?}:\n{screen}");
    }
    assert!(!screen.contains('–'), "every figure known:\n{screen}");
}

#[test]
fn watching_json_is_a_usage_error() {
    let oms = Oms::new();
    let r = oms.run(&["status", "--watch", "--output", "json"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--watch"), "{}", r.stderr);
}

#[test]
fn status_on_real_backends_gives_what_they_can() {
    let Some(services) = RealServices::from_env() else {
        return;
    };
    let mut oms = Oms::new();
    let wms = Oms::new();
    let bind = format!("127.0.0.1:{}", free_port());
    services.configure(&mut oms, "status", &bind);
    wms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let _warehouse = wms.serve_wms(&bind);

    let v = status(&oms);
    assert_eq!(v["queue"]["waiting"], 0, "{v}");
    oms.submit("storage/orders.csv");
    let v = status(&oms);
    assert_eq!(v["jobs"]["queued"], 1, "{v}");
    assert_eq!(v["queue"]["waiting"], 1, "{v}");
    oms.ingest_drain();
    oms.fulfil_drain();
    // A job that fails: its file is gone when ingest takes it.
    oms.write("gone.csv", &format!("{ORDERS_HEADER}9001,15,1,1,1\n"));
    let failed = oms.submit("storage/gone.csv");
    std::fs::remove_file(oms.root.join("gone.csv")).expect("remove the file");
    let r = oms.run(&["ingest", "--drain"]);
    assert_eq!(r.code, 5, "a job failed: {r:?}");

    let v = status(&oms);
    assert_eq!(v["jobs"]["queued"], 0, "{v}");
    assert_eq!(v["jobs"]["in_progress"], 0, "{v}");
    assert_eq!(v["jobs"]["done"], 1, "{v}");
    assert_eq!(v["jobs"]["failed"], 1, "{v}");
    assert_eq!(v["queue"]["waiting"], 0, "{v}");
    assert_eq!(v["queue"]["in_flight"], 0, "{v}");
    assert_eq!(v["queue"]["dead_lettered"], 0, "{v}");
    let env = |name: &str| {
        oms.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .expect(name)
    };
    let group = env("OMS_KAFKA_GROUP");
    assert_eq!(v["groups"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["groups"][0]["group"], group.as_str(), "{v}");
    assert_eq!(v["groups"][0]["lag"], 0, "{v}");
    assert_eq!(v["orders"]["by_status"]["new_order"], 3, "{v}");
    assert_eq!(v["orders"]["by_status"]["on_hold"], 3, "{v}");
    assert_eq!(
        v["orders"]["on_hold_by_reason"],
        serde_json::json!([{ "reason": "insufficient_inventory", "orders": 3 }]),
        "{v}"
    );
    assert_eq!(v["last_error"]["job_id"], failed.as_str(), "{v}");
    assert!(s(&v["last_error"]["message"]).contains("gone.csv"), "{v}");
    assert_eq!(v["problems"], serde_json::json!([]), "{v}");
    // Every figure is given by MongoDB and Kafka, but a group's members by a broker
    // that can describe its groups only (tansu 0.6, in the test services, cannot).
    let members = format!("groups.{group}.members");
    if broker_describes_groups(&env("OMS_KAFKA_BROKERS"), &group) {
        assert_eq!(v["groups"][0]["members"], 0, "{v}");
        assert!(not_available(&v).is_empty(), "{v}");
    } else {
        assert_eq!(not_available(&v), [members], "{v}");
    }

    let screen = oms.ok(&["status"]).stdout;
    for needle in [
        "queued 0",
        "done 1",
        "failed 1",
        "dead-lettered 0",
        group.as_str(),
        "new_order 3",
        "insufficient_inventory 3",
        &failed[..8],
    ] {
        assert!(screen.contains(needle), "{needle:?}:\n{screen}");
    }
    assert!(
        !oms.data.exists(),
        "status on real backends created the embedded data dir"
    );
}

/// Whether the broker answers DescribeGroups (for `group`), as Apache Kafka does.
fn broker_describes_groups(brokers: &str, group: &str) -> bool {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let client: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("a Kafka client");
    client
        .fetch_group_list(Some(group), std::time::Duration::from_secs(10))
        .is_ok()
}
