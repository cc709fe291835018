//! Whether the output directory already holds what a build would write, checked right after
//! the plan and before any work, so that a build with nothing changed takes well under a
//! second and writes nothing.
//!
//! The manifest in the directory is the record of the last build. It must describe this very
//! build: the same inputs (image definition, recipes, every file they install, lockfile and
//! its packages), the same SOURCE_DATE_EPOCH, the same tool (version and source digest, see
//! `builder/build.rs`), the same set of outputs, and it must be written exactly as a build
//! writes it. Then every output and the SBOM are read and their size and SHA-256 recomputed
//! (never trusted from mtimes), on all cores. A build with `--sign` also needs each
//! `.minisig` to be byte for byte the signature this key makes (Ed25519 is deterministic, so
//! a rebuild would write the same bytes; this also proves it verifies with the key's public
//! key), which costs a BLAKE2b pass per file; an unsigned build needs no `.minisig` there.
//!
//! Not checked: the manifest's partition records, which only the disk stages compute; with
//! `--sign` the manifest's signature covers them, without it they are as trusted as the
//! outputs' bytes they describe.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use blake2::Blake2b512;
use eflow_signing::{Digests, ImageIdentity, Manifest, SecretKey, MANIFEST_FORMAT};
use sha2::{Digest, Sha256};

use super::OutputFile;
use crate::stages::plan::{OutputFormat, Plan};
use crate::stages::sign::{self, minisig_path};

/// The files of an earlier build found identical to what this build would write.
#[derive(Debug, Clone)]
pub struct Fresh {
    /// The outputs, in the order of the requested formats.
    pub outputs: Vec<OutputFile>,
    /// `NAME.manifest.json`.
    pub manifest: PathBuf,
    /// `NAME.spdx.json`.
    pub sbom: PathBuf,
    /// The `.minisig` files, in the order a build lists them; empty when unsigned.
    pub signatures: Vec<PathBuf>,
}

/// What the check found.
#[derive(Debug, Clone)]
pub enum Check {
    /// Everything a build would write is in place.
    UpToDate(Fresh),
    /// The directory holds no manifest of this image: a first build.
    NoEarlierBuild,
    /// Something differs; the text says what, for one log line.
    Changed(String),
}

/// Checks whether `out_dir` holds exactly what building `plan` into `formats` (signed with
/// `key`, if any) would write.
pub fn check(
    plan: &Plan,
    formats: &[OutputFormat],
    out_dir: &Path,
    key: Option<&SecretKey>,
) -> Check {
    match fresh(plan, formats, out_dir, key) {
        Ok(f) => Check::UpToDate(f),
        Err(None) => Check::NoEarlierBuild,
        Err(Some(why)) => Check::Changed(why),
    }
}

