//! The request parser never panics, and what it accepts serializes back to an equal request.
#![no_main]

use eflow_guest_agent::protocol::{parse_request, request_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((id, req)) = parse_request(data) {
        let line = request_line(&id, &req);
        let (id2, req2) = parse_request(&line[..line.len() - 1]).expect("re-parse");
        assert_eq!(id, id2);
        assert_eq!(req, req2);
    }
});
