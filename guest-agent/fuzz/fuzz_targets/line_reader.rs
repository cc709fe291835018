//! The bounded line reader never panics and never returns a line over its limit.
#![no_main]

use eflow_guest_agent::lines::{Line, LineReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = LineReader::new(64);
    let mut src = data;
    for _ in 0..=data.len() {
        match r.next(&mut src).expect("reading a slice cannot fail") {
            Line::Complete(l) | Line::Truncated(l) => assert!(l.len() <= 64),
            Line::TooLong { len } => assert!(len > 64),
            Line::Eof => return,
        }
    }
});
