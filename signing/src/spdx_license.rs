//! Debian license short names (as used in machine-readable `debian/copyright` files) mapped
//! to SPDX license identifiers; names without an SPDX equivalent become `LicenseRef-` ids.

/// What a Debian short name maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SpdxTerm {
    /// An SPDX license list identifier.
    Id(&'static str),
    /// An SPDX expression (for Debian names that mean a choice, like `Perl`).
    Expression(&'static str),
    /// No SPDX equivalent: a `LicenseRef-` id derived from the name.
    Ref(String),
}

/// Debian short names whose SPDX identifier differs (compared case-insensitively, after
/// the `+` "or later" suffix is split off and handled by [`or_later`]).
const DEBIAN_NAMES: &[(&str, &str, &str)] = &[
    // (Debian name, SPDX "only" id, SPDX "or later" id)
    ("GPL", "GPL-1.0-or-later", "GPL-1.0-or-later"),
    ("GPL-1", "GPL-1.0-only", "GPL-1.0-or-later"),
    ("GPL-1.0", "GPL-1.0-only", "GPL-1.0-or-later"),
    ("GPL-2", "GPL-2.0-only", "GPL-2.0-or-later"),
    ("GPL-2.0", "GPL-2.0-only", "GPL-2.0-or-later"),
    ("GPL-3", "GPL-3.0-only", "GPL-3.0-or-later"),
    ("GPL-3.0", "GPL-3.0-only", "GPL-3.0-or-later"),
    ("LGPL", "LGPL-2.0-or-later", "LGPL-2.0-or-later"),
    ("LGPL-2", "LGPL-2.0-only", "LGPL-2.0-or-later"),
    ("LGPL-2.0", "LGPL-2.0-only", "LGPL-2.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only", "LGPL-2.1-or-later"),
    ("LGPL-3", "LGPL-3.0-only", "LGPL-3.0-or-later"),
    ("LGPL-3.0", "LGPL-3.0-only", "LGPL-3.0-or-later"),
    ("AGPL-3", "AGPL-3.0-only", "AGPL-3.0-or-later"),
    ("AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later"),
    ("GFDL-1.1", "GFDL-1.1-only", "GFDL-1.1-or-later"),
    ("GFDL-1.2", "GFDL-1.2-only", "GFDL-1.2-or-later"),
    ("GFDL-1.3", "GFDL-1.3-only", "GFDL-1.3-or-later"),
    (
        "GFDL-NIV-1.2",
        "GFDL-1.2-no-invariants-only",
        "GFDL-1.2-no-invariants-or-later",
    ),
    (
        "GFDL-NIV-1.3",
        "GFDL-1.3-no-invariants-only",
        "GFDL-1.3-no-invariants-or-later",
    ),
    ("Apache-2", "Apache-2.0", "Apache-2.0"),
    ("Artistic", "Artistic-1.0-Perl", "Artistic-1.0-Perl"),
    ("Artistic-1", "Artistic-1.0-Perl", "Artistic-1.0-Perl"),
    ("BSD-2-clause", "BSD-2-Clause", "BSD-2-Clause"),
    ("BSD-3-clause", "BSD-3-Clause", "BSD-3-Clause"),
    ("BSD-4-clause", "BSD-4-Clause", "BSD-4-Clause"),
    ("Expat", "MIT", "MIT"),
    ("CC0", "CC0-1.0", "CC0-1.0"),
    ("PSF-2", "PSF-2.0", "PSF-2.0"),
    ("MPL-1.1", "MPL-1.1", "MPL-1.1"),
    ("MPL-2", "MPL-2.0", "MPL-2.0"),
    ("Zope-2.1", "ZPL-2.1", "ZPL-2.1"),
    ("ZPL-2.1", "ZPL-2.1", "ZPL-2.1"),
];

/// SPDX identifiers Debian copyright files use as they are (matched case-insensitively).
const SPDX_IDS: &[&str] = &[
    "0BSD",
    "Apache-1.0",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-1.0",
    "Artistic-1.0-Perl",
    "Artistic-2.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-4-Clause",
    "BSL-1.0",
    "bzip2-1.0.6",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "curl",
    "EPL-1.0",
    "EPL-2.0",
    "FSFAP",
    "FSFUL",
    "FSFULLR",
    "FTL",
    "HPND",
    "ICU",
    "IJG",
    "ISC",
    "Libpng",
    "libpng-2.0",
    "libtiff",
    "LPPL-1.3c",
    "MIT",
    "MIT-0",
    "MPL-1.0",
    "MPL-2.0",
    "NCSA",
    "NTP",
    "OFL-1.1",
    "OpenSSL",
    "PHP-3.01",
    "PostgreSQL",
    "Python-2.0",
    "Ruby",
    "Sleepycat",
    "TCL",
    "Unicode-DFS-2016",
    "Unlicense",
    "W3C",
    "WTFPL",
    "X11",
    "Zlib",
    "blessing",
    "Beerware",
    "GD",
    "Vim",
];

/// Exceptions Debian names in `LICENSE with NAME exception`, mapped to SPDX exception ids.
const EXCEPTIONS: &[(&str, &str)] = &[
    ("Autoconf", "Autoconf-exception-2.0"),
    ("Autoconf-2.0", "Autoconf-exception-2.0"),
    ("Autoconf-3.0", "Autoconf-exception-3.0"),
    ("Bison", "Bison-exception-2.2"),
    ("Bison-2.2", "Bison-exception-2.2"),
    ("Classpath", "Classpath-exception-2.0"),
    ("Classpath-2.0", "Classpath-exception-2.0"),
    ("Font", "Font-exception-2.0"),
    ("GCC-3.1", "GCC-exception-3.1"),
    ("GCC-exception-3.1", "GCC-exception-3.1"),
    ("GCC-2.0", "GCC-exception-2.0"),
    ("Libtool", "Libtool-exception"),
    ("Linux-syscall-note", "Linux-syscall-note"),
    ("Texinfo", "Texinfo-exception"),
    ("LLVM", "LLVM-exception"),
];

/// The `LicenseRef-` id for a name with no SPDX equivalent: letters, digits, `.` and `-`
/// only (`+` spelled `plus`), as SPDX requires.
pub(crate) fn license_ref(name: &str) -> String {
    let mut id = String::from("LicenseRef-");
    let mut last_dash = true;
    for c in name.trim().chars() {
        let piece = match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' => {
                id.push(c);
                last_dash = false;
                continue;
            }
            '+' => "-plus",
            _ => "-",
        };
        for p in piece.chars() {
            if p == '-' {
                if !last_dash {
                    id.push('-');
                }
                last_dash = true;
            } else {
                id.push(p);
                last_dash = false;
            }
        }
    }
    while id.ends_with('-') {
        id.pop();
    }
    if id == "LicenseRef" {
        id.push_str("-unknown");
    }
    id
}

