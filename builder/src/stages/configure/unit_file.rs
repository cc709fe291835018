//! systemd unit names and the [Install] section of unit files (systemd.unit(5)).
//!
//! Only what `systemctl enable` reads is parsed: WantedBy=, RequiredBy=, UpheldBy=, Alias=,
//! Also= and DefaultInstance=, with line continuations, comments, list resets by an empty
//! assignment, and the name specifiers (%n %N %p %P %i %I %j %J %%) that [Install] values use.

/// The unit types systemd knows, by file suffix.
pub const UNIT_TYPES: [&str; 11] = [
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
];

/// A unit name split into its parts: `prefix[@instance].suffix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitName {
    pub prefix: String,
    /// `None` for a plain unit, `Some("")` for a template (`foo@.service`), `Some(i)` for an
    /// instance.
    pub instance: Option<String>,
    pub suffix: String,
}

impl UnitName {
    /// Parses and checks a unit name (characters, length, known type).
    pub fn parse(name: &str) -> Result<Self, String> {
        if name.is_empty() || name.len() > 255 {
            return Err("a unit name must be 1 to 255 bytes long".into());
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c))
        {
            return Err("a unit name may only hold ASCII letters, digits and :-_.\\@".into());
        }
        let (stem, suffix) = name
            .rsplit_once('.')
            .ok_or_else(|| "a unit name needs a type suffix such as .service".to_string())?;
        if !UNIT_TYPES.contains(&suffix) {
            return Err(format!("unknown unit type .{suffix}"));
        }
        let (prefix, instance) = match stem.split_once('@') {
            Some((p, i)) => (p, Some(i.to_string())),
            None => (stem, None),
        };
        if prefix.is_empty() {
            return Err("a unit name needs a name before its type or @".into());
        }
        if instance.as_deref().is_some_and(|i| i.contains('@')) {
            return Err("a unit name may hold only one @".into());
        }
        Ok(UnitName {
            prefix: prefix.to_string(),
            instance,
            suffix: suffix.to_string(),
        })
    }

    /// True for `foo@.service`.
    pub fn is_template(&self) -> bool {
        self.instance.as_deref() == Some("")
    }

    /// The template this instance comes from (`foo@bar.service` -> `foo@.service`).
    pub fn template(&self) -> Option<String> {
        self.instance
            .as_ref()
            .map(|_| format!("{}@.{}", self.prefix, self.suffix))
    }

    /// The same template with another instance.
    pub fn with_instance(&self, instance: &str) -> String {
        format!("{}@{}.{}", self.prefix, instance, self.suffix)
    }

    /// The full name.
    pub fn full(&self) -> String {
        match &self.instance {
            Some(i) => self.with_instance(i),
            None => format!("{}.{}", self.prefix, self.suffix),
        }
    }

    /// Expands the name specifiers systemd allows in [Install] values.
    pub fn expand(&self, value: &str) -> Result<String, String> {
        let full = self.full();
        let mut out = String::with_capacity(value.len());
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let spec = chars
                .next()
                .ok_or_else(|| format!("{value:?} ends with a lone %"))?;
            let instance = self.instance.clone().unwrap_or_default();
            let last_dash = |s: &str| s.rsplit('-').next().unwrap_or(s).to_string();
            match spec {
                '%' => out.push('%'),
                'n' => out.push_str(&full),
                'N' => out.push_str(full.rsplit_once('.').map_or(&*full, |(s, _)| s)),
                'p' | 'P' => out.push_str(&self.prefix),
                'i' | 'I' => out.push_str(&instance),
                'j' | 'J' => out.push_str(&last_dash(&self.prefix)),
                x => {
                    return Err(format!(
                        "specifier %{x} in {value:?} depends on the running system and is not supported at build time"
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// The [Install] section of a unit file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Install {
    pub wanted_by: Vec<String>,
    pub required_by: Vec<String>,
    pub upheld_by: Vec<String>,
    pub alias: Vec<String>,
    pub also: Vec<String>,
    pub default_instance: Option<String>,
}

impl Install {
    /// True when `systemctl enable` would have nothing to do (a "static" unit).
    pub fn is_empty(&self) -> bool {
        self.wanted_by.is_empty()
            && self.required_by.is_empty()
            && self.upheld_by.is_empty()
            && self.alias.is_empty()
            && self.also.is_empty()
    }

    /// Parses the [Install] section of a unit file's text (other sections are skipped).
    pub fn parse(text: &str) -> Install {
        let mut out = Install::default();
        let mut in_install = false;
        for line in logical_lines(text) {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if line.starts_with('[') {
                in_install = line == "[Install]";
                continue;
            }
            if !in_install {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            let list = match key.trim() {
                "WantedBy" => &mut out.wanted_by,
                "RequiredBy" => &mut out.required_by,
                "UpheldBy" => &mut out.upheld_by,
                "Alias" => &mut out.alias,
                "Also" => &mut out.also,
                "DefaultInstance" => {
                    out.default_instance = (!value.is_empty()).then(|| value.to_string());
                    continue;
                }
                // Unknown keys are ignored, as systemd does (with a warning).
                _ => continue,
            };
            if value.is_empty() {
                list.clear();
            } else {
                for word in value.split_whitespace() {
                    if !list.iter().any(|w| w == word) {
                        list.push(word.to_string());
                    }
                }
            }
        }
        out
    }
}

/// Joins lines ending in a backslash with the next one, as systemd's config parser does.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        // Comment lines inside a continuation are skipped, not joined.
        if !cur.is_empty() && (line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(line);
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = UnitName::parse("getty@tty1.service").unwrap();
        assert_eq!(n.template().unwrap(), "getty@.service");
        assert_eq!(
            n.expand("%n %N %p %i %j %%").unwrap(),
            "getty@tty1.service getty@tty1 getty tty1 getty %"
        );
        let t = UnitName::parse("foo-bar@.socket").unwrap();
        assert!(t.is_template());
        assert_eq!(t.with_instance("x"), "foo-bar@x.socket");
        assert_eq!(t.expand("%j").unwrap(), "bar");
        for bad in [
            "",
            "noext",
            "x.nope",
            "@x.service",
            "a b.service",
            "a@b@c.service",
            "x.service/",
        ] {
            assert!(UnitName::parse(bad).is_err(), "{bad}");
        }
        assert!(n.expand("%H").is_err());
        assert!(n.expand("%").is_err());
    }

    #[test]
    fn install_section() {
        let text = "[Unit]\nWantedBy=not-here.target\n[Install]\n# c\nWantedBy=a.target \\\n  b.target\nWantedBy=\nWantedBy=multi-user.target\nRequiredBy=r.target\nAlias=x.service y.service\nAlso=z.socket\nDefaultInstance=tty1\nUnknown=1\n[X-Other]\nAlias=no.service\n";
        let i = Install::parse(text);
        assert_eq!(i.wanted_by, ["multi-user.target"]);
        assert_eq!(i.required_by, ["r.target"]);
        assert_eq!(i.alias, ["x.service", "y.service"]);
        assert_eq!(i.also, ["z.socket"]);
        assert_eq!(i.default_instance.as_deref(), Some("tty1"));
        assert!(Install::parse("[Service]\nExecStart=/bin/true\n").is_empty());
        let j = Install::parse("[Install]\nWantedBy=a.target \\\n# comment\n b.target\n");
        assert_eq!(j.wanted_by, ["a.target", "b.target"]);
        // Garbage never panics.
        for junk in ["[Install", "[Install]\n=\\", "\\", "[Install]\nAlias=%"] {
            let _ = Install::parse(junk);
        }
    }
}
