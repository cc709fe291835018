//! Debian version strings (`[epoch:]upstream[-revision]`) and their ordering, as dpkg defines it.
//!
//! The ordering follows Debian Policy 5.6.12 and dpkg's `verrevcmp`: epochs compare numerically,
//! then upstream and revision each compare as alternating runs of non-digits (letters sort
//! before other characters, `~` sorts before everything, even the end of the string) and digits
//! (numerically, leading zeros ignored).

use std::cmp::Ordering;
use std::fmt;

/// Why a version string is not a valid Debian version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The string is empty (or only whitespace).
    #[error("version is empty")]
    Empty,
    /// A version never contains whitespace.
    #[error("version {0:?} contains whitespace")]
    Whitespace(String),
    /// The part before the first `:` must be a decimal number.
    #[error("version {0:?}: epoch is not a number")]
    BadEpoch(String),
    /// Nothing after the epoch colon, or nothing before the revision hyphen.
    #[error("version {0:?}: upstream version is empty")]
    EmptyUpstream(String),
    /// A trailing `-` with nothing after it.
    #[error("version {0:?}: revision is empty")]
    EmptyRevision(String),
    /// Characters outside the set Debian Policy allows.
    #[error("version {0:?} contains the character {1:?}, which Debian versions never use")]
    BadChar(String, char),
}

/// A validated Debian version; ordered as dpkg orders versions, kept as the original text.
///
/// Two versions that dpkg considers equal (`1.0` and `0:1.0`, `1.01` and `1.1`) compare equal
/// here too, while `as_str` still gives back the archive's spelling.
#[derive(Clone, Debug)]
pub struct Version {
    text: String,
}

/// The three parts of a version string, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionParts<'a> {
    /// The epoch; 0 when the string has none.
    pub epoch: u32,
    /// The upstream version.
    pub upstream: &'a str,
    /// The Debian revision; empty when the string has none (a native package).
    pub revision: &'a str,
}

impl Version {
    /// Validates `text` as a Debian version.
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        split(text)?;
        Ok(Version {
            text: text.to_string(),
        })
    }

    /// The version as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Epoch, upstream and revision.
    pub fn parts(&self) -> VersionParts<'_> {
        // Validated at construction: cannot fail.
        split(&self.text).unwrap_or(VersionParts {
            epoch: 0,
            upstream: &self.text,
            revision: "",
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Version {}
impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_parts(&self.parts(), &other.parts())
    }
}

/// Splits a version into epoch, upstream and revision, checking the syntax dpkg enforces.
///
/// Like dpkg, the epoch ends at the first `:` and the revision starts after the last `-`.
/// Characters are checked against Policy's set (alphanumerics and `.+-~:`; `_` is tolerated
/// because dpkg only warns about it and some old archives used it).
pub fn split(text: &str) -> Result<VersionParts<'_>, VersionError> {
    let text_trim = text.trim();
    if text_trim.is_empty() {
        return Err(VersionError::Empty);
    }
    if text_trim.len() != text.len() || text.chars().any(char::is_whitespace) {
        return Err(VersionError::Whitespace(text.to_string()));
    }
    let (epoch, rest) = match text.find(':') {
        Some(i) => {
            let e = &text[..i];
            if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError::BadEpoch(text.to_string()));
            }
            let epoch: u32 = e
                .parse()
                .map_err(|_| VersionError::BadEpoch(text.to_string()))?;
            (epoch, &text[i + 1..])
        }
        None => (0, text),
    };
    let (upstream, revision) = match rest.rfind('-') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return Err(VersionError::EmptyUpstream(text.to_string()));
    }
    if rest.ends_with('-') {
        return Err(VersionError::EmptyRevision(text.to_string()));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '~' | ':' | '_');
    if let Some(c) = upstream.chars().find(|&c| !ok(c)) {
        return Err(VersionError::BadChar(text.to_string(), c));
    }
    if let Some(c) = revision.chars().find(|&c| !ok(c) || c == ':' || c == '-') {
        return Err(VersionError::BadChar(text.to_string(), c));
    }
    Ok(VersionParts {
        epoch,
        upstream,
        revision,
    })
}

/// Compares two version strings as dpkg does; invalid strings fall back to a lenient split
/// (whole string as upstream) so that the ordering stays total and never panics.
pub fn compare(a: &str, b: &str) -> Ordering {
    let pa = split(a).unwrap_or(VersionParts {
        epoch: 0,
        upstream: a,
        revision: "",
    });
    let pb = split(b).unwrap_or(VersionParts {
        epoch: 0,
        upstream: b,
        revision: "",
    });
    cmp_parts(&pa, &pb)
}

fn cmp_parts(a: &VersionParts<'_>, b: &VersionParts<'_>) -> Ordering {
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| verrevcmp(a.upstream.as_bytes(), b.upstream.as_bytes()))
        .then_with(|| verrevcmp(a.revision.as_bytes(), b.revision.as_bytes()))
}

