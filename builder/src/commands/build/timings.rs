//! `build --timings`: the wall time and CPU time of each stage of a build.
//!
//! CPU time is the whole process's (user + system, every thread) from `getrusage`, so a stage
//! that hashes or compresses on several threads shows more CPU than wall time. Stages run one
//! after another, so the difference across a stage is that stage's.

use std::time::{Duration, Instant};

use serde::Serialize;

/// One timed stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTime {
    /// The stage's name: `fetch`, `assemble`, ..., or an output format for the pass that
    /// writes that output.
    pub stage: String,
    /// Elapsed time, in seconds.
    pub wall_seconds: f64,
    /// CPU time of the whole process (user + system, all threads), in seconds.
    pub cpu_seconds: f64,
}

/// Records the stages of a build as they run; [`Timings::time`] marks each stage's bounds.
#[derive(Debug, Clone, Serialize)]
pub struct Timings {
    /// The stages, in the order they ran.
    pub stages: Vec<StageTime>,
    /// From the recorder's creation to [`Timings::finish`] (includes what ran between stages).
    pub total: StageTime,
    #[serde(skip)]
    start: (Instant, Duration),
}

impl Default for Timings {
    fn default() -> Self {
        Timings::new()
    }
}

impl Timings {
    /// A recorder whose total starts now.
    pub fn new() -> Timings {
        Timings {
            stages: Vec::new(),
            total: StageTime {
                stage: "total".into(),
                wall_seconds: 0.0,
                cpu_seconds: 0.0,
            },
            start: (Instant::now(), process_cpu_time()),
        }
    }

    /// Runs `f` as the stage `stage` and records its times (also when it fails: the error
    /// is the caller's to report).
    pub fn time<T>(&mut self, stage: &str, f: impl FnOnce() -> T) -> T {
        let (wall, cpu) = (Instant::now(), process_cpu_time());
        let out = f();
        self.stages.push(StageTime {
            stage: stage.to_string(),
            wall_seconds: wall.elapsed().as_secs_f64(),
            cpu_seconds: process_cpu_time().saturating_sub(cpu).as_secs_f64(),
        });
        out
    }

    /// Sets the total to the time since the recorder was made.
    pub fn finish(&mut self) {
        let (wall, cpu) = self.start;
        self.total.wall_seconds = wall.elapsed().as_secs_f64();
        self.total.cpu_seconds = process_cpu_time().saturating_sub(cpu).as_secs_f64();
    }

    /// The stages and the total as a table for a terminal, one line each.
    pub fn table(&self) -> String {
        let width = self
            .stages
            .iter()
            .map(|s| s.stage.len())
            .chain(["stage".len(), "total".len()])
            .max()
            .unwrap_or(5);
        let mut out = format!("{:<width$}  {:>9}  {:>9}\n", "stage", "wall", "cpu");
        for s in self.stages.iter().chain([&self.total]) {
            out.push_str(&format!(
                "{:<width$}  {:>8.3}s  {:>8.3}s\n",
                s.stage, s.wall_seconds, s.cpu_seconds
            ));
        }
        out
    }
}

/// User + system CPU time of the whole process, every thread included.
fn process_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `struct rusage` into the pointer it is given, which points
    // to one; RUSAGE_SELF is always a valid `who`, so it cannot fail.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return Duration::ZERO;
    }
    // SAFETY: getrusage succeeded, so it filled the struct (zeroed before, so it is
    // initialised whatever it wrote).
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_recorded_in_order_with_cpu_time() {
        let mut t = Timings::new();
        let v = t.time("spin", || {
            // Busy work that the optimiser cannot drop: CPU time must show it.
            let start = Instant::now();
            let mut x = 0u64;
            while start.elapsed() < Duration::from_millis(50) {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            x
        });
        std::hint::black_box(v);
        let r: Result<(), &str> = t.time("fails", || Err("no"));
        assert!(r.is_err());
        t.finish();
        let names: Vec<&str> = t.stages.iter().map(|s| s.stage.as_str()).collect();
        assert_eq!(names, ["spin", "fails"]);
        assert!(t.stages[0].wall_seconds >= 0.05, "{t:?}");
        assert!(t.stages[0].cpu_seconds >= 0.02, "{t:?}");
        assert!(t.total.wall_seconds >= t.stages[0].wall_seconds);
        let table = t.table();
        assert_eq!(table.lines().count(), 4, "{table}");
        assert!(table.lines().last().unwrap().starts_with("total"));
        let json = serde_json::to_value(&t).unwrap();
        assert!(json["stages"][0]["cpu_seconds"].is_f64());
        assert!(json["total"]["wall_seconds"].is_f64());
        assert!(json.get("start").is_none());
    }
}
