//! A one-line progress bar on stderr: the step, its number of the total, and a count within a
//! long step (blobs). Redrawn in place on a terminal; one line per change otherwise (logs).

use std::io::{IsTerminal, Write};

pub struct Progress {
    total: usize,
    done: usize,
    label: String,
    tty: bool,
}

const WIDTH: usize = 24;

impl Progress {
    pub fn new(total: usize) -> Progress {
        Progress {
            total,
            done: 0,
            label: String::new(),
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// Starts step `label` (steps are counted as they start).
    pub fn step(&mut self, label: &str) {
        if !self.label.is_empty() {
            self.done += 1;
        }
        self.label = label.to_owned();
        self.draw(None);
    }

    /// A count inside the current step.
    pub fn count(&mut self, n: usize, of: usize) {
        self.draw(Some((n, of)));
    }

    /// Everything done.
    pub fn finish(&mut self, label: &str) {
        self.done = self.total;
        self.label = label.to_owned();
        self.draw(None);
        if self.tty {
            eprintln!();
        }
    }

    /// Ends the bar's line before other output.
    pub fn interrupt(&self) {
        if self.tty {
            eprintln!();
        }
    }

    fn draw(&self, count: Option<(usize, usize)>) {
        let filled = (self.done * WIDTH) / self.total.max(1);
        let bar: String = (0..WIDTH)
            .map(|i| if i < filled { '#' } else { '-' })
            .collect();
        let extra = count.map_or(String::new(), |(n, of)| format!(" ({n}/{of})"));
        let line = format!(
            "[{bar}] {}/{} {}{extra}",
            self.done.min(self.total),
            self.total,
            self.label
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        } else {
            let _ = writeln!(err, "{line}");
        }
    }
}
