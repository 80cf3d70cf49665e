//! The host's symlink chains and libvirt's private /dev for QEMU: the walk that populates it
//! (`qemuNamespacePrepareOneItem` at start, `qemuDomainNamespaceSetupDisk` later) and how a path
//! resolves inside it when file-posix reopens an image by name.

use super::config::DiskConfig;
use super::state::{Chain, Namespace, State};
use std::collections::BTreeSet;

/// One disk's source path and the two chains it may lead to.
#[derive(Clone, Debug)]
pub(crate) struct DiskChains {
    /// The source path in the domain XML.
    pub path: String,
    /// The chain at start and, if the storage agent may change it, after the change.
    chains: [Vec<String>; 2],
    /// The disk may be retargeted.
    pub retargetable: bool,
}

/// True for a path inside QEMU's private /dev (libvirt's tmpfs), false for one on the file
/// system QEMU shares with the host.
fn in_dev(path: &str) -> bool {
    path.starts_with("/dev/")
}

impl DiskChains {
    /// The chains of a configured disk.
    pub fn new(config: &DiskConfig) -> DiskChains {
        let retarget = config.retarget.clone();
        DiskChains {
            path: config.path.clone(),
            retargetable: retarget.is_some(),
            chains: [
                config.chain.clone(),
                retarget.unwrap_or_else(|| config.chain.clone()),
            ],
        }
    }

    /// The elements of one chain, link targets first, the device node last.
    pub fn chain(&self, which: Chain) -> &[String] {
        &self.chains[which as usize]
    }

    /// Whether the source path itself lives in /dev, so that QEMU sees libvirt's copy of it.
    pub fn link_in_dev(&self) -> bool {
        in_dev(&self.path)
    }
}

/// The namespace right after `qemuDomainBuildNamespace`: every chain walked as it is at start.
pub(crate) fn initial_namespace(disks: &[DiskChains]) -> Namespace {
    let mut ns = Namespace {
        nodes: BTreeSet::new(),
        links: vec![Chain::Initial; disks.len()],
    };
    for (d, disk) in disks.iter().enumerate() {
        setup_disk(&mut ns, disk, d, Chain::Initial);
    }
    ns
}

/// `qemuNamespacePrepareOneItem` over the host's chain followed by `qemuNamespaceMknodOne` for
/// what it queued: every element under /dev (outside /dev the file system is shared). The walk
/// stops silently at a missing element; on this model's host every chain element exists.
pub(crate) fn setup_disk(ns: &mut Namespace, disk: &DiskChains, d: usize, host: Chain) {
    if disk.link_in_dev() {
        ns.nodes.insert(disk.path.clone());
    }
    ns.links[d] = host;
    for element in disk.chain(host).iter().filter(|p| in_dev(p)) {
        ns.nodes.insert(element.clone());
    }
}

/// Whether `setup_disk` would change anything: the host chain names a node QEMU's /dev lacks,
/// or libvirt's copy of a /dev link leads elsewhere than the host's.
pub(crate) fn setup_would_change(ns: &Namespace, host: Chain, disk: &DiskChains, d: usize) -> bool {
    (disk.link_in_dev() && ns.links[d] != host)
        || disk
            .chain(host)
            .iter()
            .any(|p| in_dev(p) && !ns.nodes.contains(p))
}

/// `open(path)` inside QEMU's mount namespace: the source link is the host's (shared file
/// system) or libvirt's copy (under /dev); every element of the chain it leads to that lives
/// under /dev must exist in the namespace, else `ENOENT`.
pub(crate) fn resolves(ns: &Namespace, host: Chain, disk: &DiskChains, d: usize) -> bool {
    let which = if disk.link_in_dev() {
        ns.links[d]
    } else {
        host
    };
    disk.chain(which)
        .iter()
        .all(|p| !in_dev(p) || ns.nodes.contains(p))
}

/// [`resolves`] for disk `d` in `state`.
pub(crate) fn resolves_now(state: &State, disk: &DiskChains, d: usize) -> bool {
    resolves(&state.namespace, state.host_links[d], disk, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(path: &str) -> DiskChains {
        DiskChains::new(&DiskConfig {
            path: path.into(),
            chain: vec!["/dev/sp/volA".into()],
            retarget: Some(vec!["/dev/sp-byid/b".into(), "/dev/sp/volB".into()]),
            readonly: false,
        })
    }

    #[test]
    fn a_shared_link_follows_the_host_and_a_dev_link_does_not() {
        for (path, after_retarget) in [("/var/lib/one/disk.0", false), ("/dev/disk/x", true)] {
            let disks = vec![disk(path)];
            let mut ns = initial_namespace(&disks);
            assert!(ns.nodes.contains("/dev/sp/volA"));
            assert!(resolves(&ns, Chain::Initial, &disks[0], 0));
            let host = Chain::Retargeted;
            assert_eq!(resolves(&ns, host, &disks[0], 0), after_retarget, "{path}");
            assert!(setup_would_change(&ns, host, &disks[0], 0));
            setup_disk(&mut ns, &disks[0], 0, host);
            assert!(resolves(&ns, host, &disks[0], 0), "{path} after setup");
            assert!(!setup_would_change(&ns, host, &disks[0], 0));
        }
    }
}
