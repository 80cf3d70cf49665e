//! The example models of libvirt's synchronisation patterns written with the language's
//! primitives (`models/lang/job-queue.yaml`, `models/lang/worker-pool.yaml`): what they are
//! meant to show holds, the bug each one has a switch for is found, and reduction agrees.

use sim::{explore, Options, Reduction, Report};

const JOB_QUEUE: &str = include_str!("../../models/lang/job-queue.yaml");
const WORKER_POOL: &str = include_str!("../../models/lang/worker-pool.yaml");

fn run(
    path: &str,
    text: &str,
    params: &[(&str, &str)],
    reduction: Reduction,
) -> Report<lang::Program> {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = lang::Config {
        params,
        ..lang::Config::default()
    };
    let m = lang::load(path, text, &config).unwrap_or_else(|e| panic!("{}", e[0]));
    let r = explore(
        &m,
        &Options {
            reduction,
            ..Options::default()
        },
    );
    assert!(r.complete);
    r
}

fn violated(r: &Report<lang::Program>) -> Vec<&str> {
    let mut v: Vec<&str> = r.violations.iter().map(|v| v.property.as_str()).collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn jobs_exclude_each_other_only_with_the_wait() {
    let job = |n, wait, reduction| {
        run(
            "models/lang/job-queue.yaml",
            JOB_QUEUE,
            &[("N", n), ("wait_for_job", wait)],
            reduction,
        )
    };
    for n in ["2", "3"] {
        for reduction in [Reduction::None, Reduction::Por] {
            let r = job(n, "true", reduction);
            assert!(violated(&r).is_empty(), "N={n}: {:?}", violated(&r));
            let r = job(n, "false", reduction);
            assert_eq!(violated(&r), ["one job at a time"], "N={n}");
        }
    }
    // States explored, without and with reduction (docs/language.md quotes them): every
    // thread's future takes the domain lock, so no thread's steps can be explored alone.
    let counts: Vec<(u64, u64)> = [("2", "true"), ("3", "true"), ("2", "false"), ("3", "false")]
        .iter()
        .map(|(n, w)| {
            (
                job(n, w, Reduction::None).states,
                job(n, w, Reduction::Por).states,
            )
        })
        .collect();
    assert_eq!(counts, [(34, 34), (167, 167), (37, 37), (168, 168)]);
}

#[test]
fn one_worker_keeps_the_events_in_order_and_two_do_not() {
    let pool = |k, e, reduction| {
        run(
            "models/lang/worker-pool.yaml",
            WORKER_POOL,
            &[("K", k), ("E", e)],
            reduction,
        )
    };
    for e in ["2", "3"] {
        for reduction in [Reduction::None, Reduction::Por] {
            let r = pool("1", e, reduction);
            assert!(violated(&r).is_empty(), "E={e}: {:?}", violated(&r));
            for k in ["2", "3"] {
                let r = pool(k, e, reduction);
                assert_eq!(
                    violated(&r),
                    ["events are handled in the order QEMU sent them"],
                    "K={k} E={e}"
                );
            }
        }
    }
    // States explored, without and with reduction (docs/language.md quotes them): the monitor's
    // and every worker's futures touch the queue, so no actor's steps can be explored alone.
    let counts: Vec<(u64, u64)> = [("1", "3"), ("2", "3"), ("3", "3")]
        .iter()
        .map(|(k, e)| {
            (
                pool(k, e, Reduction::None).states,
                pool(k, e, Reduction::Por).states,
            )
        })
        .collect();
    assert_eq!(counts, [(22, 22), (124, 124), (484, 484)]);
}

/// The excerpts docs/language.md shows of the two models are theirs, word for word.
#[test]
fn the_documented_excerpts_are_the_models() {
    let doc = include_str!("../../docs/language.md");
    let start = doc.find("### Patterns").expect("the section");
    let end = start + doc[start..].find("\n## ").expect("a next section");
    let section = &doc[start..end];
    let excerpts: Vec<&str> = section
        .split("```yaml\n")
        .skip(1)
        .map(|b| &b[..b.find("```").expect("closed")])
        .collect();
    assert_eq!(excerpts.len(), 2);
    assert!(JOB_QUEUE.contains(excerpts[0]), "{}", excerpts[0]);
    assert!(WORKER_POOL.contains(excerpts[1]), "{}", excerpts[1]);
}
