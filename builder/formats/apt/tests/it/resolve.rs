//! Resolver behaviour on small fixture indexes.

use crate::fixture::pkg;
use eflow_apt::{resolve, Index, Problem, Request, Resolved};

fn index(suites: &[(&str, Vec<String>)]) -> Index {
    let mut idx = Index::new("amd64");
    for (suite, stanzas) in suites {
        idx.add_packages(
            suite,
            "main",
            &format!("{suite}/Packages"),
            &stanzas.concat(),
        )
        .unwrap();
    }
    idx
}

fn req(recipe: &str, package: &str) -> Request {
    Request {
        package: package.to_string(),
        recipe: recipe.to_string(),
    }
}

fn names(r: &[Resolved]) -> Vec<String> {
    r.iter()
        .map(|p| format!("{}={}", p.name, p.version))
        .collect()
}

fn find<'a>(r: &'a [Resolved], name: &str) -> &'a Resolved {
    r.iter().find(|p| p.name == name).unwrap()
}

#[test]
fn closure_follows_depends_and_predepends_only() {
    let idx = index(&[(
        "bookworm",
        vec![
            pkg(
                "a",
                "1",
                "Depends: b, libc6 (>= 2.36)\nPre-Depends: c\nRecommends: r\nSuggests: s",
            ),
            pkg("b", "1", ""),
            pkg("c", "1", ""),
            pkg("libc6", "2.36-9+deb12u10", ""),
            pkg("r", "1", ""),
            pkg("s", "1", ""),
            pkg("bash", "5.2", "Essential: yes\nPriority: required"),
        ],
    )]);
    let r = resolve(&idx, &[req("base", "a")]).unwrap();
    assert_eq!(names(&r), ["a=1", "b=1", "c=1", "libc6=2.36-9+deb12u10"]);
    assert_eq!(find(&r, "a").required_by, ["recipe:base"]);
    assert_eq!(find(&r, "b").required_by, ["a"]);
    assert_eq!(find(&r, "b").recipe, "base");
    assert_eq!(find(&r, "b").filename, "pool/main/b_1.deb");
    assert_eq!(find(&r, "b").size, 1000);
    assert_eq!(find(&r, "b").suite, "bookworm");
}

#[test]
fn recipe_is_the_first_requester() {
    let idx = index(&[(
        "s",
        vec![
            pkg("x", "1", "Depends: shared"),
            pkg("y", "1", "Depends: shared"),
            pkg("shared", "1", ""),
        ],
    )]);
    let r = resolve(&idx, &[req("one", "x"), req("two", "y"), req("two", "x")]).unwrap();
    assert_eq!(find(&r, "shared").recipe, "one");
    assert_eq!(find(&r, "shared").required_by, ["x", "y"]);
    assert_eq!(find(&r, "x").required_by, ["recipe:one", "recipe:two"]);
    assert_eq!(find(&r, "y").recipe, "two");
}

#[test]
fn alternatives() {
    let stanzas = vec![
        pkg(
            "app",
            "1",
            "Depends: mawk | gawk, missing | present, gone | gawk",
        ),
        pkg("mawk", "1", ""),
        pkg("gawk", "1", ""),
        pkg("present", "1", ""),
    ];
    let idx = index(&[("s", stanzas)]);
    // First satisfiable alternative, unless another is requested (selected first).
    let r = resolve(&idx, &[req("base", "app")]).unwrap();
    assert_eq!(names(&r), ["app=1", "gawk=1", "mawk=1", "present=1"]);
    assert_eq!(find(&r, "gawk").required_by, ["app"]);
    let r = resolve(&idx, &[req("base", "app"), req("base", "gawk")]).unwrap();
    assert_eq!(names(&r), ["app=1", "gawk=1", "present=1"]);
    assert_eq!(find(&r, "gawk").required_by, ["app", "recipe:base"]);
    // A request may be alternatives itself.
    let r = resolve(&idx, &[req("base", "nothing | gawk")]).unwrap();
    assert_eq!(names(&r), ["gawk=1"]);
}

#[test]
fn alternative_already_pulled_in_by_another_package_is_preferred() {
    let idx = index(&[(
        "s",
        vec![
            pkg("first", "1", "Depends: gawk"),
            pkg("second", "1", "Depends: mawk | gawk"),
            pkg("mawk", "1", ""),
            pkg("gawk", "1", ""),
        ],
    )]);
    let r = resolve(&idx, &[req("base", "first"), req("base", "second")]).unwrap();
    assert_eq!(names(&r), ["first=1", "gawk=1", "second=1"]);
}

