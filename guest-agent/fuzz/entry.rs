//! The entry points of the fuzz targets, one function per target: the cargo-fuzz targets in
//! `fuzz_targets/` call them, and the crate's tests replay `regressions/TARGET/` through them
//! (`tests/it/fuzz_regressions.rs`), so the fuzzers and the replay cannot drift apart.
#![allow(dead_code)] // each fuzz target uses one of them

/// The request parser never panics, and what it accepts serializes back to an equal request.
pub fn parse_request(data: &[u8]) {
    use eflow_guest_agent::protocol::{parse_request, request_line};
    if let Ok((id, req)) = parse_request(data) {
        let line = request_line(&id, &req);
        let (id2, req2) = parse_request(&line[..line.len() - 1]).expect("re-parse");
        assert_eq!(id, id2);
        assert_eq!(req, req2);
    }
}

/// The bounded line reader never panics and never returns a line over its limit.
pub fn line_reader(data: &[u8]) {
    use eflow_guest_agent::lines::{Line, LineReader};
    let mut r = LineReader::new(64);
    let mut src = data;
    for _ in 0..=data.len() {
        match r.next(&mut src).expect("reading a slice cannot fail") {
            Line::Complete(l) | Line::Truncated(l) => assert!(l.len() <= 64),
            Line::TooLong { len } => assert!(len > 64),
            Line::Eof => return,
        }
    }
}