/// The files in place, or why not (`None`: there is no manifest).
fn fresh(
    plan: &Plan,
    formats: &[OutputFormat],
    out_dir: &Path,
    key: Option<&SecretKey>,
) -> Result<Fresh, Option<String>> {
    let name = &plan.image.def.image.name;
    let manifest_name = format!("{name}.manifest.json");
    let manifest_path = out_dir.join(&manifest_name);
    let text = match std::fs::read_to_string(&manifest_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(None),
        Err(e) => return Err(Some(format!("cannot read {manifest_name}: {e}"))),
    };
    let old = Manifest::from_json(&text).map_err(|e| format!("{manifest_name}: {e}"))?;

    // Inputs, tool, time: the manifest this build would write, but for what only the
    // later stages know (the outputs' digests and the partitions), taken from the old one.
    let records = sign::plan_records(plan).map_err(|e| e.to_string())?;
    let mut expected = Manifest {
        format: MANIFEST_FORMAT,
        image: ImageIdentity {
            name: name.clone(),
            version: plan.image.def.image.version.clone(),
        },
        tool_version: records.tool_version,
        tool_digest: records.tool_digest,
        source_date_epoch: records.source_date_epoch,
        outputs: old.outputs.clone(),
        packages: records.packages,
        recipes: records.recipes,
        inputs: records.inputs,
        partitions: old.partitions.clone(),
    };
    expected.normalize();
    let mut old_sorted = old.clone();
    old_sorted.normalize();
    if let Some(why) = first_difference(&old_sorted, &expected) {
        return Err(Some(why));
    }
    if expected.to_json().ok().as_deref() != Some(text.as_str()) {
        return Err(Some(format!("{manifest_name} is not as a build writes it")));
    }

    // The same outputs requested.
    let sbom_name = format!("{name}.spdx.json");
    let mut wanted: Vec<String> = formats.iter().map(|f| f.file_name(name)).collect();
    wanted.push(sbom_name.clone());
    wanted.sort();
    wanted.dedup();
    let recorded: Vec<String> = old_sorted.outputs.iter().map(|o| o.name.clone()).collect();
    if wanted != recorded {
        return Err(Some(format!(
            "the last build wrote {}, this one writes {}",
            recorded.join(", "),
            wanted.join(", ")
        )));
    }

    // Signatures: each file's `.minisig` when signing, none of them when not.
    let signed_names: Vec<&str> = recorded
        .iter()
        .map(String::as_str)
        .chain([manifest_name.as_str()])
        .collect();
    let mut minisigs = Vec::new();
    for n in &signed_names {
        let sig = minisig_path(&out_dir.join(n));
        match (key, std::fs::read_to_string(&sig)) {
            (Some(_), Ok(text)) => minisigs.push(text),
            (Some(_), Err(_)) => return Err(Some(format!("{n}.minisig is missing"))),
            (None, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            (None, _) => {
                return Err(Some(format!(
                    "{n}.minisig is there but no key was given (an unsigned build removes it)"
                )))
            }
        }
    }

    // Sizes first (cheap), then the digests, every file and algorithm a job of its own.
    for o in &old_sorted.outputs {
        match std::fs::symlink_metadata(out_dir.join(&o.name)) {
            Ok(m) if m.is_file() && m.len() == o.size => {}
            Ok(_) => return Err(Some(format!("{} changed", o.name))),
            Err(_) => return Err(Some(format!("{} is missing", o.name))),
        }
    }
    let mut jobs: Vec<Job> = Vec::new();
    for o in &old_sorted.outputs {
        let path = out_dir.join(&o.name);
        jobs.push(Job {
            path: path.clone(),
            algorithm: Algorithm::Sha256,
            size: o.size,
        });
        if key.is_some() {
            jobs.push(Job {
                path,
                algorithm: Algorithm::Blake2b512,
                size: o.size,
            });
        }
    }
    let digests = digest_all(&jobs);
    let digest_of = |path: &Path, algorithm: Algorithm| {
        jobs.iter()
            .zip(&digests)
            .find(|(j, _)| j.path == path && j.algorithm == algorithm)
            .and_then(|(_, d)| d.as_ref().ok().cloned())
    };
    let mut file_digests = Vec::new();
    for o in &old_sorted.outputs {
        let path = out_dir.join(&o.name);
        let Some(sha256) = digest_of(&path, Algorithm::Sha256) else {
            return Err(Some(format!("cannot read {}", o.name)));
        };
        if hex::encode(&sha256) != o.sha256 {
            return Err(Some(format!("{} changed", o.name)));
        }
        file_digests.push((o.name.as_str(), path, o.size, sha256));
    }

    if let Some(key) = key {
        let mut all: Vec<(&str, Digests)> = Vec::new();
        for (n, path, size, sha256) in &file_digests {
            let Some(blake) = digest_of(path, Algorithm::Blake2b512) else {
                return Err(Some(format!("cannot read {n}")));
            };
            all.push((
                n,
                Digests {
                    blake2b512: blake.try_into().expect("BLAKE2b-512 is 64 bytes"),
                    sha256: sha256.clone().try_into().expect("SHA-256 is 32 bytes"),
                    size: *size,
                },
            ));
        }
        let manifest_digests = eflow_signing::Hasher::digest_reader(text.as_bytes())
            .map_err(|e| format!("{manifest_name}: {e}"))?;
        all.push((manifest_name.as_str(), manifest_digests));
        for ((n, digests), existing) in all.iter().zip(&minisigs) {
            let ours =
                eflow_signing::sign_digests_described(key, n, digests, records.source_date_epoch)
                    .map_err(|e| format!("signing {n}: {e}"))?;
            if ours.minisig != *existing {
                return Err(Some(format!(
                    "{n}.minisig is not this key's signature of {n}"
                )));
            }
        }
    }

    let outputs = formats
        .iter()
        .map(|&format| {
            let file = format.file_name(name);
            let o = old_sorted
                .outputs
                .iter()
                .find(|o| o.name == file)
                .expect("every requested output is recorded (checked above)");
            OutputFile {
                format,
                path: out_dir.join(&o.name),
                size: o.size,
                sha256: o.sha256.clone(),
            }
        })
        .collect();
    let signatures = if key.is_some() {
        // As a build lists them: outputs and SBOM by name, then the manifest's.
        signed_names
            .iter()
            .map(|n| minisig_path(&out_dir.join(n)))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Fresh {
        outputs,
        manifest: manifest_path,
        sbom: out_dir.join(sbom_name),
        signatures,
    })
}

/// What differs between the recorded manifest and the expected one, both normalized, in
/// words; `None` when every input, the tool and the time agree.
fn first_difference(old: &Manifest, new: &Manifest) -> Option<String> {
    if old.image != new.image {
        return Some(format!(
            "the image is now {} {} (was {} {})",
            new.image.name, new.image.version, old.image.name, old.image.version
        ));
    }
    if old.tool_version != new.tool_version || old.tool_digest != new.tool_digest {
        return Some("eflow-image changed since the last build".into());
    }
    if old.source_date_epoch != new.source_date_epoch {
        return Some(format!(
            "SOURCE_DATE_EPOCH is {} (was {})",
            new.source_date_epoch, old.source_date_epoch
        ));
    }
    let (oi, ni) = (&old.inputs, &new.inputs);
    for (o, n) in [
        (&oi.image_definition, &ni.image_definition),
        (&oi.lockfile, &ni.lockfile),
    ] {
        if o != n {
            return Some(format!("{} changed", n.path));
        }
    }
    if old.packages != new.packages {
        return Some("the locked packages changed".into());
    }
    for n in &new.recipes {
        if !old.recipes.contains(n) {
            return Some(format!("recipe {} changed", n.name));
        }
    }
    for n in &new.inputs.guest_rootfs {
        if !old.inputs.guest_rootfs.contains(n) {
            return Some(format!("{} changed", n.path));
        }
    }
    if old.recipes != new.recipes || oi.guest_rootfs != ni.guest_rootfs {
        return Some("a recipe or a file it installs is no longer used".into());
    }
    None
}

/// A digest to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Algorithm {
    Sha256,
    Blake2b512,
}

