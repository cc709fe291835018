//! Version ordering checked against dpkg itself (`dpkg --compare-versions`) on the classic cases
//! and on pseudo-random versions from a fixed seed.

use eflow_apt::version::compare;
use eflow_testkit::run;
use std::cmp::Ordering;
use std::process::Command;

/// dpkg's verdict: Less, Equal or Greater.
fn dpkg_cmp(a: &str, b: &str) -> Ordering {
    let rel = |op: &str| {
        let out = run(Command::new("dpkg").args(["--compare-versions", a, op, b]));
        match out.status.code() {
            Some(0) => true,
            Some(1) => false,
            other => panic!(
                "dpkg --compare-versions {a:?} {op} {b:?} failed: {other:?} {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    };
    if rel("lt") {
        Ordering::Less
    } else if rel("eq") {
        Ordering::Equal
    } else {
        Ordering::Greater
    }
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick(&mut self, s: &[u8]) -> char {
        s[(self.next() as usize) % s.len()] as char
    }
}

/// A valid version made of the characters that stress the ordering.
fn random_version(r: &mut Lcg) -> String {
    let mut v = String::new();
    if r.next() & 3 == 0 {
        v.push_str(&format!("{}:", r.next() % 3));
    }
    v.push(r.pick(b"0123456789"));
    for _ in 0..r.next() % 6 {
        v.push(r.pick(b"0019a.+~z"));
    }
    if r.next() & 1 == 0 {
        v.push('-');
        v.push(r.pick(b"01a~"));
        for _ in 0..r.next() % 4 {
            v.push(r.pick(b"019a.+~"));
        }
    }
    v
}

#[test]
fn agrees_with_dpkg() {
    let classic = [
        ("1.0~rc1", "1.0"),
        ("1:0.9", "2.0"),
        ("1.0-1", "1.0-1+b1"),
        ("2.36-9+deb12u4", "2.36-9+deb12u10"),
        ("1.0", "1.0-0"),
        ("1.01", "1.1"),
        ("1.0~~", "1.0~"),
        ("1.0a", "1.0+"),
        ("1.0+", "1.0."),
        ("3.0.11-1~deb12u2", "3.0.13"),
        ("1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u10"),
        ("0~20171227-0.3+deb12u1", "0~20171227-0.3"),
        ("99999999999999999999", "99999999999999999998"),
    ];
    for (a, b) in classic {
        assert_eq!(compare(a, b), dpkg_cmp(a, b), "{a} vs {b}");
    }
    let mut r = Lcg(0x00ef_10a7);
    let mut compared = 0;
    for _ in 0..250 {
        let a = random_version(&mut r);
        // Half the pairs share a prefix so that the interesting tails get compared.
        let b = if r.next() & 1 == 0 {
            let cut = (r.next() as usize) % (a.len() + 1);
            let mut b: String = a.chars().take(cut).collect();
            b.push_str(&random_version(&mut r).replace(':', ""));
            if b.is_empty() || !b.starts_with(|c: char| c.is_ascii_digit()) {
                random_version(&mut r)
            } else {
                b
            }
        } else {
            random_version(&mut r)
        };
        if eflow_apt::version::split(&b).is_err() || eflow_apt::version::split(&a).is_err() {
            continue;
        }
        assert_eq!(compare(&a, &b), dpkg_cmp(&a, &b), "{a} vs {b}");
        compared += 1;
    }
    assert!(compared > 200, "only {compared} random pairs were valid");
}
