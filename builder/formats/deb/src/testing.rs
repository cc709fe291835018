//! Checks against tools nobody here wrote, for this crate's tests and the lead's end-to-end
//! test: [`compare_with_dpkg_deb`] unpacks a package with this crate and compares the Tree with
//! what `dpkg-deb -x` extracts and what GNU `tar -tv` lists; [`materialize`] writes a Tree to a
//! host directory so host tools (dpkg --root, ...) can inspect it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use eflow_tree::{Kind, Tree};

use crate::unpack::{sha256_reader, skip_slash_dotslash};
use crate::{read_control, unpack_into, DebSource, Owners};

/// One line of `tar -tv --numeric-owner --full-time`.
#[derive(Debug)]
struct Listed {
    type_char: char,
    mode: u32,
    uid: u32,
    gid: u32,
    /// Size, or `major,minor` for devices.
    size: String,
    mtime: String,
    link: Option<String>,
    hardlink: Option<String>,
}

fn perm_bits(s: &str) -> Result<(char, u32), String> {
    let c: Vec<char> = s.chars().collect();
    if c.len() != 10 {
        return Err(format!("unexpected permission string {s:?}"));
    }
    let mut mode = 0u32;
    let triplets = [(1, 0o4000, 6), (4, 0o2000, 3), (7, 0o1000, 0)];
    for (start, special, shift) in triplets {
        if c[start] == 'r' {
            mode |= 4 << shift;
        }
        if c[start + 1] == 'w' {
            mode |= 2 << shift;
        }
        match c[start + 2] {
            'x' => mode |= 1 << shift,
            's' | 't' => mode |= (1 << shift) | special,
            'S' | 'T' => mode |= special,
            _ => {}
        }
    }
    Ok((c[0], mode))
}

