//! `virsh` as people paste it: command lines (after a time, a shell prompt `# `, `$ `, or
//! virsh's own `virsh # `; several on one line joined by `;`, `&&`, `||`), and the output of
//! `virsh event` (libvirt's domain events, which stand for the QMP events libvirt handled).

/// One `virsh` command the log shows: its event and the domain it names.
pub type Command = (&'static str, Option<String>);

/// Options of `virsh` itself that take a value.
const GLOBAL_VALUE_OPTIONS: [&str; 12] = [
    "-c",
    "--connect",
    "-d",
    "--debug",
    "-e",
    "--escape",
    "-k",
    "--keepalive-interval",
    "-K",
    "--keepalive-count",
    "-l",
    "--log",
];

/// Whether `word` runs virsh (`virsh`, `/usr/bin/virsh`, sudo's `COMMAND=/usr/bin/virsh`).
fn is_virsh(word: &str) -> bool {
    word == "virsh" || word.ends_with("/virsh")
}

/// Every well-formed `virsh` command in `line` that stands for a modelled API call. A line that
/// mentions virsh in prose (`virsh reboot --mode acpi, then …`) has the wrong number of
/// arguments and gives none.
pub fn commands(line: &str) -> Vec<Command> {
    if !line.contains("virsh") {
        return Vec::new();
    }
    let mut words = line
        .char_indices()
        .filter(|&(i, c)| {
            !c.is_whitespace()
                && line[..i]
                    .chars()
                    .next_back()
                    .is_none_or(char::is_whitespace)
        })
        .map(|(i, _)| (i, line[i..].split_whitespace().next().unwrap_or("")));
    let Some(start) = words.find(|(_, w)| is_virsh(w)).map(|(i, w)| i + w.len()) else {
        return Vec::new();
    };
    let rest = line[start..].trim_start();
    // virsh's interactive prompt `virsh # reboot A`
    let rest = rest.strip_prefix("# ").unwrap_or(rest);
    let Some(words) = shlex::split(rest) else {
        return Vec::new();
    };
    // the shell commands on the line: the first continues `virsh`, the others must run it
    let mut segments: Vec<Vec<String>> = vec![Vec::new()];
    for w in words {
        let (word, ends) = match w.as_str() {
            ";" | "&&" | "||" | "|" => (None, true),
            _ => match w.strip_suffix(';') {
                Some(head) => (Some(head.to_string()), true),
                None => (Some(w), false),
            },
        };
        segments.last_mut().expect("a segment").extend(word);
        if ends {
            segments.push(Vec::new());
        }
    }
    segments
        .iter()
        .enumerate()
        .filter_map(|(i, segment)| match (i, segment.first()) {
            (0, _) => command(segment),
            (_, Some(w)) if is_virsh(w) => command(&segment[1..]),
            _ => None,
        })
        .collect()
}

/// `virsh [OPTIONS] COMMAND ARGS` (without `virsh`).
fn command(args: &[String]) -> Option<Command> {
    let mut i = 0;
    while args.get(i).is_some_and(|w| w.starts_with('-')) {
        let takes_value = GLOBAL_VALUE_OPTIONS.contains(&args[i].as_str());
        i += if takes_value { 2 } else { 1 };
    }
    let name = args.get(i)?.as_str();
    let value_options: &[&str] = match name {
        "reboot" | "shutdown" => &["--mode"],
        "start" | "qemu-monitor-command" => &["--pass-fds"],
        _ => &[],
    };
    let mut positional = Vec::new();
    let mut domain = None;
    let mut mode = None;
    let mut hmp = false;
    let mut rest = args[i + 1..].iter();
    while let Some(w) = rest.next() {
        let (opt, inline) = match w.split_once('=') {
            Some((o, v)) if w.starts_with("--") => (o, Some(v.to_string())),
            _ => (w.as_str(), None),
        };
        if opt == "--domain" || value_options.contains(&opt) {
            let value = inline.or_else(|| rest.next().cloned())?;
            match opt {
                "--domain" => domain = Some(value),
                "--mode" => mode = Some(value),
                _ => {}
            }
        } else if opt == "--hmp" {
            hmp = true;
        } else if !opt.starts_with('-') {
            positional.push(w.clone());
        }
    }
    let domain_given = domain.is_some();
    if !domain_given && !positional.is_empty() {
        domain = Some(positional.remove(0));
    }
    let fixed = |n: usize| positional.len() == n && domain.is_some();
    let event = match name {
        "reboot" if fixed(0) => match mode.as_deref() {
            Some("acpi") => "api:reboot:acpi",
            Some("agent") => "api:reboot:agent",
            Some(_) => "api:reboot:other",
            None => "api:reboot",
        },
        "shutdown" if fixed(0) => match mode.as_deref() {
            Some("acpi") => "api:shutdown:acpi",
            Some("agent") => "api:shutdown:agent",
            Some(_) => "api:shutdown:other",
            None => "api:shutdown",
        },
        "destroy" if fixed(0) => "api:destroy",
        "start" if fixed(0) => "api:start",
        // `virsh create FILE`: the domain is in the file
        "create" if fixed(0) && !domain_given => return Some(("api:start", None)),
        "reset" if fixed(0) => "api:reset",
        "resume" if fixed(0) => "api:resume",
        "suspend" if fixed(0) => "api:suspend",
        "migrate" if domain.is_some() => "api:migrate",
        // only a passed-through `cont` is a model op
        "qemu-monitor-command" if domain.is_some() && is_cont(&positional.join(" "), hmp) => {
            "api:cont"
        }
        _ => return None,
    };
    Some((event, domain))
}

/// Whether a monitor command is `cont` (QMP `{"execute":"cont"}`, or HMP `cont` / `c`).
pub fn is_cont(command: &str, hmp: bool) -> bool {
    let command = command.trim();
    match serde_json::from_str::<serde_json::Value>(command) {
        Ok(v) => v.get("execute").and_then(|e| e.as_str()) == Some("cont"),
        Err(_) => hmp && matches!(command, "cont" | "c"),
    }
}

/// A `virsh event` line: `[TIME: ]event 'NAME' for domain 'D'[: DETAILS]`. Returns the
/// event it stands for (`None`: a domain event no model has, e.g. `Started`, or the agent's
/// state at start) and the domain.
pub fn domain_event(line: &str) -> Option<(Option<&'static str>, String)> {
    let at = line.find("event '")?;
    let rest = &line[at + "event '".len()..];
    let (kind, rest) = rest.split_once("' for domain '")?;
    let (domain, details) = rest.split_once('\'')?;
    let details = details.trim_start_matches(':').trim();
    let event = match kind {
        "reboot" => Some("qmp:RESET"),
        "lifecycle" => {
            let (what, detail) = details.split_once(' ').unwrap_or((details, ""));
            match what {
                "Suspended" => Some("qmp:STOP"),
                "Resumed" => Some("qmp:RESUME"),
                "Shutdown" if detail.contains("guest") => Some("qmp:SHUTDOWN:guest"),
                "Shutdown" if detail.contains("host") => Some("qmp:SHUTDOWN:host"),
                "Shutdown" => Some("qmp:SHUTDOWN"),
                _ => None,
            }
        }
        "agent-lifecycle" if details.contains("reason: 'channel event'") => {
            if details.contains("state: 'connected'") {
                Some("qmp:VSERPORT_CHANGE:open")
            } else {
                Some("qmp:VSERPORT_CHANGE:closed")
            }
        }
        _ => None,
    };
    Some((event, domain.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(line: &str) -> Vec<&'static str> {
        commands(line).into_iter().map(|c| c.0).collect()
    }

    #[test]
    fn command_lines_as_pasted() {
        assert_eq!(
            commands("# virsh reboot A --mode acpi"),
            [("api:reboot:acpi", Some("A".into()))]
        );
        assert_eq!(
            events("$ virsh -c qemu:///system shutdown --domain vm1 --mode=agent"),
            ["api:shutdown:agent"]
        );
        assert_eq!(events("virsh # destroy A"), ["api:destroy"]);
        assert_eq!(events("[root@h ~]# virsh -q start A"), ["api:start"]);
        assert_eq!(
            events("# virsh reboot A --mode acpi; virsh reboot A --mode agent"),
            ["api:reboot:acpi", "api:reboot:agent"]
        );
        assert_eq!(
            events("virsh qemu-monitor-command A '{\"execute\":\"cont\"}'"),
            ["api:cont"]
        );
        assert_eq!(
            events("virsh qemu-monitor-command A --hmp cont"),
            ["api:cont"]
        );
        assert!(events("virsh qemu-monitor-command A '{\"execute\":\"stop\"}'").is_empty());
        assert_eq!(
            events("2021-07-19 08:15:00.000 virsh migrate A qemu+ssh://dst/system --live"),
            ["api:migrate"]
        );
    }

    #[test]
    fn prose_about_virsh_is_not_a_command() {
        for line in [
            "# virsh reboot --mode acpi, then at once --mode agent; the guest shuts down",
            "virsh reboot",
            "Domain 'A' is being rebooted",
            "# run virsh event A --all --loop alongside",
        ] {
            assert!(events(line).is_empty(), "{line}");
        }
    }

    #[test]
    fn virsh_event_lines() {
        let e = |l: &str| domain_event(l).unwrap().0;
        assert_eq!(e("event 'reboot' for domain 'A'"), Some("qmp:RESET"));
        assert_eq!(
            e("2026-12-02 02:57:04.543+0000: event 'lifecycle' for domain 'A': Shutdown Finished after guest request"),
            Some("qmp:SHUTDOWN:guest")
        );
        assert_eq!(e("event 'lifecycle' for domain 'A': Started Booted"), None);
        assert_eq!(
            e("event 'agent-lifecycle' for domain 'A': state: 'disconnected' reason: 'channel event'"),
            Some("qmp:VSERPORT_CHANGE:closed")
        );
        assert_eq!(
            e("event 'agent-lifecycle' for domain 'A': state: 'disconnected' reason: 'domain started'"),
            None
        );
    }
}
