//! The IoT Edge provisioning settings, typed, and their rendering into /etc/aziot/config.toml.
//!
//! Shared by the agent (the `provision` request) and by the image build (the image definition's
//! provisioning section), so both write the same file for the same settings. The rendering is
//! a pure function of its inputs: no clock, no host name lookup.

use std::fmt;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::protocol::ProvisionParams;

/// A string that must never be printed: its Debug says `<redacted>`; it serializes as the plain
/// string because it has to reach the config file.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The value, for the few places that must write it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// DPS's public global endpoint, the default of every DPS kind.
pub const DEFAULT_GLOBAL_ENDPOINT: &str = "https://global.azure-devices-provisioning.net";

fn default_global_endpoint() -> String {
    DEFAULT_GLOBAL_ENDPOINT.to_string()
}

/// How the device obtains its IoT Hub identity: the five kinds the Windows side offers.
///
/// `identity_cert` / `identity_pk` are locations of files already in the guest (put there with
/// `copy-in` or by the image), as an absolute path or a `file://` URI, or a `pkcs11:` URI for
/// the key; never the PEM content itself.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Provisioning {
    /// Manual, with a device connection string (holds the device key: secret).
    ManualConnectionString {
        /// `HostName=...;DeviceId=...;SharedAccessKey=...`
        connection_string: Secret,
    },
    /// Manual, with an X.509 device identity certificate.
    ManualX509 {
        /// The IoT Hub's host name.
        iothub_hostname: String,
        /// The device id in that hub.
        device_id: String,
        /// The identity certificate's location.
        identity_cert: String,
        /// The identity private key's location (a pkcs11 URI may carry a PIN: secret).
        identity_pk: Secret,
    },
    /// DPS, symmetric key attestation.
    DpsSymmetricKey {
        /// The DPS endpoint.
        #[serde(default = "default_global_endpoint")]
        global_endpoint: String,
        /// The DPS instance's scope id.
        id_scope: String,
        /// The registration id.
        registration_id: String,
        /// The enrollment's key, base64 (secret).
        symmetric_key: Secret,
    },
    /// DPS, X.509 attestation.
    DpsX509 {
        /// The DPS endpoint.
        #[serde(default = "default_global_endpoint")]
        global_endpoint: String,
        /// The DPS instance's scope id.
        id_scope: String,
        /// The registration id (default: the certificate's common name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        registration_id: Option<String>,
        /// The identity certificate's location.
        identity_cert: String,
        /// The identity private key's location (secret).
        identity_pk: Secret,
    },
    /// DPS, TPM attestation.
    DpsTpm {
        /// The DPS endpoint.
        #[serde(default = "default_global_endpoint")]
        global_endpoint: String,
        /// The DPS instance's scope id.
        id_scope: String,
        /// The registration id.
        registration_id: String,
    },
}

/// A provisioning setting that cannot be rendered into a working config.toml.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProvisioningError {
    /// A required value is empty.
    #[error("provisioning: `{0}` is empty; give a value")]
    Empty(&'static str),
    /// A value holds a control character (a newline would break the file's lines).
    #[error("provisioning: `{0}` contains a control character")]
    ControlChar(&'static str),
    /// The symmetric key is not base64.
    #[error(
        "provisioning: `symmetric_key` is not base64 (copy it from the DPS enrollment as it is)"
    )]
    KeyNotBase64,
    /// A certificate or key location is neither an absolute path nor a supported URI.
    #[error("provisioning: `{0}` must be an absolute path, a file:// URI{1}")]
    BadLocation(&'static str, &'static str),
    /// A manual connection string lacks a part IoT Edge needs, or its key is not base64.
    #[error("provisioning: `connection_string` {0} (expected HostName=...;DeviceId=...;SharedAccessKey=<base64>)")]
    ConnectionString(&'static str),
    /// A provisioning file is not TOML or not the typed form.
    #[error("provisioning file: {0}")]
    File(String),
}

