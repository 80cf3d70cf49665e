//! A spinner for searches that take over a second (on a terminal only; never in pipes or CI).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A spinner that shows itself only once a search has run for a second.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// Starts the spinner for `what`.
    pub fn start(what: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::hidden();
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("template"));
        bar.set_message(what.to_string());
        let shown = bar.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(1));
            if !shown.is_finished() {
                shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress(Some(bar))
    }

    /// Clears the spinner.
    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}