/// One file through one hash function.
struct Job {
    path: PathBuf,
    algorithm: Algorithm,
    size: u64,
}

impl Job {
    /// Relative cost, for scheduling the longest jobs first: BLAKE2b runs at about a third
    /// of SHA-256's speed where SHA-256 has CPU instructions (SHA-NI).
    fn cost(&self) -> u64 {
        match self.algorithm {
            Algorithm::Sha256 => self.size,
            Algorithm::Blake2b512 => self.size.saturating_mul(3),
        }
    }

    fn run(&self) -> std::io::Result<Vec<u8>> {
        let mut file = std::fs::File::open(&self.path)?;
        match self.algorithm {
            Algorithm::Sha256 => hash_reader::<Sha256>(&mut file),
            Algorithm::Blake2b512 => hash_reader::<Blake2b512>(&mut file),
        }
    }
}

fn hash_reader<D: Digest>(reader: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut hash = D::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hash.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hash.finalize().to_vec())
}

/// Runs every job, on as many threads as there are cores (a file hashes on one thread, so
/// several files, or one file's two digests, run side by side), longest jobs first.
/// Results are in the order of `jobs`.
fn digest_all(jobs: &[Job]) -> Vec<std::io::Result<Vec<u8>>> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].cost()));
    let results: Vec<Mutex<Option<std::io::Result<Vec<u8>>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len())
        .max(1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let r = jobs[i].run();
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every job ran")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::plan::lockfile::{inputs_digest, Lockfile, LOCK_VERSION};
    use crate::stages::plan::{Image, RecipeSet};
    use crate::stages::sign::{plan_records, write_release, PlanRecords, ReleaseInput};

    /// A project with one recipe installing one file, an empty lockfile, and no build yet.
    fn project(root: &Path) -> PathBuf {
        let images = root.join("recipes/images");
        std::fs::create_dir_all(&images).unwrap();
        std::fs::create_dir_all(root.join("guest-rootfs/etc")).unwrap();
        std::fs::write(root.join("guest-rootfs/etc/app.conf"), "level = 1\n").unwrap();
        std::fs::write(
            root.join("recipes/app.toml"),
            "[recipe]\nname = \"app\"\n[[file]]\nsource = \"etc/app.conf\"\npath = \"/etc/app.conf\"\n",
        )
        .unwrap();
        let image_path = images.join("demo.toml");
        std::fs::write(
            &image_path,
            "[image]\nname = \"demo\"\nversion = \"1.0\"\nrecipes = [\"app\"]\n",
        )
        .unwrap();
        let image = Image::load(&image_path).unwrap();
        let recipes = RecipeSet::load(
            &image.recipe_dir(),
            &image.def.image.recipes,
            (&image.path, &image.text),
        )
        .unwrap();
        Lockfile {
            version: LOCK_VERSION,
            image: "demo".into(),
            inputs: inputs_digest(&image, &recipes),
            source_date_epoch: 1_700_000_000,
            packages: Vec::new(),
        }
        .write(&image.lock_path())
        .unwrap();
        image_path
    }

    fn plan(image: &Path) -> Plan {
        Plan::load(image).unwrap()
    }

    /// What a build of `plan` into `formats` leaves in `out`, with stand-in outputs.
    fn fake_build(plan: &Plan, formats: &[OutputFormat], out: &Path, key: Option<&SecretKey>) {
        fake_build_by(plan, formats, out, key, sign::TOOL_DIGEST);
    }

    fn fake_build_by(
        plan: &Plan,
        formats: &[OutputFormat],
        out: &Path,
        key: Option<&SecretKey>,
        tool_digest: &str,
    ) {
        std::fs::create_dir_all(out).unwrap();
        let mut outputs = Vec::new();
        for f in formats {
            let name = f.file_name("demo");
            let bytes: Vec<u8> = format!("{name} ").bytes().cycle().take(50_000).collect();
            std::fs::write(out.join(&name), &bytes).unwrap();
            outputs.push((
                name,
                eflow_signing::Hasher::digest_reader(&bytes[..]).unwrap(),
            ));
        }
        let r = plan_records(plan).unwrap();
        let input = ReleaseInput {
            image_name: "demo".into(),
            image_version: "1.0".into(),
            records: PlanRecords {
                tool_digest: tool_digest.into(),
                ..r
            },
            partitions: Vec::new(),
            outputs,
            copyrights: Default::default(),
            depends: Default::default(),
        };
        write_release(&input, out, key).unwrap();
    }

    fn changed(c: Check) -> String {
        match c {
            Check::Changed(why) => why,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    fn flip_byte(path: &Path, at: usize) {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[at] ^= 1;
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn up_to_date_only_when_inputs_outputs_and_formats_match() {
        let dir = tempfile::tempdir().unwrap();
        let image = project(dir.path());
        let out = dir.path().join("out");
        let p = plan(&image);
        let raw_tar = [OutputFormat::Raw, OutputFormat::Tar];
        assert!(matches!(
            check(&p, &raw_tar, &out, None),
            Check::NoEarlierBuild
        ));
        fake_build(&p, &raw_tar, &out, None);
        let Check::UpToDate(fresh) = check(&p, &raw_tar, &out, None) else {
            panic!("not up to date after a build");
        };
        let names: Vec<_> = fresh.outputs.iter().map(|o| o.path.clone()).collect();
        assert_eq!(names, [out.join("demo.raw"), out.join("demo.rootfs.tar")]);
        assert_eq!(fresh.outputs[0].format, OutputFormat::Raw);
        assert_eq!(fresh.sbom, out.join("demo.spdx.json"));
        assert!(fresh.signatures.is_empty());

        // Another set of formats.
        let why = changed(check(&p, &[OutputFormat::Raw], &out, None));
        assert!(
            why.contains("this one writes demo.raw, demo.spdx.json"),
            "{why}"
        );
        let why = changed(check(
            &p,
            &[OutputFormat::Raw, OutputFormat::Tar, OutputFormat::Vhdx],
            &out,
            None,
        ));
        assert!(why.contains("demo.vhdx"), "{why}");

        // One byte of an output, of the SBOM; a missing output.
        let raw = out.join("demo.raw");
        flip_byte(&raw, 20_000);
        assert_eq!(changed(check(&p, &raw_tar, &out, None)), "demo.raw changed");
        flip_byte(&raw, 20_000);
        assert!(matches!(
            check(&p, &raw_tar, &out, None),
            Check::UpToDate(_)
        ));
        let sbom = out.join("demo.spdx.json");
        flip_byte(&sbom, 10);
        assert_eq!(
            changed(check(&p, &raw_tar, &out, None)),
            "demo.spdx.json changed"
        );
        flip_byte(&sbom, 10);
        std::fs::rename(&raw, out.join("moved")).unwrap();
        assert_eq!(
            changed(check(&p, &raw_tar, &out, None)),
            "demo.raw is missing"
        );
        std::fs::rename(out.join("moved"), &raw).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&raw)
            .unwrap()
            .set_len(1)
            .unwrap();
        assert_eq!(changed(check(&p, &raw_tar, &out, None)), "demo.raw changed");
        fake_build(&p, &raw_tar, &out, None);

        // A file a recipe installs, then the recipe itself (the lockfile stays valid).
        let conf = dir.path().join("guest-rootfs/etc/app.conf");
        std::fs::write(&conf, "level = 2\n").unwrap();
        let why = changed(check(&plan(&image), &raw_tar, &out, None));
        assert_eq!(why, "guest-rootfs/etc/app.conf changed");
        std::fs::write(&conf, "level = 1\n").unwrap();
        let recipe = dir.path().join("recipes/app.toml");
        let text = std::fs::read_to_string(&recipe).unwrap();
        std::fs::write(&recipe, format!("# tuned\n{text}")).unwrap();
        let why = changed(check(&plan(&image), &raw_tar, &out, None));
        assert_eq!(why, "recipe app changed");
        std::fs::write(&recipe, &text).unwrap();
        assert!(matches!(
            check(&plan(&image), &raw_tar, &out, None),
            Check::UpToDate(_)
        ));

        // Another build of the tool; a manifest not as a build writes it.
        fake_build_by(&p, &raw_tar, &out, None, &"0".repeat(64));
        let why = changed(check(&p, &raw_tar, &out, None));
        assert_eq!(why, "eflow-image changed since the last build");
        fake_build(&p, &raw_tar, &out, None);
        let manifest = out.join("demo.manifest.json");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, text.replace("\n  ", "\n   ")).unwrap();
        let why = changed(check(&p, &raw_tar, &out, None));
        assert!(why.contains("not as a build writes it"), "{why}");
        std::fs::remove_file(&manifest).unwrap();
        assert!(matches!(
            check(&p, &raw_tar, &out, None),
            Check::NoEarlierBuild
        ));
    }

    #[test]
    fn signed_builds_need_this_keys_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let image = project(dir.path());
        let out = dir.path().join("out");
        let p = plan(&image);
        let raw = [OutputFormat::Raw];
        let limits = eflow_signing::KdfLimits::INTERACTIVE;
        let (a, _) = eflow_signing::generate_with(None, limits).unwrap();
        let (b, _) = eflow_signing::generate_with(None, limits).unwrap();

        fake_build(&p, &raw, &out, None);
        let why = changed(check(&p, &raw, &out, Some(&a)));
        assert!(why.ends_with(".minisig is missing"), "{why}");

        fake_build(&p, &raw, &out, Some(&a));
        let Check::UpToDate(fresh) = check(&p, &raw, &out, Some(&a)) else {
            panic!("a signed build is not up to date with its own key");
        };
        let sigs: Vec<_> = fresh
            .signatures
            .iter()
            .map(|s| s.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(
            sigs,
            [
                "demo.raw.minisig",
                "demo.spdx.json.minisig",
                "demo.manifest.json.minisig"
            ]
        );
        let why = changed(check(&p, &raw, &out, Some(&b)));
        assert!(why.contains("not this key's signature"), "{why}");
        let why = changed(check(&p, &raw, &out, None));
        assert!(why.contains("no key was given"), "{why}");

        // A signature that is not the one this key makes of this file.
        let sig = out.join("demo.manifest.json.minisig");
        let text = std::fs::read_to_string(&sig).unwrap();
        std::fs::write(&sig, text.replace("timestamp:", "timestamp:1")).unwrap();
        let why = changed(check(&p, &raw, &out, Some(&a)));
        assert_eq!(
            why,
            "demo.manifest.json.minisig is not this key's signature of demo.manifest.json"
        );
    }

    #[test]
    fn parallel_digests_match_one_pass_digests() {
        let dir = tempfile::tempdir().unwrap();
        let mut jobs = Vec::new();
        let mut expected = Vec::new();
        for (i, len) in [0usize, 1, 3 << 20, 100_000].into_iter().enumerate() {
            let path = dir.path().join(format!("f{i}"));
            let bytes: Vec<u8> = (0..len).map(|b| (b * 7 + i) as u8).collect();
            std::fs::write(&path, &bytes).unwrap();
            let d = eflow_signing::Hasher::digest_reader(&bytes[..]).unwrap();
            for (algorithm, digest) in [
                (Algorithm::Sha256, d.sha256.to_vec()),
                (Algorithm::Blake2b512, d.blake2b512.to_vec()),
            ] {
                jobs.push(Job {
                    path: path.clone(),
                    algorithm,
                    size: len as u64,
                });
                expected.push(digest);
            }
        }
        jobs.push(Job {
            path: dir.path().join("missing"),
            algorithm: Algorithm::Sha256,
            size: 0,
        });
        let got = digest_all(&jobs);
        let (missing, got) = got.split_last().unwrap();
        assert!(missing.is_err());
        let got: Vec<Vec<u8>> = got.iter().map(|r| r.as_ref().unwrap().clone()).collect();
        assert_eq!(got, expected);
    }
}