fn check(name: &'static str, value: &str) -> Result<(), ProvisioningError> {
    if value.trim().is_empty() {
        return Err(ProvisioningError::Empty(name));
    }
    if value.chars().any(char::is_control) {
        return Err(ProvisioningError::ControlChar(name));
    }
    Ok(())
}

/// What `iotedge config apply` checks in a manual connection string: `;`-separated
/// `key=value` parts (others ignored) with a HostName, a DeviceId and a SharedAccessKey that
/// decodes as base64, padded or not.
fn check_connection_string(cs: &str) -> Result<(), ProvisioningError> {
    let part = |key: &str| {
        cs.split(';')
            .filter_map(|p| p.split_once('='))
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .next_back()
    };
    let missing = |key| match part(key) {
        None => Err(ProvisioningError::ConnectionString(match key {
            "HostName" => "has no HostName",
            "DeviceId" => "has no DeviceId",
            _ => "has no SharedAccessKey",
        })),
        Some("") => Err(ProvisioningError::ConnectionString(match key {
            "HostName" => "has an empty HostName",
            "DeviceId" => "has an empty DeviceId",
            _ => "has an empty SharedAccessKey",
        })),
        Some(v) => Ok(v),
    };
    missing("HostName")?;
    missing("DeviceId")?;
    let key = missing("SharedAccessKey")?;
    let e = base64::engine::general_purpose::STANDARD;
    let ne = base64::engine::general_purpose::STANDARD_NO_PAD;
    match e.decode(key) {
        Ok(_) => Ok(()),
        Err(base64::DecodeError::InvalidPadding) if ne.decode(key).is_ok() => Ok(()),
        Err(_) => Err(ProvisioningError::ConnectionString(
            "has a SharedAccessKey that is not base64",
        )),
    }
}

fn check_location(name: &'static str, v: &str, pkcs11: bool) -> Result<(), ProvisioningError> {
    check(name, v)?;
    let ok =
        v.starts_with('/') || v.starts_with("file:///") || (pkcs11 && v.starts_with("pkcs11:"));
    if ok {
        Ok(())
    } else {
        Err(ProvisioningError::BadLocation(
            name,
            if pkcs11 { " or a pkcs11: URI" } else { "" },
        ))
    }
}

/// The X.509 identity's certificate and private key locations.
fn check_x509(cert: &str, pk: &str) -> Result<(), ProvisioningError> {
    check_location("identity_cert", cert, false)?;
    check_location("identity_pk", pk, true)
}

/// The DPS instance: its global endpoint and ID scope.
fn check_dps(global_endpoint: &str, id_scope: &str) -> Result<(), ProvisioningError> {
    check("global_endpoint", global_endpoint)?;
    check("id_scope", id_scope)
}

/// An absolute path becomes a file:// URI; URIs stay as they are.
fn location_uri(v: &str) -> String {
    if v.starts_with('/') {
        format!("file://{v}")
    } else {
        v.to_string()
    }
}

impl Provisioning {
    /// Checks what IoT Edge would otherwise reject at apply time (or worse, at provisioning).
    pub fn validate(&self) -> Result<(), ProvisioningError> {
        match self {
            Provisioning::ManualConnectionString { connection_string } => {
                check("connection_string", connection_string.expose())?;
                check_connection_string(connection_string.expose())
            }
            Provisioning::ManualX509 {
                iothub_hostname,
                device_id,
                identity_cert,
                identity_pk,
            } => {
                check("iothub_hostname", iothub_hostname)?;
                check("device_id", device_id)?;
                check_x509(identity_cert, identity_pk.expose())
            }
            Provisioning::DpsSymmetricKey {
                global_endpoint,
                id_scope,
                registration_id,
                symmetric_key,
            } => {
                check_dps(global_endpoint, id_scope)?;
                check("registration_id", registration_id)?;
                check("symmetric_key", symmetric_key.expose())?;
                base64::engine::general_purpose::STANDARD
                    .decode(symmetric_key.expose().trim())
                    .map_err(|_| ProvisioningError::KeyNotBase64)?;
                Ok(())
            }
            Provisioning::DpsX509 {
                global_endpoint,
                id_scope,
                registration_id,
                identity_cert,
                identity_pk,
            } => {
                check_dps(global_endpoint, id_scope)?;
                if let Some(r) = registration_id {
                    check("registration_id", r)?;
                }
                check_x509(identity_cert, identity_pk.expose())
            }
            Provisioning::DpsTpm {
                global_endpoint,
                id_scope,
                registration_id,
            } => {
                check_dps(global_endpoint, id_scope)?;
                check("registration_id", registration_id)
            }
        }
    }
}

