//! The network model's configuration (what it accepts and the messages it refuses with), its
//! observation vocabulary, the reads it declares for each observation, and `info()`.

use models::network::{info, Config, Network, Step, TapCleanup};
use models::scenario::{Obs, Observable};
use serde_json::{json, Value};
use sim::Model;

fn parse(config: Value) -> Result<Config, String> {
    serde_json::from_value(config).map_err(|e| e.to_string())
}

fn build(config: Value) -> Result<Network, String> {
    Network::new(parse(config)?)
}

fn error(config: Value) -> String {
    build(config).expect_err("the configuration is refused")
}

#[test]
fn the_variant_defaults_to_todays_upstream_and_implies_the_naming() {
    let net = build(json!({ "vms": [{ "name": "A", "backend": "ovs" }] })).unwrap();
    assert_eq!(net.tap_cleanup(), TapCleanup::MonotonicNames);
    let names: Vec<&str> = TapCleanup::VALUES.iter().map(|(n, _)| *n).collect();
    for name in names {
        let config = json!({ "vms": [{ "name": "A", "backend": "bridge" }], "tap_cleanup": name });
        let net = build(config).unwrap();
        let expected = name == "monotonic-names";
        assert_eq!(
            net.tap_cleanup().naming() == models::network::Naming::Monotonic,
            expected
        );
    }
}

#[test]
fn unknown_fields_and_values_are_refused_by_name() {
    let e = parse(json!({ "vms": [], "tap_clenaup": "mac-check" })).unwrap_err();
    assert!(e.contains("tap_clenaup"), "{e}");
    let e = parse(json!({ "vms": [{ "name": "A", "backend": "ovs", "nic": 1 }] })).unwrap_err();
    assert!(e.contains("nic"), "{e}");
    let e = parse(json!({ "vms": [{ "name": "A", "backend": "macvtap" }] })).unwrap_err();
    assert!(e.contains("macvtap"), "{e}");
    let e = parse(json!({ "vms": [], "tap_cleanup": "atomic" })).unwrap_err();
    assert!(e.contains("atomic-check-and-remove"), "{e}");
}

#[test]
fn invalid_setups_get_messages_that_say_what_to_change() {
    assert!(error(json!({ "vms": [] })).contains("at least one VM"));
    let nine: Vec<Value> = (0..9)
        .map(|i| json!({ "name": format!("v{i}"), "backend": "ovs" }))
        .collect();
    assert!(error(json!({ "vms": nine })).contains("at most 8"));
    let e = error(json!({ "vms": [{ "name": "a.b", "backend": "ovs" }] }));
    assert!(e.contains("without dots"), "{e}");
    let e = error(json!({ "vms": [
        { "name": "A", "backend": "ovs" }, { "name": "A", "backend": "bridge" } ] }));
    assert!(e.contains("used twice"), "{e}");
    let e = error(json!({ "vms": [{ "name": "A", "backend": "ovs", "ops": ["stop"] }] }));
    assert!(
        e.contains("vm `A`: op 1 (stop)") && e.contains("running: true"),
        "{e}"
    );
    let e = error(json!({ "vms": [
        { "name": "A", "backend": "ovs", "ops": ["start", "stop", "stop"] } ] }));
    assert!(
        e.contains("op 3 (stop)") && e.contains("after op 2 (stop)"),
        "{e}"
    );
    let e = error(json!({ "vms": [
        { "name": "A", "backend": "ovs", "running": true, "ops": ["start"] } ] }));
    assert!(e.contains("would start a running domain"), "{e}");
}

#[test]
fn macs_are_checked_as_libvirt_checks_them() {
    let with_mac = |mac: &str| json!({ "vms": [{ "name": "A", "backend": "ovs", "mac": mac }] });
    assert!(build(with_mac("52:54:00:AB:cd:01")).is_ok());
    assert!(error(with_mac("52:54:00:ab:cd")).contains("not a MAC address"));
    assert!(error(with_mac("52:54:00:ab:cd:zz")).contains("not a MAC address"));
    assert!(error(with_mac("01:00:5e:00:00:01")).contains("multicast"));
    assert!(error(with_mac("fe:54:00:00:00:01")).contains("0xFE"));
}