#[test]
fn virtual_packages() {
    let idx = index(&[(
        "s",
        vec![
            pkg(
                "app",
                "1",
                "Depends: mail-transport-agent, abi (>= 2), solo",
            ),
            pkg("postfix", "1", "Provides: mail-transport-agent"),
            pkg("exim4", "1", "Provides: mail-transport-agent"),
            pkg("old-abi", "1", "Provides: abi (= 1)"),
            pkg("new-abi", "1", "Provides: abi (= 3)"),
            pkg("unv-abi", "1", "Provides: abi"),
            pkg("only", "1", "Provides: solo"),
        ],
    )]);
    // Several providers: sorted by name (exim4 < postfix); versioned: only versioned provides.
    let r = resolve(&idx, &[req("base", "app")]).unwrap();
    assert_eq!(names(&r), ["app=1", "exim4=1", "new-abi=1", "only=1"]);
    // Priority before name.
    let idx2 = index(&[(
        "s",
        vec![
            pkg("base-files", "1", "Pre-Depends: awk"),
            pkg("gawk", "1", "Provides: awk\nPriority: optional"),
            pkg("mawk", "1", "Provides: awk\nPriority: required"),
            pkg("original-awk", "1", "Provides: awk"),
        ],
    )]);
    let r = resolve(&idx2, &[req("base", "base-files")]).unwrap();
    assert_eq!(names(&r), ["base-files=1", "mawk=1"]);
    // An already selected provider wins.
    let r = resolve(&idx, &[req("base", "app"), req("base", "postfix")]).unwrap();
    assert_eq!(names(&r), ["app=1", "new-abi=1", "only=1", "postfix=1"]);
    assert_eq!(find(&r, "postfix").required_by, ["app", "recipe:base"]);
}

#[test]
fn version_constraints_across_suites() {
    let idx = index(&[
        (
            "bookworm",
            vec![
                pkg("libssl3", "3.0.11-1~deb12u2", ""),
                pkg("pinned", "1.0", ""),
                pkg("same", "1.0", ""),
                pkg("ssh", "1", "Depends: libssl3 (>= 3.0.13), pinned (<< 2)"),
            ],
        ),
        (
            "bookworm-security",
            vec![
                pkg("libssl3", "3.0.15-1~deb12u1", ""),
                pkg("pinned", "2.0", ""),
                pkg("same", "1.0", ""),
            ],
        ),
    ]);
    let r = resolve(&idx, &[req("base", "ssh"), req("base", "same")]).unwrap();
    assert_eq!(
        names(&r),
        [
            "libssl3=3.0.15-1~deb12u1",
            "pinned=1.0",
            "same=1.0",
            "ssh=1"
        ]
    );
    assert_eq!(find(&r, "libssl3").suite, "bookworm-security");
    assert_eq!(find(&r, "pinned").suite, "bookworm");
    // Equal versions: the earlier suite wins.
    assert_eq!(find(&r, "same").suite, "bookworm");
    // A versioned request.
    let r = resolve(&idx, &[req("base", "pinned (<= 1.5)")]).unwrap();
    assert_eq!(names(&r), ["pinned=1.0"]);
}

#[test]
fn unsatisfiable_dependency_names_the_chain() {
    let idx = index(&[(
        "bookworm",
        vec![
            pkg(
                "openssh-server",
                "1:9.2p1-2",
                "Depends: libssl3 (>= 3.0.13)",
            ),
            pkg("libssl3", "3.0.11-1~deb12u2", ""),
            pkg("a", "1", "Depends: nosuch"),
        ],
    )]);
    let e = resolve(&idx, &[req("base", "openssh-server"), req("extra", "a")]).unwrap_err();
    assert_eq!(e.problems.len(), 2);
    assert_eq!(
        e.problems[0].to_string(),
        "recipe \"base\" -> openssh-server -> libssl3 (>= 3.0.13): no version satisfies; available: 3.0.11-1~deb12u2 (bookworm)"
    );
    assert!(
        e.problems[1]
            .to_string()
            .starts_with("recipe \"extra\" -> a -> nosuch: no package or provider named"),
        "{}",
        e.problems[1]
    );
    let text = e.to_string();
    assert!(text.contains("2 problems"), "{text}");
    // A request that is missing altogether.
    let e = resolve(&idx, &[req("base", "ghost (>= 1)")]).unwrap_err();
    assert!(
        e.problems[0]
            .to_string()
            .starts_with("recipe \"base\" -> ghost (>= 1):"),
        "{}",
        e.problems[0]
    );
    // Bad request syntax.
    let e = resolve(&idx, &[req("base", "a, b"), req("base", "a (>=")]).unwrap_err();
    assert_eq!(e.problems.len(), 2);
    assert!(matches!(e.problems[0], Problem::BadRequest { .. }));
}