/// Rendering choices beyond the provisioning itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderOptions {
    /// The Edge Agent container image. When None the `[agent]` section is left out and IoT
    /// Edge uses its built-in default agent image.
    pub agent_image: Option<String>,
}

/// A TOML string literal for `s`, escaped by the toml crate.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Renders /etc/aziot/config.toml for `p` with the device `hostname`, default options.
pub fn render_config(p: &Provisioning, hostname: &str) -> String {
    render_config_with(p, hostname, &RenderOptions::default())
}

/// Renders /etc/aziot/config.toml for `p` with the device `hostname` and `opts`.
pub fn render_config_with(p: &Provisioning, hostname: &str, opts: &RenderOptions) -> String {
    let mut s = String::new();
    s.push_str("# Azure IoT Edge configuration, rendered by eflow-guest-agent.\n");
    s.push_str("# Apply changes with: iotedge config apply\n\n");
    s.push_str(&format!("hostname = {}\n\n", q(hostname)));
    s.push_str("[provisioning]\n");
    match p {
        Provisioning::ManualConnectionString { connection_string } => {
            s.push_str("source = \"manual\"\n");
            s.push_str(&format!(
                "connection_string = {}\n",
                q(connection_string.expose())
            ));
        }
        Provisioning::ManualX509 {
            iothub_hostname,
            device_id,
            identity_cert,
            identity_pk,
        } => {
            s.push_str("source = \"manual\"\n");
            s.push_str(&format!("iothub_hostname = {}\n", q(iothub_hostname)));
            s.push_str(&format!("device_id = {}\n\n", q(device_id)));
            s.push_str("[provisioning.authentication]\n");
            s.push_str("method = \"x509\"\n");
            x509_identity(&mut s, identity_cert, identity_pk.expose());
        }
        Provisioning::DpsSymmetricKey {
            global_endpoint,
            id_scope,
            registration_id,
            symmetric_key,
        } => {
            dps_head(&mut s, global_endpoint, id_scope, "symmetric_key");
            s.push_str(&format!("registration_id = {}\n", q(registration_id)));
            s.push_str(&format!(
                "symmetric_key = {{ value = {} }}\n",
                q(symmetric_key.expose().trim())
            ));
        }
        Provisioning::DpsX509 {
            global_endpoint,
            id_scope,
            registration_id,
            identity_cert,
            identity_pk,
        } => {
            dps_head(&mut s, global_endpoint, id_scope, "x509");
            if let Some(r) = registration_id {
                s.push_str(&format!("registration_id = {}\n", q(r)));
            }
            x509_identity(&mut s, identity_cert, identity_pk.expose());
        }
        Provisioning::DpsTpm {
            global_endpoint,
            id_scope,
            registration_id,
        } => {
            dps_head(&mut s, global_endpoint, id_scope, "tpm");
            s.push_str(&format!("registration_id = {}\n", q(registration_id)));
        }
    }
    if let Some(image) = &opts.agent_image {
        s.push_str("\n[agent]\nname = \"edgeAgent\"\ntype = \"docker\"\nimagePullPolicy = \"on-create\"\n\n");
        s.push_str(&format!("[agent.config]\nimage = {}\n", q(image)));
    }
    s.push_str(concat!(
        "\n[connect]\n",
        "workload_uri = \"unix:///var/run/iotedge/workload.sock\"\n",
        "management_uri = \"unix:///var/run/iotedge/mgmt.sock\"\n",
        "\n[listen]\n",
        "workload_uri = \"fd://aziot-edged.workload.socket\"\n",
        "management_uri = \"fd://aziot-edged.mgmt.socket\"\n",
        "\n[moby_runtime]\n",
        "uri = \"unix:///var/run/docker.sock\"\n",
        "network = \"azure-iot-edge\"\n",
    ));
    s
}

