//! Seed 004 on the network model: the 2020 tap-name reuse race between a stopping VM A and a
//! starting VM B, under every `tap_cleanup` variant, on OVS and on a Linux bridge; an N-VM churn;
//! partial-order reduction against the full graph; and the shortest violating trace as a story.
//!
//! Run with `--nocapture` to see the verdict tables.

use models::network::{Action, Network, State, TapCleanup};
use models::scenario::{Obs, Observable};
use serde_json::{json, Value};
use sim::{explore, Footprint, Model, Options, Property, Reduction, StepInfo, Trace};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const VARIANTS: [TapCleanup; 5] = [
    TapCleanup::Unconditional,
    TapCleanup::MacCheck,
    TapCleanup::ExistsCheck,
    TapCleanup::AtomicCheckAndRemove,
    TapCleanup::MonotonicNames,
];

fn variant_name(v: TapCleanup) -> String {
    serde_json::to_value(v)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

fn network(vms: Value, variant: TapCleanup) -> Network {
    let config = json!({ "vms": vms, "tap_cleanup": variant_name(variant) });
    Network::new(serde_json::from_value(config).expect("config parses")).expect("config is valid")
}

/// A running, stops; B starts (the seed). `b_backend` is `ovs` or `bridge`.
fn seed(variant: TapCleanup, b_backend: &str) -> Network {
    network(
        json!([
            { "name": "A", "backend": "ovs", "running": true, "ops": ["stop"] },
            { "name": "B", "backend": b_backend, "ops": ["start"] },
        ]),
        variant,
    )
}

/// Three OVS VMs, each start, stop, start.
fn churn(variant: TapCleanup) -> Network {
    let vm =
        |name: &str| json!({ "name": name, "backend": "ovs", "ops": ["start", "stop", "start"] });
    network(json!([vm("A"), vm("B"), vm("C")]), variant)
}

fn observations(net: &Network, state: &State) -> BTreeMap<String, Obs> {
    net.observe(state).into_iter().collect()
}

fn is(obs: &BTreeMap<String, Obs>, key: &str, value: &str) -> bool {
    obs.get(key).map(|o| o.to_string()) == Some(value.to_string())
}

/// "Every VM libvirt calls running is connected."
fn running_connected(net: &Network, state: &State) -> bool {
    let obs = observations(net, state);
    net.vm_names().iter().all(|vm| {
        !is(&obs, &format!("{vm}.state"), "running") || is(&obs, &format!("{vm}.connected"), "true")
    })
}

/// "B ends up running" (its start did not fail).
fn b_running(net: &Network, state: &State) -> bool {
    is(&observations(net, state), "B.state", "running")
}

/// "B's start failed with EBUSY" (Laine's problem 2), for a `sometimes` property.
fn b_ebusy(net: &Network, state: &State) -> bool {
    let obs = observations(net, state);
    is(&obs, "B.state", "start-failed") && is(&obs, "B.attach_error", "EBUSY")
}

/// The network model with one at-end property, an optional `sometimes` property, and the terminal
/// observations as outcomes (what the scenario layer does from YAML).
struct Checked {
    net: Network,
    at_end: fn(&Network, &State) -> bool,
    sometimes: Option<fn(&Network, &State) -> bool>,
}

impl Model for Checked {
    type State = State;
    type Action = Action;

    fn name(&self) -> String {
        self.net.name()
    }
    fn version(&self) -> u32 {
        self.net.version()
    }
    fn actors(&self) -> Vec<String> {
        self.net.actors()
    }
    fn init_states(&self) -> Vec<State> {
        self.net.init_states()
    }
    fn actions(&self, state: &State, out: &mut Vec<Action>) {
        self.net.actions(state, out)
    }
    fn next_state(&self, state: &State, action: &Action) -> State {
        self.net.next_state(state, action)
    }
    fn step_info(&self, action: &Action) -> StepInfo {
        self.net.step_info(action)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        let mut props = vec![Property::at_end("at-end", |m: &Checked, s: &State| {
            (m.at_end)(&m.net, s)
        })];
        if self.sometimes.is_some() {
            props.push(
                Property::sometimes("sometimes", |m: &Checked, s: &State| {
                    m.sometimes.is_some_and(|f| f(&m.net, s))
                })
                .reading(Footprint::ALL),
            );
        }
        props
    }
    fn footprint(&self, state: &State, action: &Action) -> Footprint {
        self.net.footprint(state, action)
    }
    fn future_footprint(&self, state: &State, actor: sim::ActorId) -> Footprint {
        self.net.future_footprint(state, actor)
    }
    fn is_done(&self, state: &State) -> bool {
        self.net.is_done(state)
    }
    fn outcome(&self, state: &State) -> Option<String> {
        let obs: Vec<String> = self
            .net
            .observe(state)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        Some(obs.join(" "))
    }
}

fn run(model: &Checked, reduction: Reduction) -> sim::Report<Checked> {
    let report = explore(
        model,
        &Options {
            reduction,
            ..Options::default()
        },
    );
    assert!(report.complete, "the search is exhaustive");
    report
}

/// Maximal paths (interleavings) from the initial state, and how many end in a terminal state
/// that breaks the at-end property, counted over the full graph.
fn interleavings(model: &Checked) -> (u64, u64) {
    fn go(m: &Checked, s: &State, memo: &mut HashMap<State, (u64, u64)>) -> (u64, u64) {
        if let Some(&r) = memo.get(s) {
            return r;
        }
        let mut actions = Vec::new();
        m.actions(s, &mut actions);
        let r = if actions.is_empty() {
            (1, u64::from(!(m.at_end)(&m.net, s)))
        } else {
            actions.iter().fold((0, 0), |(t, v), a| {
                let (t2, v2) = go(m, &m.next_state(s, a), memo);
                (t + t2, v + v2)
            })
        };
        memo.insert(s.clone(), r);
        r
    }
    let init = model.init_states().remove(0);
    go(model, &init, &mut HashMap::new())
}

/// One row of a verdict table.
struct Verdict {
    violated: bool,
    states: u64,
    terminal: u64,
    violating_terminal: u64,
    paths: u64,
    violating_paths: u64,
}

fn verdict(model: &Checked) -> Verdict {
    let report = run(model, Reduction::None);
    let (paths, violating_paths) = interleavings(model);
    assert_eq!(report.violated(), violating_paths > 0);
    Verdict {
        violated: report.violated(),
        states: report.states,
        terminal: report.terminal,
        violating_terminal: report.violating_terminal,
        paths,
        violating_paths,
    }
}

fn table(title: &str, rows: &[(TapCleanup, &Verdict)]) {
    eprintln!("{title}");
    eprintln!("  variant                  verdict   states terminal viol.term paths viol.paths");
    for (v, r) in rows {
        eprintln!(
            "  {:<24} {:<9} {:>6} {:>8} {:>9} {:>5} {:>10}",
            variant_name(*v),
            if r.violated { "VIOLATED" } else { "holds" },
            r.states,
            r.terminal,
            r.violating_terminal,
            r.paths,
            r.violating_paths
        );
    }
}

#[test]
fn seed_on_ovs_unconditional_and_checks_violate_atomic_and_monotonic_hold() {
    let verdicts: Vec<Verdict> = VARIANTS
        .iter()
        .map(|&v| {
            verdict(&Checked {
                net: seed(v, "ovs"),
                at_end: running_connected,
                sometimes: None,
            })
        })
        .collect();
    let rows: Vec<(TapCleanup, &Verdict)> = VARIANTS.iter().copied().zip(&verdicts).collect();
    table(
        "seed 004, A (ovs, running) stops, B (ovs) starts: B connected at end",
        &rows,
    );
    let (unconditional, mac, exists) = (&verdicts[0], &verdicts[1], &verdicts[2]);
    let (atomic, monotonic) = (&verdicts[3], &verdicts[4]);
    assert!(unconditional.violated);
    assert!(
        mac.violated && exists.violated,
        "the checks narrow the race, not close it"
    );
    assert!(!atomic.violated && !monotonic.violated);
    // Narrower: fewer violating interleavings (3 of 10 against 1 of 13). The violating end
    // state itself is the same single state in all three: A shut off, its row deleted, and B
    // running on vnet0 with no port.
    for check in [mac, exists] {
        assert!(check.violating_paths < unconditional.violating_paths);
        assert!(narrower(check, unconditional));
        assert_eq!(check.violating_terminal, unconditional.violating_terminal);
    }
    assert_eq!(unconditional.violating_terminal, 1);
    // GetMAC compares the FE-prefixed tap MAC with the guest MAC, so it acts as an exists check.
    assert_eq!(
        (mac.states, mac.violating_terminal, mac.violating_paths),
        (
            exists.states,
            exists.violating_terminal,
            exists.violating_paths
        )
    );
}

/// True when `a` violates on a strictly smaller share of its interleavings than `b`.
fn narrower(a: &Verdict, b: &Verdict) -> bool {
    u128::from(a.violating_paths) * u128::from(b.paths)
        < u128::from(b.violating_paths) * u128::from(a.paths)
}

#[test]
fn mac_check_ignores_shared_macs_since_the_tap_mac_is_fe_prefixed() {
    let shared = |v| {
        network(
            json!([
                { "name": "A", "backend": "ovs", "mac": "52:54:00:aa:bb:cc", "running": true,
                  "ops": ["stop"] },
                { "name": "B", "backend": "ovs", "mac": "52:54:00:aa:bb:cc", "ops": ["start"] },
            ]),
            v,
        )
    };
    let check = |net| {
        verdict(&Checked {
            net,
            at_end: running_connected,
            sometimes: None,
        })
    };
    let mac = check(shared(TapCleanup::MacCheck));
    let exists = check(shared(TapCleanup::ExistsCheck));
    assert_eq!(
        (mac.violating_terminal, mac.violating_paths, mac.paths),
        (
            exists.violating_terminal,
            exists.violating_paths,
            exists.paths
        )
    );
    assert_eq!((mac.violating_paths, mac.paths), (1, 13));
}

#[test]
fn seed_with_b_on_a_linux_bridge_reaches_ebusy_unless_names_are_monotonic() {
    eprintln!("seed 004, B on a Linux bridge: B running at end / B start-failed with EBUSY");
    let mut rows = Vec::new();
    for v in VARIANTS {
        let model = Checked {
            net: seed(v, "bridge"),
            at_end: b_running,
            sometimes: Some(b_ebusy),
        };
        let report = run(&model, Reduction::None);
        let (paths, violating_paths) = interleavings(&model);
        let ebusy = report.vacuous.is_empty();
        eprintln!(
            "  {:<24} B-running {:<9} EBUSY reachable: {ebusy:<5} states {} terminal {} \
             viol.term {} paths {paths} viol.paths {violating_paths}",
            variant_name(v),
            if report.violated() {
                "VIOLATED"
            } else {
                "holds"
            },
            report.states,
            report.terminal,
            report.violating_terminal,
        );
        // Every variant but monotonic-names lets B's new vnet0 be claimed by A's leftover OVS
        // row before B's SIOCBRADDIF; unconditional only until A's RemovePort, the check
        // variants (and C, which also skips removal when the device exists) for good.
        let expect = v != TapCleanup::MonotonicNames;
        assert_eq!(ebusy, expect, "{v:?}: EBUSY reachable");
        assert_eq!(report.violated(), expect, "{v:?}: B can fail to start");
        // A's row left behind for good after B's failed start: only when the check saw B's
        // tap (the check variants and suggestion C), never under unconditional.
        let leftover = report
            .outcomes
            .keys()
            .any(|o| o.contains("B.state=start-failed") && o.contains("net.stale_ports=1"));
        let checks = matches!(
            v,
            TapCleanup::MacCheck | TapCleanup::ExistsCheck | TapCleanup::AtomicCheckAndRemove
        );
        assert_eq!(
            leftover, checks,
            "{v:?}: A's port row outlives B's failed start"
        );
        rows.push((v, paths, violating_paths, report.violating_terminal));
    }
    let (_, up, uv, ut) = rows[0];
    for &(v, paths, violating, terminal) in &rows[1..4] {
        // The new problem: more violating end states and a larger share of interleavings.
        assert!(terminal > ut, "{v:?}");
        assert!(u128::from(violating) * u128::from(up) > u128::from(uv) * u128::from(paths));
    }
}

#[test]
fn churn_of_three_vms_verdicts_and_por_agree_with_the_full_graph() {
    let mut rows = Vec::new();
    for v in VARIANTS {
        let model = Checked {
            net: churn(v),
            at_end: running_connected,
            sometimes: None,
        };
        let full = run(&model, Reduction::None);
        let por = run(&model, Reduction::Por);
        let expect = matches!(
            v,
            TapCleanup::Unconditional | TapCleanup::MacCheck | TapCleanup::ExistsCheck
        );
        assert_eq!(full.violated(), expect, "{v:?}");
        assert_eq!(por.violated(), full.violated(), "{v:?}: POR verdict");
        let outcomes =
            |r: &sim::Report<Checked>| r.outcomes.keys().cloned().collect::<BTreeSet<_>>();
        assert_eq!(outcomes(&por), outcomes(&full), "{v:?}: POR outcome set");
        assert!(por.states <= full.states);
        eprintln!(
            "  {:<24} POR states {} of {} (terminal {} of {})",
            variant_name(v),
            por.states,
            full.states,
            por.terminal,
            full.terminal
        );
        let (paths, violating_paths) = interleavings(&model);
        rows.push((
            v,
            Verdict {
                violated: full.violated(),
                states: full.states,
                terminal: full.terminal,
                violating_terminal: full.violating_terminal,
                paths,
                violating_paths,
            },
        ));
    }
    let refs: Vec<(TapCleanup, &Verdict)> = rows.iter().map(|(v, r)| (*v, r)).collect();
    table("churn: A, B, C on OVS, each start, stop, start", &refs);
    let unconditional = &rows[0].1;
    for (_, check) in &rows[1..3] {
        // Same bad end states; a smaller share of the (more numerous) interleavings.
        assert_eq!(check.violating_terminal, unconditional.violating_terminal);
        assert!(narrower(check, unconditional));
    }
}

#[test]
fn shortest_unconditional_violation_replays_as_the_seed_story() {
    let model = Checked {
        net: seed(TapCleanup::Unconditional, "ovs"),
        at_end: running_connected,
        sometimes: None,
    };
    let report = run(&model, Reduction::None);
    let violation = &report.violations[0];
    let path = violation.path.as_ref().expect("paths are recorded");
    let trace = Trace::from_path(&model, path);
    let states = trace.replay(&model).expect("the trace replays");
    assert!(!running_connected(&model.net, states.last().unwrap()));
    let story: Vec<String> = trace
        .steps
        .iter()
        .filter(|s| s.label != "stop-teardown")
        .map(|s| format!("{}: {}", s.actor, s.upstream.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        story,
        [
            "api-A: qemuProcessKill",
            "api-B: virNetDevTapCreate",
            "api-B: virNetDevOpenvswitchAddPort",
            "api-A: virNetDevOpenvswitchRemovePort",
        ]
    );
    let create = trace
        .steps
        .iter()
        .find(|s| s.label == "tap-create")
        .unwrap();
    assert!(
        create
            .changes
            .iter()
            .any(|c| c.path == "vms[1].ifname" && c.after == json!("vnet0")),
        "B's tap reuses A's name: {:?}",
        create.changes
    );
    let yaml = trace.to_yaml();
    assert_eq!(Trace::from_yaml(&yaml).unwrap(), trace);
    for step in &trace.steps {
        eprintln!(
            "  {}: {} ({})",
            step.actor,
            step.label,
            step.upstream.as_deref().unwrap_or("")
        );
    }
}

#[test]
fn por_keeps_verdicts_and_outcomes_on_a_mixed_ovs_and_bridge_config() {
    for v in VARIANTS {
        let model = Checked {
            net: network(
                json!([
                    { "name": "A", "backend": "ovs", "running": true, "ops": ["stop", "start"] },
                    { "name": "B", "backend": "bridge", "running": true, "ops": ["stop", "start"] },
                    { "name": "C", "backend": "ovs", "ops": ["start", "stop"] },
                ]),
                v,
            ),
            at_end: running_connected,
            sometimes: None,
        };
        let full = run(&model, Reduction::None);
        let por = run(&model, Reduction::Por);
        let outcomes =
            |r: &sim::Report<Checked>| r.outcomes.keys().cloned().collect::<BTreeSet<_>>();
        assert_eq!(por.violated(), full.violated(), "{v:?}: POR verdict");
        assert_eq!(outcomes(&por), outcomes(&full), "{v:?}: POR outcome set");
        eprintln!(
            "  {:<24} {:<9} POR states {} of {}, terminal {} of {}",
            variant_name(v),
            if full.violated() { "VIOLATED" } else { "holds" },
            por.states,
            full.states,
            por.terminal,
            full.terminal
        );
    }
}

/// "No RemovePort deleted another VM's row".
fn no_foreign_removal(net: &Network, state: &State) -> bool {
    is(&observations(net, state), "net.foreign_removal", "false")
}

#[test]
fn only_the_counter_keeps_removeport_to_the_vms_own_row() {
    for v in VARIANTS {
        let verdicts: Vec<bool> = [seed(v, "ovs"), churn(v)]
            .into_iter()
            .map(|net| {
                let model = Checked {
                    net,
                    at_end: no_foreign_removal,
                    sometimes: None,
                };
                run(&model, Reduction::Por).violated()
            })
            .collect();
        eprintln!(
            "  {:<24} foreign removal: seed {} churn {}",
            variant_name(v),
            verdicts[0],
            verdicts[1]
        );
        // Suggestion C only deletes rows whose device is gone, but in the churn such a row can
        // be another stopped VM's leftover: harmless, yet not its own.
        let seed_expect = !matches!(
            v,
            TapCleanup::AtomicCheckAndRemove | TapCleanup::MonotonicNames
        );
        let churn_expect = v != TapCleanup::MonotonicNames;
        assert_eq!(verdicts, [seed_expect, churn_expect], "{v:?}");
    }
}

/// The seed with explicit `tap_cleanup`, `tap_attach` and `datapath`.
fn seed_with(cleanup: &str, attach: &str, datapath: &str, b_backend: &str) -> Network {
    let config = json!({
        "vms": [
            { "name": "A", "backend": "ovs", "running": true, "ops": ["stop"] },
            { "name": "B", "backend": b_backend, "ops": ["start"] },
        ],
        "tap_cleanup": cleanup,
        "tap_attach": attach,
        "datapath": datapath,
    });
    Network::new(serde_json::from_value(config).expect("config parses")).expect("config is valid")
}

/// Laine Stump's proposal A (virNetDevTapReattachBridge in virNetDevTapCreateInBridgePort),
/// alone and with B and C, per datapath. On the kernel datapath a leftover row makes the new tap
/// an `ovs-system` slave: ReattachBridge removes it from OVS before a Linux-bridge attach (no
/// EBUSY), but for an OVS NIC `iface-to-br` names the right bridge and it returns without
/// AddPort, so B runs on A's row. On the netdev datapath nothing is ever a master, so
/// ReattachBridge is AttachBridge.
#[test]
fn proposal_a_fixes_the_bridge_ebusy_on_the_kernel_datapath_but_not_the_ovs_race() {
    // (cleanup, attach, datapath, B backend, violated?)
    let table = [
        ("unconditional", "reattach", "kernel", "ovs", true),
        ("exists-check", "reattach", "kernel", "ovs", true),
        ("atomic-check-and-remove", "reattach", "kernel", "ovs", true),
        ("atomic-check-and-remove", "attach", "kernel", "ovs", false),
        ("unconditional", "reattach", "netdev", "ovs", true),
        ("exists-check", "reattach", "netdev", "ovs", true),
        (
            "atomic-check-and-remove",
            "reattach",
            "netdev",
            "ovs",
            false,
        ),
        ("unconditional", "reattach", "kernel", "bridge", false),
        ("exists-check", "reattach", "kernel", "bridge", false),
        (
            "atomic-check-and-remove",
            "reattach",
            "kernel",
            "bridge",
            false,
        ),
        ("unconditional", "attach", "kernel", "bridge", true),
        ("exists-check", "attach", "kernel", "bridge", true),
        (
            "atomic-check-and-remove",
            "attach",
            "kernel",
            "bridge",
            true,
        ),
        ("unconditional", "attach", "netdev", "bridge", false),
        ("exists-check", "attach", "netdev", "bridge", false),
        (
            "atomic-check-and-remove",
            "attach",
            "netdev",
            "bridge",
            false,
        ),
        ("unconditional", "reattach", "netdev", "bridge", false),
        ("exists-check", "reattach", "netdev", "bridge", false),
        (
            "atomic-check-and-remove",
            "reattach",
            "netdev",
            "bridge",
            false,
        ),
    ];
    for (cleanup, attach, datapath, b, violated) in table {
        let at_end = if b == "ovs" {
            running_connected
        } else {
            b_running
        };
        let model = Checked {
            net: seed_with(cleanup, attach, datapath, b),
            at_end,
            sometimes: None,
        };
        let full = run(&model, Reduction::None);
        let por = run(&model, Reduction::Por);
        let what = format!("{cleanup} {attach} {datapath} B on {b}");
        eprintln!(
            "  {what:<50} {}",
            if full.violated() { "VIOLATED" } else { "holds" }
        );
        assert_eq!(full.violated(), violated, "{what}");
        assert_eq!(por.violated(), full.violated(), "{what}: POR verdict");
        let outcomes =
            |r: &sim::Report<Checked>| r.outcomes.keys().cloned().collect::<BTreeSet<_>>();
        assert_eq!(outcomes(&por), outcomes(&full), "{what}: POR outcome set");
        let ebusy = outcomes(&full)
            .iter()
            .any(|o| o.contains("B.attach_error=EBUSY"));
        assert_eq!(ebusy, b == "bridge" && violated, "{what}: EBUSY reachable");
        if b == "ovs" && datapath == "kernel" && attach == "reattach" && cleanup != "unconditional"
        {
            // ReattachBridge found the tap on the right bridge through A's row and returned
            // without AddPort, and A's check kept the row: B runs on a row carrying A's vm-id.
            // (Under unconditional A's RemovePort then deletes that row, as in the seed.)
            let on_a_row = outcomes(&full).iter().any(|o| {
                o.contains("B.state=running")
                    && o.contains("B.connected=false")
                    && o.contains("net.stale_ports=1")
            });
            assert!(on_a_row, "{what}: B on A's row is reachable");
        }
    }
}

/// The steps ReattachBridge takes on the kernel datapath for a Linux-bridge NIC whose new tap a
/// leftover OVS row has taken: GetMaster says `ovs-system`, `iface-to-br` names the OVS bridge,
/// RemovePort takes it out, then SIOCBRADDIF succeeds.
#[test]
fn reattach_story_on_the_kernel_datapath_removes_the_tap_from_ovs_first() {
    let net = seed_with("exists-check", "reattach", "kernel", "bridge");
    let mut state = net.init_states().remove(0);
    let mut story = Vec::new();
    for (vm, label) in [
        (0, "kill"),
        (1, "tap-create"),
        (0, "stop-teardown"),
        (0, "exists"),
        (1, "get-master"),
        (1, "iface-to-br"),
        (1, "reattach-del-port"),
        (1, "bridge-add-port"),
    ] {
        let mut actions = Vec::new();
        net.actions(&state, &mut actions);
        let action = actions
            .into_iter()
            .find(|a| a.vm == vm && net.step_info(a).label == label)
            .unwrap_or_else(|| panic!("vm {vm} {label} is not enabled"));
        story.push(net.step_info(&action).upstream.unwrap());
        state = net.next_state(&state, &action);
    }
    assert!(net.is_done(&state));
    assert!(b_running(&net, &state));
    assert_eq!(
        &story[4..],
        [
            "virNetDevGetMaster",
            "virNetDevOpenvswitchInterfaceGetMaster",
            "virNetDevOpenvswitchRemovePort",
            "virNetDevBridgeAddPort",
        ]
    );
    let obs = observations(&net, &state);
    assert!(
        is(&obs, "B.removed_foreign_port", "true"),
        "B removed A's row"
    );
    assert!(is(&obs, "net.ports", "0"));
}

/// A with `qemu-exits` (QEMU exits by itself: guest poweroff, crash) instead of `stop`.
fn seed_qemu_exits(cleanup: &str, datapath: &str, b_backend: &str) -> Network {
    let config = json!({
        "vms": [
            { "name": "A", "backend": "ovs", "running": true, "ops": ["qemu-exits"] },
            { "name": "B", "backend": b_backend, "ops": ["start"] },
        ],
        "tap_cleanup": cleanup,
        "datapath": datapath,
    });
    Network::new(serde_json::from_value(config).expect("config parses")).expect("config is valid")
}

/// When QEMU exits by itself the tap (and its name) is gone before `qemuProcessStop` even
/// starts: monitor EOF, the event, the worker's stop job come first. Same verdicts as the
/// destroy path. The window between the tap's death and A's per-NIC cleanup is wider: under
/// unconditional a larger share of interleavings lose B's port (OVS), and under every variant
/// that can reach EBUSY a larger share end in it (B on a Linux bridge). The check variants'
/// OVS window (between the check and RemovePort) is as narrow as before.
#[test]
fn qemu_exiting_by_itself_opens_a_wider_window_than_destroy() {
    for v in VARIANTS {
        let name = variant_name(v);
        for b in ["ovs", "bridge"] {
            let at_end = if b == "ovs" {
                running_connected
            } else {
                b_running
            };
            let exits = verdict(&Checked {
                net: seed_qemu_exits(&name, "kernel", b),
                at_end,
                sometimes: None,
            });
            let destroy = verdict(&Checked {
                net: seed(v, b),
                at_end,
                sometimes: None,
            });
            eprintln!(
                "  {name:<24} B on {b:<6} qemu-exits {}/{} violating paths, destroy {}/{}",
                exits.violating_paths, exits.paths, destroy.violating_paths, destroy.paths
            );
            assert_eq!(exits.violated, destroy.violated, "{name} {b}");
            if destroy.violated && (b == "bridge" || v == TapCleanup::Unconditional) {
                assert!(
                    narrower(&destroy, &exits),
                    "{name} {b}: the window is wider"
                );
            }
        }
    }
    let net = seed_qemu_exits("unconditional", "kernel", "ovs");
    let model = Checked {
        net,
        at_end: running_connected,
        sometimes: None,
    };
    let report = run(&model, Reduction::None);
    let path = report.violations[0]
        .path
        .as_ref()
        .expect("paths are recorded");
    let trace = Trace::from_path(&model, path);
    let upstream: Vec<&str> = trace
        .steps
        .iter()
        .filter(|s| s.actor == "api-A")
        .map(|s| s.upstream.as_deref().unwrap())
        .collect();
    assert_eq!(
        upstream,
        [
            "tun_chr_close",
            "qemuProcessHandleMonitorEOF",
            "processMonitorEOFEvent",
            "qemuProcessStop",
            "virNetDevOpenvswitchRemovePort",
        ]
    );
}

#[test]
fn qemu_exits_needs_a_running_domain() {
    let config = json!({ "vms": [{ "name": "A", "backend": "ovs", "ops": ["qemu-exits"] }] });
    let err = Network::new(serde_json::from_value(config).unwrap()).unwrap_err();
    assert!(err.contains("qemu-exits"), "{err}");
}
