//! The guest programs the agent drives (systemctl, iotedge), behind a trait so that tests can
//! stand in for them, and the parsing of what systemctl prints.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::exec::{self, Captured};
use crate::protocol::UnitState;

/// The system programs the agent calls; implemented by [`SystemCommands`] in the guest and by
/// fakes in tests.
pub trait Commands: Send + Sync {
    /// Runs `systemctl ARGS`.
    fn systemctl(&self, args: &[&str]) -> io::Result<Captured>;
    /// Runs `iotedge ARGS`; `Ok(None)` when iotedge is not installed.
    fn iotedge(&self, args: &[&str]) -> io::Result<Option<Captured>>;
}

/// The real programs, at configurable paths (tests point them at scripts).
#[derive(Debug, Clone)]
pub struct SystemCommands {
    /// systemctl's path.
    pub systemctl: PathBuf,
    /// iotedge's path.
    pub iotedge: PathBuf,
}

impl Default for SystemCommands {
    fn default() -> Self {
        SystemCommands {
            systemctl: PathBuf::from("/usr/bin/systemctl"),
            iotedge: PathBuf::from("/usr/bin/iotedge"),
        }
    }
}

/// How long a systemctl query may take; `iotedge config apply` restarts services and gets more.
const SYSTEMCTL_TIMEOUT: Duration = Duration::from_secs(30);
const IOTEDGE_TIMEOUT: Duration = Duration::from_secs(180);
/// Output kept from these programs (they print little; the tail of errors is what matters).
const OUTPUT_CAP: usize = 256 * 1024;

fn argv(prog: &std::path::Path, args: &[&str]) -> Vec<String> {
    let mut v = vec![prog.to_string_lossy().into_owned()];
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

impl Commands for SystemCommands {
    fn systemctl(&self, args: &[&str]) -> io::Result<Captured> {
        exec::run(
            &argv(&self.systemctl, args),
            None,
            None,
            SYSTEMCTL_TIMEOUT,
            OUTPUT_CAP,
        )
    }

    fn iotedge(&self, args: &[&str]) -> io::Result<Option<Captured>> {
        if !self.iotedge.exists() {
            return Ok(None);
        }
        exec::run(
            &argv(&self.iotedge, args),
            None,
            None,
            IOTEDGE_TIMEOUT,
            OUTPUT_CAP,
        )
        .map(Some)
    }
}

/// The IoT Edge units the status request reports.
pub const IOT_EDGE_UNITS: &[&str] = &[
    "aziot-edged",
    "aziot-identityd",
    "aziot-keyd",
    "aziot-certd",
    "aziot-tpmd",
];
/// The container engine units the status request reports.
pub const ENGINE_UNITS: &[&str] = &["docker", "containerd"];

/// Parses `systemctl show --property=Id,LoadState,ActiveState UNIT...` into unit states keyed
/// by the names asked for (without `.service`).
pub fn parse_unit_states(names: &[&str], out: &str) -> BTreeMap<String, UnitState> {
    let mut by_id: BTreeMap<String, UnitState> = BTreeMap::new();
    for block in out.split("\n\n") {
        let mut id = None;
        let mut load = None;
        let mut active = None;
        for line in block.lines() {
            match line.split_once('=') {
                Some(("Id", v)) => id = Some(v.trim()),
                Some(("LoadState", v)) => load = Some(v.trim()),
                Some(("ActiveState", v)) => active = Some(v.trim()),
                _ => {}
            }
        }
        let Some(id) = id else { continue };
        let state = match (load, active) {
            (Some("not-found"), _) => UnitState::Missing,
            (_, Some("active" | "reloading")) => UnitState::Active,
            (_, Some("activating")) => UnitState::Activating,
            (_, Some("deactivating")) => UnitState::Deactivating,
            (_, Some("failed")) => UnitState::Failed,
            (_, Some("inactive")) => UnitState::Inactive,
            _ => UnitState::Unknown,
        };
        by_id.insert(id.trim_end_matches(".service").to_string(), state);
    }
    names
        .iter()
        .map(|n| {
            (
                n.to_string(),
                by_id.get(*n).copied().unwrap_or(UnitState::Unknown),
            )
        })
        .collect()
}

/// Parses `systemctl list-units --failed --plain --no-legend` into unit names.
pub fn parse_failed_units(out: &str) -> Vec<String> {
    out.lines()
        // Some systemd versions print a bullet before a unit even with --plain.
        .filter_map(|l| {
            l.trim_start()
                .trim_start_matches('●')
                .split_whitespace()
                .next()
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_states_from_systemctl_show() {
        let out = "Id=aziot-edged.service\nLoadState=loaded\nActiveState=active\n\n\
                   Id=aziot-tpmd.service\nLoadState=not-found\nActiveState=inactive\n\n\
                   Id=docker.service\nLoadState=loaded\nActiveState=failed\n";
        let s = parse_unit_states(&["aziot-edged", "aziot-tpmd", "docker", "x"], out);
        assert_eq!(s["aziot-edged"], UnitState::Active);
        assert_eq!(s["aziot-tpmd"], UnitState::Missing);
        assert_eq!(s["docker"], UnitState::Failed);
        assert_eq!(s["x"], UnitState::Unknown);
    }

    #[test]
    fn failed_units_from_list_units() {
        let out = "foo.service loaded failed failed Foo\n● bar.mount loaded failed failed Bar\n\n";
        assert_eq!(parse_failed_units(out), ["foo.service", "bar.mount"]);
    }
}
