//! adduser's rules for the names and fields of declared accounts, checked as each declaration
//! is merged so that the error names the one that broke them.

use super::db::User;
use super::UsersError;

/// adduser's rules (NAME_REGEX `^[a-z][-a-z0-9_]*\$?$` for normal users, SYS_NAME_REGEX
/// `^[a-z_][-a-z0-9_]*\$?$` for system accounts), and at most 32 bytes (utmp's limit).
pub(super) fn name(
    what: &'static str,
    name: &str,
    system: bool,
    origin: &str,
) -> Result<(), UsersError> {
    let bad = |reason: &str| UsersError::Invalid {
        what,
        name: name.to_string(),
        origin: origin.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name.len() > 32 {
        return Err(bad("a name must be 1 to 32 bytes long"));
    }
    let body = name.strip_suffix('$').unwrap_or(name);
    let mut chars = body.chars();
    let first_ok = match chars.next() {
        Some(c) => c.is_ascii_lowercase() || (system && c == '_'),
        None => false,
    };
    if !first_ok {
        return Err(bad(if system {
            "a name must start with a lowercase letter or _"
        } else {
            "a name must start with a lowercase letter"
        }));
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err(bad(
            "a name may only hold lowercase letters, digits, - and _ (and a final $)",
        ));
    }
    Ok(())
}

/// The fields a passwd line cannot hold: a comment with the separator, a relative home or shell.
pub(super) fn fields(name: &str, u: &User) -> Result<(), UsersError> {
    let bad = |reason: String| UsersError::Invalid {
        what: "user",
        name: name.to_string(),
        origin: u.origin.clone(),
        reason,
    };
    if u.gecos.contains([':', '\n']) {
        return Err(bad(format!(
            "comment {:?} contains ':' or a newline",
            u.gecos
        )));
    }
    for (field, v) in [("home", &u.home), ("shell", &u.shell)] {
        if !v.starts_with('/') || v.contains([':', '\n', '\0']) {
            return Err(bad(format!(
                "{field} {v:?} must be an absolute path without ':' or newlines"
            )));
        }
    }
    Ok(())
}