/// Maps one Debian short name (e.g. `GPL-2+`, `Expat`, `public-domain`).
pub(crate) fn map_license(name: &str) -> SpdxTerm {
    let (base, or_later) = match name.strip_suffix('+') {
        Some(base) => (base, true),
        None => (name, false),
    };
    if let Some((_, only, later)) = DEBIAN_NAMES
        .iter()
        .find(|(debian, _, _)| debian.eq_ignore_ascii_case(base))
    {
        return SpdxTerm::Id(if or_later { later } else { only });
    }
    if base.eq_ignore_ascii_case("Perl") && !or_later {
        return SpdxTerm::Expression("GPL-1.0-or-later OR Artistic-1.0-Perl");
    }
    if !or_later {
        if let Some(id) = SPDX_IDS.iter().find(|id| id.eq_ignore_ascii_case(base)) {
            return SpdxTerm::Id(id);
        }
        // Already SPDX "-only" / "-or-later" forms.
        for (_, only, later) in DEBIAN_NAMES {
            if only.eq_ignore_ascii_case(base) {
                return SpdxTerm::Id(only);
            }
            if later.eq_ignore_ascii_case(base) {
                return SpdxTerm::Id(later);
            }
        }
    }
    SpdxTerm::Ref(license_ref(name))
}

/// Maps the NAME of `with NAME exception` to an SPDX exception id.
pub(crate) fn map_exception(name: &str) -> Option<&'static str> {
    EXCEPTIONS
        .iter()
        .find(|(debian, _)| debian.eq_ignore_ascii_case(name))
        .map(|(_, id)| *id)
}

/// Every SPDX identifier the tables can produce (for tests validating them with an external
/// SPDX tool).
#[cfg(test)]
pub(crate) fn all_ids() -> Vec<&'static str> {
    let mut ids: Vec<&str> = SPDX_IDS.to_vec();
    for (_, only, later) in DEBIAN_NAMES {
        ids.push(only);
        ids.push(later);
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Every SPDX exception id the table can produce.
#[cfg(test)]
pub(crate) fn all_exceptions() -> Vec<&'static str> {
    let mut ids: Vec<&str> = EXCEPTIONS.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_debian_names() {
        assert_eq!(map_license("GPL-2+"), SpdxTerm::Id("GPL-2.0-or-later"));
        assert_eq!(map_license("GPL-2"), SpdxTerm::Id("GPL-2.0-only"));
        assert_eq!(map_license("LGPL-2.1+"), SpdxTerm::Id("LGPL-2.1-or-later"));
        assert_eq!(map_license("BSD-3-clause"), SpdxTerm::Id("BSD-3-Clause"));
        assert_eq!(map_license("Expat"), SpdxTerm::Id("MIT"));
        assert_eq!(map_license("apache-2.0"), SpdxTerm::Id("Apache-2.0"));
        assert_eq!(map_license("zlib"), SpdxTerm::Id("Zlib"));
        assert_eq!(
            map_license("public-domain"),
            SpdxTerm::Ref("LicenseRef-public-domain".into())
        );
        assert_eq!(
            map_license("MIT+"),
            SpdxTerm::Ref("LicenseRef-MIT-plus".into())
        );
        assert_eq!(
            license_ref("GPL-2+ with OpenSSL exception"),
            "LicenseRef-GPL-2-plus-with-OpenSSL-exception"
        );
        assert_eq!(license_ref("__"), "LicenseRef-unknown");
        assert_eq!(license_ref("ünïcode/x"), "LicenseRef-n-code-x");
    }
}