#[test]
fn a_version_already_selected_that_does_not_fit_is_reported() {
    let idx = index(&[(
        "s",
        vec![
            pkg("lib", "1.0", ""),
            pkg("lib", "2.0", ""),
            pkg("new", "1", "Depends: lib (>= 2)"),
        ],
    )]);
    let e = resolve(&idx, &[req("base", "lib (= 1.0)"), req("base", "new")]).unwrap_err();
    let msg = e.problems[0].to_string();
    assert!(
        msg.contains("lib is already selected at 1.0 (required by recipe:base)"),
        "{msg}"
    );
}

#[test]
fn cycles_terminate() {
    let idx = index(&[(
        "s",
        vec![
            pkg("a", "1", "Depends: b"),
            pkg("b", "1", "Pre-Depends: c"),
            pkg("c", "1", "Depends: a, c"),
        ],
    )]);
    let r = resolve(&idx, &[req("base", "a")]).unwrap();
    assert_eq!(names(&r), ["a=1", "b=1", "c=1"]);
    assert_eq!(find(&r, "a").required_by, ["c", "recipe:base"]);
    assert_eq!(find(&r, "c").required_by, ["b", "c"]);
}

#[test]
fn conflicts_and_breaks() {
    let idx = index(&[(
        "s",
        vec![
            pkg("a", "1", "Conflicts: b\nBreaks: c (<< 2), mta"),
            pkg("b", "1", ""),
            pkg("c", "2", ""),
            pkg("d", "1", "Provides: mta\nConflicts: mta"),
            pkg("e", "1", "Breaks: old (<< 1)"),
        ],
    )]);
    // Satisfied Breaks with versions, and self-conflicts through Provides, are fine.
    let r = resolve(
        &idx,
        &[req("base", "a"), req("base", "c"), req("base", "e")],
    )
    .unwrap();
    assert_eq!(names(&r), ["a=1", "c=2", "e=1"]);
    let r = resolve(&idx, &[req("base", "d")]).unwrap();
    assert_eq!(names(&r), ["d=1"]);
    let e = resolve(
        &idx,
        &[req("base", "a"), req("base", "b"), req("base", "d")],
    )
    .unwrap_err();
    let msgs: Vec<String> = e.problems.iter().map(ToString::to_string).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs[0].starts_with("a 1 Conflicts b, but b 1 is selected too"),
        "{msgs:?}"
    );
    assert!(
        msgs[1].starts_with("a 1 Breaks mta, but d 1 is selected too"),
        "{msgs:?}"
    );
}

#[test]
fn architectures_and_multi_arch() {
    let idx = index(&[(
        "s",
        vec![
            pkg(
                "app",
                "1",
                "Depends: perl:any, python3:any, tool:amd64, data, other:native",
            ),
            pkg("perl", "5.36", "Multi-Arch: allowed"),
            pkg("python3", "3.11", "Multi-Arch: foreign"),
            pkg("python3-alt", "1", "Provides: python3"),
            pkg("tool", "1", ""),
            pkg("data", "1", "Architecture: all"),
            pkg("other", "1", ""),
            pkg("foreign-arch", "1", "Architecture: arm64"),
            pkg("app2", "1", "Depends: win32-only [i386], lin [linux-any]"),
            pkg("lin", "1", ""),
        ],
    )]);
    // python3 is not Multi-Arch: allowed, so python3:any falls back to a provider.
    let r = resolve(&idx, &[req("base", "app"), req("base", "app2")]).unwrap();
    assert_eq!(
        names(&r),
        [
            "app=1",
            "app2=1",
            "data=1",
            "lin=1",
            "other=1",
            "perl=5.36",
            "python3-alt=1",
            "tool=1"
        ]
    );
    assert_eq!(find(&r, "data").architecture, "all");
    let e = resolve(&idx, &[req("base", "foreign-arch")]).unwrap_err();
    assert!(e.to_string().contains("no package or provider"), "{e}");
}

#[test]
fn bad_relation_field_is_reported_with_the_package() {
    let idx = index(&[("s", vec![pkg("a", "1", "Depends: b (>= )")])]);
    let e = resolve(&idx, &[req("base", "a")]).unwrap_err();
    assert!(e.to_string().contains("a 1 (s): field Depends"), "{e}");
}

#[test]
fn output_is_deterministic_and_sorted() {
    let idx = index(&[(
        "s",
        vec![
            pkg("zz", "1", "Depends: aa, mm"),
            pkg("aa", "1", "Depends: mm"),
            pkg("mm", "1", ""),
        ],
    )]);
    let r1 = resolve(&idx, &[req("base", "zz")]).unwrap();
    let r2 = resolve(&idx, &[req("base", "zz")]).unwrap();
    assert_eq!(r1, r2);
    assert_eq!(names(&r1), ["aa=1", "mm=1", "zz=1"]);
}