fn seed() -> Network {
    build(json!({
        "vms": [
            { "name": "A", "backend": "ovs", "running": true, "ops": ["stop"] },
            { "name": "B", "backend": "bridge", "ops": ["start"] },
        ],
        "tap_cleanup": "unconditional",
    }))
    .unwrap()
}

#[test]
fn observations_have_stable_names_in_a_fixed_order() {
    let net = seed();
    let state = &net.init_states()[0];
    let obs = net.observe(state);
    let names: Vec<&str> = obs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "A.state",
            "A.ifname",
            "A.connected",
            "A.attach_error",
            "A.done",
            "A.removed_foreign_port",
            "B.state",
            "B.ifname",
            "B.connected",
            "B.attach_error",
            "B.done",
            "B.removed_foreign_port",
            "net.ports",
            "net.stale_ports",
            "net.taps",
            "net.bridge_ports",
            "net.foreign_removal",
        ]
    );
    let value = |name: &str| obs.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(value("A.state"), Obs::Str("running".into()));
    assert_eq!(value("A.ifname"), Obs::Str("vnet0".into()));
    assert_eq!(value("A.connected"), Obs::Bool(true));
    assert_eq!(value("B.state"), Obs::Str("shutoff".into()));
    assert_eq!(value("B.ifname"), Obs::Str("none".into()));
    assert_eq!(value("B.attach_error"), Obs::Str("none".into()));
    assert_eq!(value("net.ports"), Obs::Int(1));
    assert_eq!(value("net.taps"), Obs::Int(1));
    for (name, _) in &obs {
        assert!(net.observation_reads(name).is_some(), "{name} has reads");
    }
    assert!(net.observation_reads("C.state").is_none());
    assert!(net.observation_reads("net.nothing").is_none());
}

#[test]
fn steps_are_labelled_with_their_upstream_functions() {
    let net = seed();
    assert_eq!(net.actors(), ["api-A", "api-B"]);
    let state = &net.init_states()[0];
    let mut actions = Vec::new();
    net.actions(state, &mut actions);
    let infos: Vec<(String, Option<String>)> = actions
        .iter()
        .map(|a| {
            let info = net.step_info(a);
            (info.label, info.upstream)
        })
        .collect();
    assert_eq!(
        infos,
        [
            ("kill".to_string(), Some("qemuProcessKill".to_string())),
            (
                "tap-create".to_string(),
                Some("virNetDevTapCreate".to_string())
            ),
        ]
    );
    assert_eq!(
        Step::RemovePort.upstream(),
        "virNetDevOpenvswitchRemovePort"
    );
    assert!(!net.is_done(state));
}

#[test]
fn info_lists_the_tap_cleanup_attach_and_datapath_axes() {
    let info = info();
    assert_eq!(info.name, "network");
    let keys: Vec<&str> = info.axes.iter().map(|a| a.key).collect();
    assert_eq!(keys, ["tap_cleanup", "tap_attach", "datapath"]);
    let values = |k: usize| -> Vec<&str> { info.axes[k].values.iter().map(|(v, _)| *v).collect() };
    assert_eq!(values(1), ["attach", "reattach"]);
    assert_eq!(values(2), ["kernel", "netdev"]);
    for (k, v) in [(1, "attach"), (1, "reattach"), (2, "kernel"), (2, "netdev")] {
        let key = info.axes[k].key;
        let config = json!({ "vms": [{ "name": "A", "backend": "ovs" }], key: v });
        let config: models::network::Config = serde_json::from_value(config).unwrap();
        Network::new(config).expect("valid");
    }
    let values: Vec<&str> = info.axes[0].values.iter().map(|(v, _)| *v).collect();
    assert_eq!(
        values,
        [
            "unconditional",
            "mac-check",
            "exists-check",
            "atomic-check-and-remove",
            "monotonic-names"
        ]
    );
    for value in values {
        let parsed: TapCleanup = serde_json::from_value(json!(value)).unwrap();
        assert_eq!(serde_json::to_value(parsed).unwrap(), json!(value));
    }
}
