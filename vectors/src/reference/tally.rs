//! Pass/fail counts per check group, printed in the format `run.sh` sums up.

/// Outcomes of one group of checks.
#[derive(Debug, Default)]
pub struct Group {
    pub name: String,
    pub passed: usize,
    pub failures: Vec<String>,
    /// Extra facts to print under the group line (what was compared, how many).
    pub notes: Vec<String>,
}

/// Groups in the order they were first used.
#[derive(Debug)]
pub struct Tally {
    prefix: String,
    groups: Vec<Group>,
}

impl Tally {
    pub fn new(prefix: impl Into<String>) -> Tally {
        Tally {
            prefix: prefix.into(),
            groups: Vec::new(),
        }
    }

    pub fn group(&mut self, name: &str) -> &mut Group {
        if let Some(i) = self.groups.iter().position(|g| g.name == name) {
            return &mut self.groups[i];
        }
        self.groups.push(Group {
            name: name.to_owned(),
            ..Group::default()
        });
        self.groups.last_mut().expect("just pushed")
    }

    pub fn record(&mut self, group: &str, outcome: Result<(), String>) {
        let g = self.group(group);
        match outcome {
            Ok(()) => g.passed += 1,
            Err(e) => g.failures.push(e),
        }
    }

    pub fn note(&mut self, group: &str, note: impl Into<String>) {
        self.group(group).notes.push(note.into());
    }

    pub fn totals(&self) -> (usize, usize) {
        self.groups
            .iter()
            .fold((0, 0), |(p, f), g| (p + g.passed, f + g.failures.len()))
    }

    /// One line per group (`ok  `/`FAIL`, prefix, name, counts), the first failures under it.
    pub fn print(&self) {
        for g in &self.groups {
            let status = if g.failures.is_empty() {
                "ok  "
            } else {
                "FAIL"
            };
            println!(
                "{status} {} {}: {} passed, {} failed",
                self.prefix,
                g.name,
                g.passed,
                g.failures.len()
            );
            for n in &g.notes {
                println!("       {n}");
            }
            for f in g.failures.iter().take(10) {
                println!("       {f}");
            }
            if g.failures.len() > 10 {
                println!("       ... and {} more", g.failures.len() - 10);
            }
        }
    }
}
