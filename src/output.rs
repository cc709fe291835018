//! What the CLI prints: progress lines on stderr (unless --quiet), results on stdout
//! (human text, or JSON with --json), errors with their causes.

use std::io::{IsTerminal, Write};

/// The user's output preferences.
pub struct Output {
    pub quiet: bool,
    pub json: bool,
}

impl Output {
    /// From the global flags.
    pub fn new(quiet: bool, json: bool) -> Output {
        Output { quiet, json }
    }

    /// A progress line on stderr (not with --quiet).
    pub fn step(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// Whether progress bars may be drawn: stderr is a terminal and not --quiet.
    pub fn bars(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// Prints a result: `json` with --json, else `human` (not with --quiet).
    pub fn result(&self, human: &str, json: serde_json::Value) {
        let mut stdout = std::io::stdout().lock();
        if self.json {
            let _ = writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        } else if !self.quiet && !human.is_empty() {
            let _ = writeln!(stdout, "{human}");
        }
    }

    /// Prints an error and its chain of causes on stderr.
    pub fn error(&self, e: &anyhow::Error) {
        let mut shown = e.to_string();
        eprintln!("error: {shown}");
        // Typed errors often quote their source in their own message: print a cause only
        // when it adds something.
        for cause in e.chain().skip(1) {
            let text = cause.to_string();
            if !shown.contains(&text) {
                eprintln!("  caused by: {text}");
                shown = text;
            }
        }
    }
}
