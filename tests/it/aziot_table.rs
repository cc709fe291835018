//! What installing Microsoft's IoT Edge runtime packages on Debian 12 produces, written from
//! the upstream packaging files, fact by fact:
//! - Azure/iot-identity-service release/1.5 at ab9d0007: contrib/debian/{control,preinst,
//!   postinst,rules}, the Makefile's `install-common`/`install-deb` (paths, `install -m` modes,
//!   which dh_fixperms then makes 0755/0644), */aziot-*d.{service,socket}.in with the Makefile's
//!   substitutions (users aziot*, sockets in /run/aziot, private libs
//!   /usr/lib/aziot-identity-service);
//! - Azure/iotedge release/1.5 at 94e4593a: edgelet/contrib/debian/{control,install,preinst,
//!   postinst,rules}, edgelet/Makefile's `deb` target, edgelet/contrib/systemd/debian/*.
//!
//! `eflow_image::eflow_image_is_the_runtime_as_its_packages_install_it` checks the built image
//! against every row. Where Debian's tools decide (useradd picks system ids, `useradd -r`
//! without -d gives /home/NAME and creates nothing), the row says what they do.

/// A user: name, fixed uid (None: a system uid), primary group, home, shell, comment.
pub type UserRow = (
    &'static str,
    Option<u32>,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// preinst `useradd` lines.
pub const USERS: [UserRow; 7] = [
    (
        "aziotks",
        None,
        "aziotks",
        "/var/lib/aziot/keyd",
        "/sbin/nologin",
        "aziot-keyd user",
    ),
    (
        "aziottpm",
        None,
        "aziottpm",
        "/var/lib/aziot/tpmd",
        "/sbin/nologin",
        "aziot-tpmd user",
    ),
    (
        "aziotcs",
        None,
        "aziotcs",
        "/var/lib/aziot/certd",
        "/sbin/nologin",
        "aziot-certd user",
    ),
    (
        "aziotid",
        None,
        "aziotid",
        "/var/lib/aziot/identityd",
        "/sbin/nologin",
        "aziot-identityd user",
    ),
    (
        "iotedge",
        None,
        "iotedge",
        "/var/lib/aziot/edged",
        "/sbin/nologin",
        "iotedge user",
    ),
    // `useradd -r -g iotedge ... -u 13622 edgeagentuser`: no -d, so /home/NAME, not created.
    (
        "edgeagentuser",
        Some(13622),
        "iotedge",
        "/home/edgeagentuser",
        "/sbin/nologin",
        "edgeAgent user",
    ),
    // `useradd -r ... -u 13623 edgehubuser`: no -g, so a group of its own (a system gid).
    (
        "edgehubuser",
        Some(13623),
        "edgehubuser",
        "/home/edgehubuser",
        "/sbin/nologin",
        "edgeHub user",
    ),
];

/// Homes that `useradd -r` without -m does not create.
pub const NO_HOME: [&str; 2] = ["/home/edgeagentuser", "/home/edgehubuser"];

/// Supplementary memberships (preinst `usermod -aG GROUP USER`): (user, group).
pub const MEMBERSHIPS: [(&str, &str); 9] = [
    ("aziotcs", "aziotks"),
    ("aziotid", "aziotcs"),
    ("aziotid", "aziotks"),
    ("aziotid", "aziottpm"),
    ("iotedge", "docker"),
    ("iotedge", "systemd-journal"),
    ("iotedge", "aziotcs"),
    ("iotedge", "aziotks"),
    ("iotedge", "aziotid"),
];

/// aziot-edge's preinst: every member of these groups is added to `iotedge`.
pub const MEMBERS_JOIN_IOTEDGE: [&str; 2] = ["sudo", "admin"];

/// A path: (path, debugfs type, mode, owner, group); a symlink's target in place of the owner.
pub type PathRow = (&'static str, &'static str, u32, &'static str, &'static str);

/// Files and directories after the postinst scripts ran.
pub const PATHS: [PathRow; 34] = [
    // iot-identity-service: Makefile install-common/install-deb, postinst chown/chmod.
    (
        "/usr/libexec/aziot-identity-service/aziotd",
        "regular",
        0o755,
        "root",
        "root",
    ),
    (
        "/usr/libexec/aziot-identity-service/aziot-certd",
        "symlink",
        0o777,
        "/usr/libexec/aziot-identity-service/aziotd",
        "",
    ),
    (
        "/usr/libexec/aziot-identity-service/aziot-identityd",
        "symlink",
        0o777,
        "/usr/libexec/aziot-identity-service/aziotd",
        "",
    ),
    (
        "/usr/libexec/aziot-identity-service/aziot-keyd",
        "symlink",
        0o777,
        "/usr/libexec/aziot-identity-service/aziotd",
        "",
    ),
    (
        "/usr/libexec/aziot-identity-service/aziot-tpmd",
        "symlink",
        0o777,
        "/usr/libexec/aziot-identity-service/aziotd",
        "",
    ),
    ("/usr/bin/aziotctl", "regular", 0o755, "root", "root"),
    (
        "/usr/lib/libaziot_keys.so",
        "regular",
        0o755,
        "root",
        "root",
    ),
    (
        "/usr/lib/x86_64-linux-gnu/engines-3/aziot_keys.so",
        "regular",
        0o755,
        "root",
        "root",
    ),
    (
        "/etc/aziot/config.toml.template",
        "regular",
        0o600,
        "root",
        "root",
    ),
    (
        "/etc/aziot/keyd/config.toml.default",
        "regular",
        0o400,
        "aziotks",
        "aziotks",
    ),
    (
        "/etc/aziot/certd/config.toml.default",
        "regular",
        0o400,
        "aziotcs",
        "aziotcs",
    ),
    (
        "/etc/aziot/identityd/config.toml.default",
        "regular",
        0o400,
        "aziotid",
        "aziotid",
    ),
    (
        "/etc/aziot/tpmd/config.toml.default",
        "regular",
        0o400,
        "aziottpm",
        "aziottpm",
    ),
    // `install -d -m 0700`, then dh_fixperms: 0755; the Debian postinst leaves them.
    (
        "/etc/aziot/keyd/config.d",
        "directory",
        0o755,
        "root",
        "root",
    ),
    (
        "/etc/aziot/certd/config.d",
        "directory",
        0o755,
        "root",
        "root",
    ),
    (
        "/etc/aziot/identityd/config.d",
        "directory",
        0o755,
        "root",
        "root",
    ),
    (
        "/etc/aziot/tpmd/config.d",
        "directory",
        0o755,
        "root",
        "root",
    ),
    (
        "/var/lib/aziot/keyd",
        "directory",
        0o700,
        "aziotks",
        "aziotks",
    ),
    (
        "/var/lib/aziot/certd",
        "directory",
        0o700,
        "aziotcs",
        "aziotcs",
    ),
    (
        "/var/lib/aziot/identityd",
        "directory",
        0o700,
        "aziotid",
        "aziotid",
    ),
    (
        "/var/lib/aziot/tpmd",
        "directory",
        0o700,
        "aziottpm",
        "aziottpm",
    ),
    // aziot-edge: debian/install, Makefile `deb`, postinst chown/chmod.
    ("/usr/bin/iotedge", "regular", 0o755, "root", "root"),
    (
        "/usr/libexec/aziot/aziot-edged",
        "regular",
        0o755,
        "root",
        "root",
    ),
    (
        "/etc/aziot/config.toml.edge.template",
        "regular",
        0o600,
        "root",
        "root",
    ),
    ("/etc/aziot/edged", "directory", 0o755, "root", "root"),
    (
        "/etc/aziot/edged/config.d",
        "directory",
        0o700,
        "iotedge",
        "iotedge",
    ),
    (
        "/etc/aziot/edged/config.toml.default",
        "regular",
        0o400,
        "iotedge",
        "iotedge",
    ),
    (
        "/etc/logrotate.d/aziot-edge",
        "regular",
        0o644,
        "root",
        "root",
    ),
    (
        "/var/lib/aziot/edged",
        "directory",
        0o755,
        "iotedge",
        "iotedge",
    ),
    (
        "/var/log/aziot/edged",
        "directory",
        0o755,
        "iotedge",
        "iotedge",
    ),
    // The unit files themselves (dh_installsystemd / install-common: 0644 root).
    (
        "/lib/systemd/system/aziot-edged.service",
        "regular",
        0o644,
        "root",
        "root",
    ),
    (
        "/lib/systemd/system/aziot-edged.mgmt.socket",
        "regular",
        0o644,
        "root",
        "root",
    ),
    (
        "/lib/systemd/system/aziot-keyd.socket",
        "regular",
        0o644,
        "root",
        "root",
    ),
    (
        "/lib/systemd/system/aziot-keyd.service",
        "regular",
        0o644,
        "root",
        "root",
    ),
];

/// A unit file and settings it holds, each as `Key=value` in its section.
pub type UnitRow = (&'static str, &'static [&'static str]);

/// The identity services' units (the .in files, substituted).
pub fn identity_units() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (svc, user) in [
        ("keyd", "aziotks"),
        ("certd", "aziotcs"),
        ("identityd", "aziotid"),
        ("tpmd", "aziottpm"),
    ] {
        out.push((
            format!("aziot-{svc}.socket"),
            vec![
                format!("PartOf=aziot-{svc}.service"),
                format!("ListenStream=/run/aziot/{svc}.sock"),
                "SocketMode=0660".into(),
                "DirectoryMode=0755".into(),
                format!("SocketUser={user}"),
                format!("SocketGroup={user}"),
                "WantedBy=sockets.target".into(),
            ],
        ));
        out.push((
            format!("aziot-{svc}.service"),
            vec![
                format!("Requires=aziot-{svc}.socket"),
                format!("After=aziot-{svc}.socket"),
                "Environment=\"LD_LIBRARY_PATH=/usr/lib/aziot-identity-service\"".into(),
                format!("ExecStart=/usr/libexec/aziot-identity-service/aziot-{svc}"),
                "KillMode=process".into(),
                "Restart=on-failure".into(),
                "RestartSec=5s".into(),
                format!("User={user}"),
                "WantedBy=multi-user.target".into(),
            ],
        ));
    }
    out
}

/// aziot-edge's units (edgelet/contrib/systemd/debian).
pub const EDGE_UNITS: [UnitRow; 3] = [
    (
        "aziot-edged.service",
        &[
            "After=network-online.target docker.service aziot-edged.workload.socket aziot-edged.mgmt.socket",
            "Requires=aziot-edged.workload.socket aziot-edged.mgmt.socket",
            "Wants=network-online.target docker.service",
            "ExecStart=/usr/libexec/aziot/aziot-edged",
            "KillMode=process",
            "TimeoutStartSec=600",
            "TimeoutStopSec=40",
            "Restart=on-failure",
            "RestartPreventExitStatus=153",
            "RestartSec=5",
            "User=iotedge",
            "Group=iotedge",
            "WantedBy=multi-user.target",
            "Also=aziot-edged.workload.socket aziot-edged.mgmt.socket",
        ],
    ),
    (
        "aziot-edged.mgmt.socket",
        &[
            "PartOf=aziot-edged.service",
            "ListenStream=/var/run/iotedge/mgmt.sock",
            "SocketMode=0660",
            "DirectoryMode=0755",
            "SocketUser=edgeagentuser",
            "SocketGroup=iotedge",
            "Service=aziot-edged.service",
            "WantedBy=sockets.target",
        ],
    ),
    (
        "aziot-edged.workload.socket",
        &[
            "PartOf=aziot-edged.service",
            "ListenStream=/var/run/iotedge/workload.sock",
            "SocketMode=0666",
            "DirectoryMode=0755",
            "SocketUser=iotedge",
            "SocketGroup=iotedge",
            "Service=aziot-edged.service",
            "WantedBy=sockets.target",
        ],
    ),
];

/// Enabled at install (debian/rules): (target.wants directory, unit). The identity services'
/// .service units are deliberately not enabled (their sockets start them).
pub const ENABLED: [(&str, &str); 7] = [
    ("sockets.target.wants", "aziot-keyd.socket"),
    ("sockets.target.wants", "aziot-certd.socket"),
    ("sockets.target.wants", "aziot-identityd.socket"),
    ("sockets.target.wants", "aziot-tpmd.socket"),
    ("sockets.target.wants", "aziot-edged.mgmt.socket"),
    ("sockets.target.wants", "aziot-edged.workload.socket"),
    ("multi-user.target.wants", "aziot-edged.service"),
];

/// Not enabled: the identity services themselves.
pub const NOT_ENABLED: [(&str, &str); 4] = [
    ("multi-user.target.wants", "aziot-keyd.service"),
    ("multi-user.target.wants", "aziot-certd.service"),
    ("multi-user.target.wants", "aziot-identityd.service"),
    ("multi-user.target.wants", "aziot-tpmd.service"),
];

/// debian/control Depends (without the shlibs part), as installed packages of the image.
pub const DEPENDS: [(&str, &[&str]); 2] = [
    (
        "aziot-identity-service",
        &["psmisc", "libssl3", "libtss2-esys-3.0.2-0"],
    ),
    (
        "aziot-edge",
        &[
            "adduser",
            "ca-certificates",
            "hostname",
            "psmisc",
            "sed",
            "aziot-identity-service",
        ],
    ),
];