/// The weight of one character in a non-digit run: `~` lowest, then the end of the run
/// (and digits, which end it), then letters, then everything else.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's comparison of one upstream or revision part.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let at = |i: usize| a.get(i).copied();
    let bt = |j: usize| b.get(j).copied();
    let is_digit = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_digit());
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        // Non-digit run.
        while (i < a.len() && !is_digit(at(i))) || (j < b.len() && !is_digit(bt(j))) {
            let (ac, bc) = (order(at(i)), order(bt(j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        // Digit run: numeric comparison without overflow (compare lengths, then digits).
        while at(i) == Some(b'0') {
            i += 1;
        }
        while bt(j) == Some(b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while is_digit(at(i)) && is_digit(bt(j)) {
            if first_diff == Ordering::Equal {
                first_diff = at(i).cmp(&bt(j));
            }
            i += 1;
            j += 1;
        }
        if is_digit(at(i)) {
            return Ordering::Greater;
        }
        if is_digit(bt(j)) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn check(a: &str, b: &str, want: Ordering) {
        assert_eq!(compare(a, b), want, "{a} vs {b}");
        assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
    }

    #[test]
    fn classic_cases() {
        check("1.0~rc1", "1.0", Less);
        check("1:0.9", "2.0", Greater);
        check("1.0-1", "1.0-1+b1", Less);
        check("2.36-9+deb12u4", "2.36-9+deb12u10", Less);
        check("1.0", "1.0", Equal);
        check("0:1.0", "1.0", Equal);
        check("1.01", "1.1", Equal);
        check("1.0~~", "1.0~", Less);
        check("1.0~", "1.0", Less);
        check("1.0~~a", "1.0~~", Greater);
        check("1.0", "1.0a", Less);
        check("1.0a", "1.0+", Less); // letters sort before non-letters
        check("1.0+", "1.0.", Less); // '+' (43) before '.' (46)
        check("1.2.3", "1.2.10", Less);
        check("10", "9", Greater);
        check("1.0-1", "1.0-2", Less);
        check("1.0-10", "1.0-9", Greater);
        check("1.0", "1.0-0", Equal); // an absent revision equals revision "0"
        check("2:1", "1:99", Greater);
        check("3.0.11-1~deb12u2", "3.0.13-1~deb12u1", Less);
        check("3.0.15-1~deb12u1", "3.0.11-1~deb12u2", Greater);
        check("252.36-1~deb12u1", "252.33-1~deb12u1", Greater);
        check("6.1.0-37", "6.1.0-9", Greater);
        check("1.2.3+dfsg", "1.2.3", Greater);
        check("1.2.3~dfsg", "1.2.3", Less);
        check("a", "b", Less);
        check("1.0a", "1.0b", Less);
        check("00001", "1", Equal);
        check("1-1-1", "1-1-2", Less); // revision is after the last hyphen
        check("1.0-1ubuntu1", "1.0-1", Greater);
        check(
            "99999999999999999999999",
            "99999999999999999999998",
            Greater,
        );
        check("1:1.0~rc1-1", "1:1.0-1", Less);
    }

    #[test]
    fn parse_errors() {
        assert_eq!(Version::parse(""), Err(VersionError::Empty));
        assert!(matches!(
            Version::parse("1 .0"),
            Err(VersionError::Whitespace(_))
        ));
        assert!(matches!(
            Version::parse("a:1.0"),
            Err(VersionError::BadEpoch(_))
        ));
        assert!(matches!(
            Version::parse(":1.0"),
            Err(VersionError::BadEpoch(_))
        ));
        assert!(matches!(
            Version::parse("1:"),
            Err(VersionError::EmptyUpstream(_))
        ));
        assert!(matches!(
            Version::parse("-1"),
            Err(VersionError::EmptyUpstream(_))
        ));
        assert!(matches!(
            Version::parse("1.0-"),
            Err(VersionError::EmptyRevision(_))
        ));
        assert!(matches!(
            Version::parse("1.0/2"),
            Err(VersionError::BadChar(_, '/'))
        ));
        assert!(matches!(
            Version::parse("99999999999:1"),
            Err(VersionError::BadEpoch(_))
        ));
        let v = Version::parse("1:2.3-4+b1").unwrap();
        assert_eq!(
            v.parts(),
            VersionParts {
                epoch: 1,
                upstream: "2.3",
                revision: "4+b1"
            }
        );
        assert_eq!(v.to_string(), "1:2.3-4+b1");
    }

    #[test]
    fn ordering_is_total_on_garbage() {
        // Never panics, and is antisymmetric even on invalid strings.
        let samples = [
            "", "~", "~~", "-", ":", "a:b", "1:", "\u{e9}", "1..2", "0", "00", "1-", "::", "~1",
        ];
        for a in samples {
            for b in samples {
                assert_eq!(compare(a, b), compare(b, a).reverse(), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn sorts_a_list() {
        let mut v: Vec<Version> = [
            "1.0",
            "1.0~rc1",
            "1:0.1",
            "1.0-1",
            "1.0+b1",
            "0.9",
            "1.0~rc1~1",
            "1.0-1+b1",
        ]
        .iter()
        .map(|s| Version::parse(s).unwrap())
        .collect();
        v.sort();
        let got: Vec<&str> = v.iter().map(Version::as_str).collect();
        assert_eq!(
            got,
            [
                "0.9",
                "1.0~rc1~1",
                "1.0~rc1",
                "1.0",
                "1.0-1",
                "1.0-1+b1",
                "1.0+b1",
                "1:0.1"
            ]
        );
    }
}
