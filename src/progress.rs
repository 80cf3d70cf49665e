//! The progress line of a search that runs for over a second: elapsed time, states, states/s,
//! depth, queue, then what is searched (cut to the terminal's width), on stderr when it is a
//! terminal; nothing on a pipe or in CI.

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sim::{Live, LiveSnapshot};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a search runs before its progress line appears.
const QUIET_FOR: Duration = Duration::from_secs(1);
/// How often the line is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(200);

/// A progress line fed by a search's [`Live`] figures (nothing off a terminal).
pub struct Progress(Option<(ProgressBar, Arc<Live>)>);

impl Progress {
    /// Starts watching a search of `what` (a terminal only; elsewhere a no-op).
    pub fn start(what: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let live = Arc::new(Live::default());
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_msg}").expect("template"),
        );
        let (shown, watched, what) = (bar.clone(), live.clone(), what.to_string());
        std::thread::spawn(move || {
            let started = Instant::now();
            std::thread::sleep(QUIET_FOR);
            if shown.is_finished() {
                return;
            }
            shown.set_draw_target(ProgressDrawTarget::stderr());
            while !shown.is_finished() {
                shown.set_message(format!(
                    "{}  {what}",
                    figures(watched.snapshot(), started.elapsed())
                ));
                shown.tick();
                std::thread::sleep(REDRAW_EVERY);
            }
        });
        Progress(Some((bar, live)))
    }

    /// Where the search publishes its figures (`None` when nothing is shown).
    pub fn live(&self) -> Option<Arc<Live>> {
        self.0.as_ref().map(|(_, live)| live.clone())
    }

    /// Clears the line.
    pub fn finish(self) {
        if let Some((bar, _)) = self.0 {
            bar.finish_and_clear();
        }
    }
}

/// `states 1,234,567 (456,789/s)  depth 23  queue 8,901`.
fn figures(now: LiveSnapshot, elapsed: Duration) -> String {
    let rate = now.states as f64 / elapsed.as_secs_f64().max(1e-3);
    format!(
        "states {} ({}/s)  depth {}  queue {}",
        HumanCount(now.states),
        HumanCount(rate as u64),
        now.depth,
        HumanCount(now.queue)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_name_every_measure() {
        let now = LiveSnapshot {
            states: 2_000_000,
            depth: 17,
            queue: 4321,
        };
        let line = figures(now, Duration::from_secs(4));
        assert_eq!(line, "states 2,000,000 (500,000/s)  depth 17  queue 4,321");
    }
}