/// The X.509 identity lines: certificate and private key, as file:// (or pkcs11:) URIs.
fn x509_identity(s: &mut String, cert: &str, pk: &str) {
    s.push_str(&format!("identity_cert = {}\n", q(&location_uri(cert))));
    s.push_str(&format!("identity_pk = {}\n", q(&location_uri(pk))));
}

fn dps_head(s: &mut String, global_endpoint: &str, id_scope: &str, method: &str) {
    s.push_str("source = \"dps\"\n");
    s.push_str(&format!("global_endpoint = {}\n", q(global_endpoint)));
    s.push_str(&format!("id_scope = {}\n\n", q(id_scope)));
    s.push_str("[provisioning.attestation]\n");
    s.push_str(&format!("method = {}\n", q(method)));
}

/// Turns a provisioning file into `provision` parameters: a TOML file whose top level has a
/// `kind` key is the typed form ([`Provisioning`], the same shape as an image definition's
/// provisioning section); any other TOML file is a complete config.toml sent as it is.
pub fn provision_params_from_file(
    text: &str,
    hostname: Option<String>,
    apply: bool,
) -> Result<ProvisionParams, ProvisioningError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ProvisioningError::File(format!("not TOML: {}", e.message()))
    })?;
    let apply = Some(apply);
    if table.contains_key("kind") {
        let p: Provisioning = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ProvisioningError::File(e.message().to_string()))?;
        p.validate()?;
        Ok(ProvisionParams {
            provisioning: Some(p),
            hostname,
            apply,
            config_toml: None,
        })
    } else {
        if hostname.is_some() {
            return Err(ProvisioningError::File(
                "a hostname applies only to the typed form (kind = ...); set it in the config.toml"
                    .into(),
            ));
        }
        Ok(ProvisionParams {
            config_toml: Some(Secret::new(text)),
            apply,
            provisioning: None,
            hostname: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "c3VwZXJzZWNyZXRzeW1tZXRyaWNrZXkxMjM0NTY3OA==";
    const CONN: &str = "HostName=h.example;DeviceId=d1;SharedAccessKey=Q09OTlNFQ1JFVA==";

    fn all() -> Vec<Provisioning> {
        vec![
            Provisioning::ManualConnectionString {
                connection_string: Secret::new(CONN),
            },
            Provisioning::ManualX509 {
                iothub_hostname: "hub.example".into(),
                device_id: "dev-1".into(),
                identity_cert: "/var/secrets/id.pem".into(),
                identity_pk: Secret::new("file:///var/secrets/id.key.pem"),
            },
            Provisioning::DpsSymmetricKey {
                global_endpoint: DEFAULT_GLOBAL_ENDPOINT.into(),
                id_scope: "0ne00ABCDEF".into(),
                registration_id: "reg-1".into(),
                symmetric_key: Secret::new(KEY),
            },
            Provisioning::DpsX509 {
                global_endpoint: DEFAULT_GLOBAL_ENDPOINT.into(),
                id_scope: "0ne00ABCDEF".into(),
                registration_id: None,
                identity_cert: "file:///var/secrets/id.pem".into(),
                identity_pk: Secret::new("pkcs11:object=id?pin-value=PINSECRET"),
            },
            Provisioning::DpsTpm {
                global_endpoint: DEFAULT_GLOBAL_ENDPOINT.into(),
                id_scope: "0ne00ABCDEF".into(),
                registration_id: "reg-tpm".into(),
            },
        ]
    }

    fn get<'a>(t: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
        let mut parts = path.split('.');
        let mut v = t.get(parts.next()?)?;
        for p in parts {
            v = v.as_table()?.get(p)?;
        }
        Some(v)
    }

    fn s<'a>(t: &'a toml::Table, path: &str) -> &'a str {
        get(t, path)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("{path} missing or not a string"))
    }

    #[test]
    fn every_kind_renders_to_the_keys_iot_edge_reads() {
        for p in all() {
            p.validate().unwrap();
            let text = render_config(&p, "WINHOST-EFLOW");
            let t: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(s(&t, "hostname"), "WINHOST-EFLOW");
            assert_eq!(s(&t, "moby_runtime.uri"), "unix:///var/run/docker.sock");
            assert!(get(&t, "agent").is_none());
            match &p {
                Provisioning::ManualConnectionString { .. } => {
                    assert_eq!(s(&t, "provisioning.source"), "manual");
                    assert_eq!(s(&t, "provisioning.connection_string"), CONN);
                }
                Provisioning::ManualX509 { .. } => {
                    assert_eq!(s(&t, "provisioning.source"), "manual");
                    assert_eq!(s(&t, "provisioning.iothub_hostname"), "hub.example");
                    assert_eq!(s(&t, "provisioning.device_id"), "dev-1");
                    assert_eq!(s(&t, "provisioning.authentication.method"), "x509");
                    assert_eq!(
                        s(&t, "provisioning.authentication.identity_cert"),
                        "file:///var/secrets/id.pem"
                    );
                    assert_eq!(
                        s(&t, "provisioning.authentication.identity_pk"),
                        "file:///var/secrets/id.key.pem"
                    );
                }
                Provisioning::DpsSymmetricKey { .. } => {
                    assert_eq!(s(&t, "provisioning.source"), "dps");
                    assert_eq!(
                        s(&t, "provisioning.global_endpoint"),
                        DEFAULT_GLOBAL_ENDPOINT
                    );
                    assert_eq!(s(&t, "provisioning.id_scope"), "0ne00ABCDEF");
                    assert_eq!(s(&t, "provisioning.attestation.method"), "symmetric_key");
                    assert_eq!(s(&t, "provisioning.attestation.registration_id"), "reg-1");
                    assert_eq!(s(&t, "provisioning.attestation.symmetric_key.value"), KEY);
                }
                Provisioning::DpsX509 { .. } => {
                    assert_eq!(s(&t, "provisioning.source"), "dps");
                    assert_eq!(s(&t, "provisioning.attestation.method"), "x509");
                    assert!(get(&t, "provisioning.attestation.registration_id").is_none());
                    assert_eq!(
                        s(&t, "provisioning.attestation.identity_pk"),
                        "pkcs11:object=id?pin-value=PINSECRET"
                    );
                }
                Provisioning::DpsTpm { .. } => {
                    assert_eq!(s(&t, "provisioning.attestation.method"), "tpm");
                    assert_eq!(s(&t, "provisioning.attestation.registration_id"), "reg-tpm");
                }
            }
        }
    }

    #[test]
    fn agent_image_and_escaping() {
        let p = Provisioning::DpsTpm {
            global_endpoint: DEFAULT_GLOBAL_ENDPOINT.into(),
            id_scope: "scope".into(),
            registration_id: "we\"ird\\id".into(),
        };
        let opts = RenderOptions {
            agent_image: Some("registry.example/edge-agent:1.5".into()),
        };
        let text = render_config_with(&p, "h\"ost", &opts);
        let t: toml::Table = text.parse().unwrap();
        assert_eq!(s(&t, "hostname"), "h\"ost");
        assert_eq!(
            s(&t, "provisioning.attestation.registration_id"),
            "we\"ird\\id"
        );
        assert_eq!(s(&t, "agent.name"), "edgeAgent");
        assert_eq!(
            s(&t, "agent.config.image"),
            "registry.example/edge-agent:1.5"
        );
        // Deterministic.
        assert_eq!(text, render_config_with(&p, "h\"ost", &opts));
    }

    #[test]
    fn secrets_never_in_debug() {
        for p in all() {
            let d = format!("{p:?}");
            for secret in [CONN, KEY, "PINSECRET", "id.key.pem"] {
                assert!(!d.contains(secret), "{d}");
            }
        }
        let params = ProvisionParams {
            config_toml: Some(Secret::new(format!("connection_string = \"{CONN}\""))),
            ..Default::default()
        };
        assert!(!format!("{params:?}").contains("SharedAccessKey"));
    }

    #[test]
    fn validation_rejects_bad_values() {
        let bad = [
            Provisioning::ManualConnectionString {
                connection_string: Secret::new(" "),
            },
            Provisioning::ManualConnectionString {
                connection_string: Secret::new("DeviceId=d;SharedAccessKey=QUJD"),
            },
            Provisioning::ManualConnectionString {
                connection_string: Secret::new("HostName=h;SharedAccessKey=QUJD"),
            },
            Provisioning::ManualConnectionString {
                connection_string: Secret::new("HostName=h;DeviceId=d"),
            },
            Provisioning::ManualConnectionString {
                connection_string: Secret::new("HostName=h;DeviceId=d;SharedAccessKey=no*b64"),
            },
            Provisioning::DpsSymmetricKey {
                global_endpoint: DEFAULT_GLOBAL_ENDPOINT.into(),
                id_scope: "s".into(),
                registration_id: "r".into(),
                symmetric_key: Secret::new("not base64!"),
            },
            Provisioning::ManualX509 {
                iothub_hostname: "h".into(),
                device_id: "d".into(),
                identity_cert: "relative.pem".into(),
                identity_pk: Secret::new("/k"),
            },
            Provisioning::DpsTpm {
                global_endpoint: DEFAULT_GLOBAL_ENDPOINT.into(),
                id_scope: "s".into(),
                registration_id: "a\nb".into(),
            },
        ];
        for p in bad {
            assert!(p.validate().is_err(), "{p:?}");
        }
    }

    #[test]
    fn connection_string_checked_as_at_apply() {
        let ok = |cs: &str| check_connection_string(cs);
        assert_eq!(ok(CONN), Ok(()));
        // Unpadded keys and extra parts pass, as upstream.
        assert_eq!(
            ok("HostName=h;DeviceId=d;SharedAccessKey=QUI;GatewayHostName=g"),
            Ok(())
        );
        let e = ok("HostName=h;DeviceId=d;SharedAccessKey=@@").unwrap_err();
        assert!(e.to_string().contains("not base64"), "{e}");
        assert!(
            !e.to_string().contains("@@"),
            "the key is never printed: {e}"
        );
        assert!(ok("DeviceId=d;SharedAccessKey=QUJD")
            .unwrap_err()
            .to_string()
            .contains("HostName"));
    }

    #[test]
    fn typed_and_raw_provisioning_files() {
        let typed = "kind = \"dps_symmetric_key\"\nid_scope = \"s\"\nregistration_id = \"r\"\nsymmetric_key = \"QUJD\"\n";
        let p = provision_params_from_file(typed, Some("h".into()), true).unwrap();
        assert!(matches!(
            p.provisioning,
            Some(Provisioning::DpsSymmetricKey { ref global_endpoint, .. }) if global_endpoint == DEFAULT_GLOBAL_ENDPOINT
        ));
        let raw = "hostname = \"x\"\n[provisioning]\nsource = \"manual\"\n";
        let p = provision_params_from_file(raw, None, false).unwrap();
        assert_eq!(p.config_toml.as_ref().map(Secret::expose), Some(raw));
        assert!(provision_params_from_file("kind = \"nope\"", None, true).is_err());
        assert!(provision_params_from_file("kind = \"dps_tpm\"\nextra = 1", None, true).is_err());
        assert!(provision_params_from_file("= broken", None, true).is_err());
    }
}