fn tool(cmd: &mut Command, what: &str) -> Result<Vec<u8>, String> {
    let out = cmd.output().map_err(|e| {
        format!("cannot run {what} ({e}); install it (dpkg-deb comes with dpkg, tar with GNU tar)")
    })?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

fn list_with_tar(deb: &Path) -> Result<Vec<(String, Listed)>, String> {
    let tarball = tool(
        Command::new("dpkg-deb").arg("--fsys-tarfile").arg(deb),
        "dpkg-deb --fsys-tarfile",
    )?;
    let mut child = Command::new("tar")
        .args([
            "-tv",
            "--numeric-owner",
            "--full-time",
            "--quoting-style=literal",
            "-f",
            "-",
        ])
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run tar ({e}); install GNU tar"))?;
    let mut stdin = child.stdin.take().ok_or("tar: no stdin")?;
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&tarball);
    });
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(format!(
            "tar -tv failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| "tar output is not UTF-8")?;
    let mut res = Vec::new();
    for line in text.lines() {
        // perms owner size date time name...
        let mut rest = line;
        let mut fields = Vec::new();
        for _ in 0..5 {
            rest = rest.trim_start();
            let end = rest
                .find(' ')
                .ok_or_else(|| format!("bad tar line {line:?}"))?;
            fields.push(&rest[..end]);
            rest = &rest[end..];
        }
        let mut name = rest.trim_start().to_string();
        let (type_char, mode) = perm_bits(fields[0])?;
        let (uid, gid) = fields[1]
            .split_once('/')
            .and_then(|(u, g)| Some((u.parse().ok()?, g.parse().ok()?)))
            .ok_or_else(|| format!("bad owner in {line:?}"))?;
        let mut link = None;
        let mut hardlink = None;
        if type_char == 'l' {
            let (n, t) = name
                .split_once(" -> ")
                .ok_or_else(|| format!("bad symlink line {line:?}"))?;
            link = Some(t.to_string());
            name = n.to_string();
        } else if type_char == 'h' {
            let (n, t) = name
                .split_once(" link to ")
                .ok_or_else(|| format!("bad hard link line {line:?}"))?;
            hardlink = Some(t.to_string());
            name = n.to_string();
        }
        res.push((
            name,
            Listed {
                type_char,
                mode,
                uid,
                gid,
                size: fields[2].to_string(),
                mtime: format!("{} {}", fields[3], fields[4]),
                link,
                hardlink,
            },
        ));
    }
    Ok(res)
}

fn guest_path(tar_name: &str) -> Result<String, String> {
    let s = skip_slash_dotslash(tar_name);
    eflow_tree::normalize(&format!("/{s}")).map_err(|e| e.to_string())
}

fn utc(mtime: i64) -> String {
    eflow_time::Civil::from_unix(mtime).format(' ')
}

/// Unpacks `deb` into a fresh Tree with this crate and compares it with `dpkg-deb -x` (file
/// contents, symlink targets) and `dpkg-deb --fsys-tarfile | tar -tv --numeric-owner`
/// (paths, types, modes with setuid/setgid/sticky, owners, mtimes, link targets, devices).
/// File contents are read back through [`DebSource`], in content order.
pub fn compare_with_dpkg_deb(deb: &Path) -> Result<(), String> {
    compare(deb, true)
}

/// Like [`compare_with_dpkg_deb`] but without extracting (for packages with device nodes,
/// which `dpkg-deb -x` cannot create without privileges): checks the metadata against
/// `tar -tv` and that every file's content reads back with the digest computed when scanning.
pub fn compare_with_tar_listing(deb: &Path) -> Result<(), String> {
    compare(deb, false)
}

fn compare(deb: &Path, extract: bool) -> Result<(), String> {
    let pkg = read_control(deb).map_err(|e| e.to_string())?;
    let source = DebSource::new();
    let stream = source.add(deb.to_path_buf());
    let mut tree = Tree::new();
    let mut owners = Owners::new();
    unpack_into(&mut tree, &pkg, &source, stream, &mut owners, &|_, _| false)
        .map_err(|e| e.to_string())?;

    let listing = list_with_tar(deb)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    if extract {
        tool(
            Command::new("dpkg-deb").arg("-x").arg(deb).arg(dir.path()),
            "dpkg-deb -x",
        )?;
    }
    let name = deb.display();
    let mut expected: BTreeMap<String, &Listed> = BTreeMap::new();
    for (tar_name, l) in &listing {
        let p = guest_path(tar_name)?;
        // dpkg keeps the first of duplicate directories; other duplicates: the last wins.
        // The root exists before any package: dpkg keeps it as it is.
        if (l.type_char == 'd' && expected.contains_key(&p)) || p == "/" {
            continue;
        }
        expected.insert(p, l);
    }
    let mut problems = Vec::new();
    for (path, l) in &expected {
        let Some(e) = tree.get(path) else {
            problems.push(format!("{path}: listed by tar, missing from the Tree"));
            continue;
        };
        let (want_type, ok) = match (&e.kind, l.type_char) {
            (Kind::File { size, .. }, '-') => ('-', l.size == size.to_string()),
            (Kind::Dir, 'd') => ('d', true),
            (Kind::Symlink { target }, 'l') => ('l', l.link.as_deref() == Some(target)),
            (Kind::HardLink { target }, 'h') => (
                'h',
                l.hardlink
                    .as_deref()
                    .and_then(|t| guest_path(t).ok())
                    .is_some_and(|t| &t == target),
            ),
            (Kind::CharDevice { major, minor }, 'c') => ('c', l.size == format!("{major},{minor}")),
            (Kind::BlockDevice { major, minor }, 'b') => {
                ('b', l.size == format!("{major},{minor}"))
            }
            (Kind::Fifo, 'p') => ('p', true),
            (k, c) => {
                problems.push(format!("{path}: tar says type {c:?}, Tree has {k:?}"));
                continue;
            }
        };
        if !ok {
            problems.push(format!(
                "{path}: type {want_type}: size/target/device differs: tar {l:?}, Tree {:?}",
                e.kind
            ));
        }
        if l.type_char != 'l' && l.type_char != 'h' && e.mode != l.mode {
            problems.push(format!("{path}: mode tar {:o}, Tree {:o}", l.mode, e.mode));
        }
        if l.type_char != 'h' && (e.uid, e.gid) != (l.uid, l.gid) {
            problems.push(format!(
                "{path}: owner tar {}/{}, Tree {}/{}",
                l.uid, l.gid, e.uid, e.gid
            ));
        }
        if l.type_char != 'h' && utc(e.mtime) != l.mtime {
            problems.push(format!(
                "{path}: mtime tar {}, Tree {}",
                l.mtime,
                utc(e.mtime)
            ));
        }
        if let (true, Kind::Symlink { target }) = (extract, &e.kind) {
            let host = dir.path().join(path.trim_start_matches('/'));
            match std::fs::read_link(&host) {
                Ok(t) if t.to_str() == Some(target.as_str()) => {}
                other => problems.push(format!("{path}: dpkg-deb -x gives link {other:?}")),
            }
        }
    }
    for (path, _) in tree.iter() {
        if path != "/" && !expected.contains_key(path) {
            problems.push(format!("{path}: in the Tree, not listed by tar"));
        }
    }
    for (path, e) in tree.files_in_content_order() {
        let Kind::File { content, .. } = &e.kind else {
            continue;
        };
        let ours = content
            .open()
            .and_then(sha256_reader)
            .map_err(|err| format!("{path}: reading back through DebSource: {err}"))?;
        if extract {
            let host = dir.path().join(path.trim_start_matches('/'));
            let theirs = std::fs::File::open(&host)
                .and_then(sha256_reader)
                .map_err(|err| format!("{path}: reading what dpkg-deb -x wrote: {err}"))?;
            if ours != theirs {
                problems.push(format!("{path}: content differs from dpkg-deb -x"));
            }
        }
        if let eflow_tree::Content::Source {
            digest: Some(d), ..
        } = content
        {
            if *d != ours {
                problems.push(format!("{path}: digest computed while scanning differs"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        problems.truncate(50);
        Err(format!("{name}:\n  {}", problems.join("\n  ")))
    }
}

/// Writes a Tree into an empty host directory: directories, files, symlinks and hard links
/// (devices, fifos and sockets are skipped, ownership is not applied), so host tools can
/// inspect it. For tests only.
pub fn materialize(tree: &Tree, dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for (path, e) in tree.iter() {
        let host = dir.join(path.trim_start_matches('/'));
        match &e.kind {
            Kind::Dir => std::fs::create_dir_all(&host)?,
            Kind::Symlink { target } => std::os::unix::fs::symlink(target, &host)?,
            _ => {}
        }
    }
    // In content order, so each package's data.tar is decompressed once.
    for (path, e) in tree.files_in_content_order() {
        if let Kind::File { content, .. } = &e.kind {
            let host = dir.join(path.trim_start_matches('/'));
            let mut f = std::fs::File::create(&host)?;
            std::io::copy(&mut content.open()?, &mut f)?;
            std::fs::set_permissions(&host, std::fs::Permissions::from_mode(e.mode & 0o777))?;
        }
    }
    for (path, e) in tree.iter() {
        if let Kind::HardLink { target } = &e.kind {
            std::fs::hard_link(
                dir.join(target.trim_start_matches('/')),
                dir.join(path.trim_start_matches('/')),
            )?;
        }
    }
    Ok(())
}
