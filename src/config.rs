//! The config file, `.layerwise.yaml`: rules to ignore, severities, the failure threshold, paths
//! to exclude and the options of the rules that have them. Found from the linted file's folder
//! upward to the repository root, or named with `--config`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use miette::{NamedSource, SourceSpan};
use serde::{Deserialize, Deserializer};

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::RuleOptions;

/// The file name looked for in each folder, and the one `layerwise init` writes.
pub const FILE_NAME: &str = ".layerwise.yaml";

/// Every name a config file may have; one folder may hold only one of them.
pub const FILE_NAMES: [&str; 2] = [FILE_NAME, ".layerwise.yml"];

/// Whether a path names a config file.
pub fn is_config_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| FILE_NAMES.contains(&n))
}

/// A loaded config file. Every key is optional; an empty file is the default config.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Rules that never run.
    #[serde(default, deserialize_with = "or_empty")]
    pub ignore: Vec<Ignored>,
    /// Severities that replace the rules' defaults; `off` disables a rule.
    #[serde(default, deserialize_with = "severities")]
    pub severity: BTreeMap<RuleId, Level>,
    /// The lowest severity that makes `lint` exit 1; the command line's flag wins.
    #[serde(default)]
    pub failure_threshold: Option<Threshold>,
    /// Paths not linted nor fixed, as globs relative to the config file's folder.
    #[serde(default, deserialize_with = "or_empty")]
    pub exclude: Vec<Glob>,
    /// Build contexts of the Dockerfiles matching a glob, in the order written: the first
    /// match wins. Both sides are relative to the config file's folder.
    #[serde(default, deserialize_with = "contexts")]
    pub contexts: Vec<(Glob, PathBuf)>,
    /// Options of the rules that have them.
    #[serde(default, deserialize_with = "or_empty")]
    pub rules: RuleOptions,
    /// `inspect`'s CI gates; its command line flags win.
    #[serde(default, deserialize_with = "or_empty")]
    pub inspect: crate::limits::Gates,
    /// The folder the `exclude` globs are relative to (absolute).
    #[serde(skip)]
    root: PathBuf,
    #[serde(skip)]
    excludes: GlobSet,
    #[serde(skip)]
    context_globs: Vec<globset::GlobMatcher>,
    /// Hadolint checks chosen alone with `--select DL3042`: that rule's other findings go.
    #[serde(skip)]
    pub only_checks: Vec<Ignored>,
}

/// A key written with nothing after it (`ignore:` above commented-out examples) is the empty
/// value, as if it were not there.
fn or_empty<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `contexts:`, a map from globs to folders whose order is kept.
fn contexts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<(Glob, PathBuf)>, D::Error> {
    struct Contexts;
    impl<'de> serde::de::Visitor<'de> for Contexts {
        type Value = Vec<(Glob, PathBuf)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map from globs to folders")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((glob, folder)) = map.next_entry::<Glob, PathBuf>()? {
                out.push((glob, folder));
            }
            Ok(out)
        }
    }
    deserializer.deserialize_option(Contexts)
}

/// A rule named by ID, name or hadolint alias (`LW101`, `consecutive-run`, `DL3059`), kept as
/// its ID. Unknown names are rejected where they are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub &'static str);

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        RuleId::from_key(&key).map_err(serde::de::Error::custom)
    }
}

/// An entry of `ignore`: a rule, or one hadolint check of a rule that covers several (`DL3042`
/// is LW103's pip part: the apk findings of LW103 stay).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ignored {
    pub id: &'static str,
    pub hadolint: Option<&'static str>,
}

impl<'de> Deserialize<'de> for Ignored {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        Ignored::from_key(&key).map_err(serde::de::Error::custom)
    }
}

/// `--select`/`--ignore` values: rules by ID, name or hadolint code, as in the config.
pub fn parse_rule(key: &str) -> Result<Ignored, String> {
    Ignored::from_key(key.trim())
}

impl Ignored {
    /// A rule, or one hadolint check of it, by ID, name or hadolint code.
    pub fn from_key(key: &str) -> Result<Ignored, String> {
        let RuleId(id) = RuleId::from_key(key)?;
        let meta = crate::catalog::meta(id);
        let hadolint = meta
            .filter(|m| m.aliases.len() > 1)
            .and_then(|m| m.aliases.iter().find(|a| a.eq_ignore_ascii_case(key)))
            .map(|a| a.as_str());
        Ok(Ignored { id, hadolint })
    }
}

impl RuleId {
    /// A rule by ID, name or hadolint code; an unknown one is an error that suggests the
    /// nearest (`LW1O2`: did you mean LW102?).
    pub fn from_key(key: &str) -> Result<RuleId, String> {
        crate::catalog::lookup(key)
            .map(|meta| RuleId(meta.id.as_str()))
            .ok_or_else(|| unknown_rule(key))
    }
}

/// The message for a name that is no rule: the nearest rule when one is close, and where the
/// list is. A hadolint code layerwise does not cover is said to be one.
pub fn unknown_rule(key: &str) -> String {
    if let Some(code) = crate::hadolint::uncovered(key) {
        return format!(
            "`{key}` is a hadolint rule layerwise does not cover ({}); `layerwise rules` lists \
             what it does cover",
            code.checks
        );
    }
    let names = crate::catalog::all_meta().iter().flat_map(|m| {
        std::iter::once(m.id.as_str())
            .chain(std::iter::once(m.name.as_str()))
            .chain(m.aliases.iter().map(String::as_str))
    });
    match did_you_mean(key, names) {
        Some(near) => {
            format!("unknown rule `{key}`: did you mean `{near}`? (`layerwise rules` lists them)")
        }
        None => format!("unknown rule `{key}` (`layerwise rules` lists them)"),
    }
}

/// The candidate nearest to what was written, when it is near enough to be a slip of the
/// keyboard (case, `_` for `-`, a letter or two off, or cut short: `warn` for `warning`).
pub fn did_you_mean<'a>(
    written: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let normal = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let written = normal(written);
    candidates
        .into_iter()
        .filter_map(|c| {
            let candidate = normal(c);
            let distance = strsim::damerau_levenshtein(&written, &candidate);
            let cut_short = written.len() >= 3 && candidate.starts_with(&written);
            (distance <= (c.len() / 3).clamp(1, 3) || cut_short).then_some((distance, c))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// `severity:`, where naming one rule twice (by ID and by name, say) is an error rather than
/// the last one silently winning.
fn severities<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<RuleId, Level>, D::Error> {
    struct Severities;
    impl<'de> serde::de::Visitor<'de> for Severities {
        type Value = BTreeMap<RuleId, Level>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map from rules to error, warning, info or off")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((rule, level)) = map.next_entry::<RuleId, Level>()? {
                if out.insert(rule, level).is_some() {
                    return Err(serde::de::Error::custom(format!(
                        "{} is given a severity twice",
                        rule.0
                    )));
                }
            }
            Ok(out)
        }
    }
    deserializer.deserialize_option(Severities)
}

/// The lowest severity that makes `lint` exit 1 (`none`: findings never fail it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Threshold {
    Error,
    Warning,
    Info,
    None,
}

/// A severity in the config, or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Info,
    Off,
}

/// An `exclude` glob, checked where it is written.
#[derive(Clone, Debug)]
pub struct Glob {
    pub text: String,
    glob: globset::Glob,
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // Like .gitignore: a glob without `/` matches a name at any depth.
        let trimmed = text.trim_start_matches("./").trim_end_matches('/');
        let pattern = if trimmed.contains('/') {
            trimmed.trim_start_matches('/').to_string()
        } else {
            format!("**/{trimmed}")
        };
        let glob = GlobBuilder::new(&pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| serde::de::Error::custom(format!("bad glob `{text}`: {}", e.kind())))?;
        Ok(Glob { text, glob })
    }
}

/// A config file that could not be read or is not valid.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    #[error("cannot read {}: {reason}", path.display())]
    #[diagnostic(code(layerwise::config))]
    Read { path: PathBuf, reason: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(Box<InvalidConfig>),
    #[error("{} and {} are both here: keep one (layerwise would read only one of them)", first.display(), second.display())]
    #[diagnostic(code(layerwise::config))]
    Both { first: PathBuf, second: PathBuf },
}

/// What is wrong in a config file, and where.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{}:{line}:{column}: {message}", path.display())]
#[diagnostic(code(layerwise::config))]
pub struct InvalidConfig {
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    pub message: String,
    #[source_code]
    source_code: NamedSource<String>,
    #[label("{message}")]
    at: Option<SourceSpan>,
}

impl ConfigError {
    pub fn path(&self) -> &Path {
        match self {
            ConfigError::Read { path, .. } | ConfigError::Both { first: path, .. } => path,
            ConfigError::Invalid(invalid) => &invalid.path,
        }
    }

    /// 1-based line and column, when the file was read.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            ConfigError::Read { .. } | ConfigError::Both { .. } => None,
            ConfigError::Invalid(invalid) => Some((invalid.line, invalid.column)),
        }
    }
}

static DEFAULT: LazyLock<Config> = LazyLock::new(Config::default);

impl Config {
    /// The config used when there is no file.
    pub fn default_ref() -> &'static Config {
        &DEFAULT
    }

    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            reason: crate::discover::io_reason(&e),
        })?;
        let root = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        Config::parse(&text, path, root)
    }

    /// Parses config text; `path` names it in errors and `root` anchors its `exclude` globs.
    pub fn parse(text: &str, path: &Path, root: PathBuf) -> Result<Config, ConfigError> {
        let only_comments = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        let mut config: Config = if only_comments {
            Config::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| invalid(text, path, &e))?
        };
        let mut set = GlobSetBuilder::new();
        for glob in &config.exclude {
            set.add(glob.glob.clone());
        }
        config.excludes = set.build().map_err(|e| {
            ConfigError::Invalid(Box::new(InvalidConfig {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: e.to_string(),
                source_code: NamedSource::new(path.display().to_string(), text.to_string()),
                at: None,
            }))
        })?;
        config.context_globs = config
            .contexts
            .iter()
            .map(|(glob, _)| glob.glob.compile_matcher())
            .collect();
        config.root = root;
        Ok(config)
    }

    /// The config for files in `start_dir`: the nearest `.layerwise.yaml` in it or a folder
    /// above, up to the repository root (the folder holding `.git`), with the file's path.
    pub fn discover(start_dir: &Path) -> Result<Option<(PathBuf, Config)>, ConfigError> {
        let Ok(start) = std::path::absolute(start_dir) else {
            return Ok(None);
        };
        for dir in start.ancestors() {
            let mut found = FILE_NAMES
                .iter()
                .map(|n| dir.join(n))
                .filter(|p| p.is_file());
            if let Some(candidate) = found.next() {
                if let Some(second) = found.next() {
                    return Err(ConfigError::Both {
                        first: shown(candidate),
                        second: shown(second),
                    });
                }
                let shown = shown(candidate);
                return Config::load(&shown).map(|c| Some((shown, c)));
            }
            if dir.join(".git").exists() {
                break;
            }
        }
        Ok(None)
    }

    /// The build context the `contexts` key gives a Dockerfile: the folder of the first glob
    /// that matches its path (relative to the config file's folder), made absolute.
    pub fn context_for(&self, path: &Path) -> Option<PathBuf> {
        if self.context_globs.is_empty() {
            return None;
        }
        let relative = self.relative(path);
        let index = self
            .context_globs
            .iter()
            .position(|g| g.is_match(&relative))?;
        Some(self.root.join(&self.contexts[index].1))
    }

    /// A path relative to the config file's folder; one outside it as given.
    fn relative(&self, path: &Path) -> PathBuf {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        absolute
            .strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    }

    /// Whether `path` matches an `exclude` glob (or lies in a folder that does), relative to the
    /// config file's folder. Paths outside that folder are matched as given.
    pub fn is_excluded(&self, path: &Path) -> bool {
        if self.excludes.is_empty() {
            return false;
        }
        let relative = self.relative(path);
        let mut at: &Path = &relative;
        loop {
            if !at.as_os_str().is_empty() && self.excludes.is_match(at) {
                return true;
            }
            match at.parent() {
                Some(parent) => at = parent,
                None => return false,
            }
        }
    }

    /// Whether a rule runs: not ignored and not `off`.
    pub fn enabled(&self, id: &str) -> bool {
        !self
            .ignore
            .iter()
            .any(|r| r.id == id && r.hadolint.is_none())
            && self.level(id) != Some(Level::Off)
    }

    /// Whether `ignore` names the hadolint check of a finding whose rule runs, or the finding
    /// is not of the checks `--select` chose for its rule.
    pub fn ignores(&self, d: &Diagnostic) -> bool {
        let check = |r: &Ignored| {
            r.hadolint
                .is_some_and(|code| crate::catalog::hadolint_matches(d, code))
        };
        self.ignore.iter().any(|r| r.id == d.rule && check(r))
            || (self.only_checks.iter().any(|r| r.id == d.rule)
                && !self.only_checks.iter().any(|r| r.id == d.rule && check(r)))
    }

    fn level(&self, id: &str) -> Option<Level> {
        self.severity
            .iter()
            .find(|(r, _)| r.0 == id)
            .map(|(_, level)| *level)
    }

    /// The severity a rule's findings get: the config's, else `default`.
    pub fn severity(&self, id: &str, default: Severity) -> Severity {
        match self.level(id) {
            Some(Level::Error) => Severity::Error,
            Some(Level::Warning) => Severity::Warning,
            Some(Level::Info) => Severity::Info,
            Some(Level::Off) | None => default,
        }
    }
}

/// A path as shown: relative to the current folder when it is below it.
fn shown(path: PathBuf) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
}

fn invalid(text: &str, path: &Path, e: &serde_yaml_ng::Error) -> ConfigError {
    // serde_yaml_ng appends " at line L column C"; the prefix says it already.
    let message = e.to_string();
    let message = match message.find(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message,
    };
    let reported = e.location().map_or(0, |l| l.index()).min(text.len());
    let message = match tab_before(text, reported) {
        Some(line) => format!(
            "a tab indents line {line}: YAML indents with spaces only (replace the tab with spaces)"
        ),
        None => in_user_words(&message),
    };
    // A bad value inside a list is reported at the list's start: point at the value itself.
    let start = refined(text, reported, &message).unwrap_or(reported);
    let end = text[start..]
        .find(['\n', ',', ']', '}'])
        .map_or(text.len(), |n| start + n);
    let line = text[..start].matches('\n').count() + 1;
    let line_start = text[..start].rfind('\n').map_or(0, |n| n + 1);
    let column = text[line_start..start].chars().count() + 1;
    ConfigError::Invalid(Box::new(InvalidConfig {
        path: path.to_path_buf(),
        line,
        column,
        message,
        source_code: NamedSource::new(path.display().to_string(), text.to_string()),
        at: e.location().is_some().then(|| SourceSpan::from(start..end)),
    }))
}

/// The line of a tab in the indentation near a YAML error (on its line or the one before,
/// where the scanner may have stopped), which libyaml reports only as a character that
/// "cannot start any token".
fn tab_before(text: &str, at: usize) -> Option<usize> {
    let line = text[..at].matches('\n').count();
    let lines: Vec<&str> = text.lines().collect();
    (line.saturating_sub(1)..=line).rev().find_map(|n| {
        let l = lines.get(n)?;
        let indent = &l[..l.len() - l.trim_start().len()];
        indent.contains('\t').then_some(n + 1)
    })
}

/// serde's messages in the words of the file's reader: "unknown key", "a list", "a whole
/// number", never "variant", "sequence" or "usize"; with the nearest name when one is close.
fn in_user_words(message: &str) -> String {
    // serde_yaml_ng starts with the path of the value (`rules.LW101: `) when it is not the top.
    let (place, rest) = match message.split_once(": ") {
        Some((place, rest)) if !place.contains(' ') => (Some(place), rest),
        _ => (None, message),
    };
    let said = translate(place, rest);
    match place {
        Some(place) => format!("{place}: {said}"),
        None => said,
    }
}

fn translate(place: Option<&str>, message: &str) -> String {
    let quoted = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let keys = quoted(expected);
        if place == Some("rules") {
            return match crate::catalog::lookup(field) {
                Some(meta) => format!(
                    "{} has no options (the rules with options: {})",
                    meta.id,
                    keys.iter()
                        .filter(|k| k.starts_with("LW"))
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => unknown_rule(field),
            };
        }
        let near = did_you_mean(field, keys.iter().map(String::as_str));
        let hint = near.map_or(String::new(), |n| format!(": did you mean `{n}`?"));
        return format!(
            "unknown key `{field}`{hint} (the keys here: {})",
            keys.join(", ")
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let choices = quoted(expected);
        let near = did_you_mean(value, choices.iter().map(String::as_str));
        let hint = near.map_or(String::new(), |n| format!("; did you mean `{n}`?"));
        return format!("`{value}` is not one of {}{hint}", or_list(&choices));
    }
    let bad = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    if let Some((found, expected)) = bad.and_then(|rest| rest.split_once(", expected ")) {
        let mut expected = expected_words(expected);
        if found.starts_with("integer `-") {
            expected.push_str(" of 0 or more");
        }
        return format!("expected {expected}, found {}", found_words(found));
    }
    if let Some(rest) = message.strip_prefix("duplicate field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return format!("`{field}` is given twice");
    }
    message.to_string()
}

fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn expected_words(expected: &str) -> String {
    match expected {
        "a sequence" => "a list (`[a, b]`, or lines of `- a`)".into(),
        "a map" => "keys with values".into(),
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => {
            "a whole number".into()
        }
        "a string" | "a borrowed string" | "path string" => "text".into(),
        "a boolean" => "true or false".into(),
        other if other.starts_with("struct ") => "keys with values".into(),
        other => other.to_string(),
    }
}

fn found_words(found: &str) -> String {
    let value = |prefix: &str| {
        found
            .strip_prefix(prefix)
            .map(|v| v.trim_matches('`').to_string())
    };
    if let Some(text) = found.strip_prefix("string ") {
        return format!("the text {text}");
    }
    if let Some(n) = value("integer ").or_else(|| value("floating point ")) {
        return format!("the number {n}");
    }
    if let Some(b) = value("boolean ") {
        return b;
    }
    match found {
        "unit value" => "nothing".into(),
        "sequence" => "a list".into(),
        "map" => "keys with values".into(),
        other => other.to_string(),
    }
}

/// Where the value our own checks rejected (``unknown rule `X` ``, ``bad glob `X` ``) is
/// written, at or after `from`.
fn refined(text: &str, from: usize, message: &str) -> Option<usize> {
    let value = ["unknown rule `", "bad glob `"].iter().find_map(|prefix| {
        let rest = &message[message.find(prefix)? + prefix.len()..];
        Some(&rest[..rest.find('`')?])
    })?;
    let boundary = |c: char| c.is_whitespace() || ",[]{}:'\"#".contains(c);
    let mut at = from;
    while let Some(found) = text.get(at..)?.find(value) {
        let start = at + found;
        let end = start + value.len();
        let before_ok = text[..start].chars().next_back().is_none_or(boundary);
        let after_ok = text[end..].chars().next().is_none_or(boundary);
        if before_ok && after_ok && !value.is_empty() {
            return Some(start);
        }
        at = end.max(start + 1);
    }
    None
}

/// The configs of many files, looked up once per folder. `--config` names one for all.
#[derive(Debug, Default)]
pub struct Configs {
    explicit: Option<Arc<Config>>,
    by_dir: HashMap<PathBuf, Option<Arc<Config>>>,
}

impl Configs {
    pub fn new(explicit: Option<&Path>) -> Result<Configs, ConfigError> {
        Ok(Configs {
            explicit: explicit.map(Config::load).transpose()?.map(Arc::new),
            by_dir: HashMap::new(),
        })
    }

    /// The config for a file (`-` is stdin: the current folder's config).
    pub fn for_file(&mut self, path: &Path) -> Result<Option<Arc<Config>>, ConfigError> {
        if let Some(config) = &self.explicit {
            return Ok(Some(config.clone()));
        }
        let dir = match path.parent() {
            _ if path == Path::new("-") => PathBuf::from("."),
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if let Some(found) = self.by_dir.get(&dir) {
            return Ok(found.clone());
        }
        let found = Config::discover(&dir)?.map(|(_, c)| Arc::new(c));
        self.by_dir.insert(dir, found.clone());
        Ok(found)
    }
}

/// The starter file `layerwise init` writes: every key, commented.
pub const STARTER: &str = include_str!("../fixtures/config/starter.layerwise.yaml");

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(
            text,
            Path::new("dir/.layerwise.yaml"),
            PathBuf::from("/repo"),
        )
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("an error").to_string()
    }

    #[test]
    fn reads_every_key() {
        let config = parse(
            "ignore: [LW104, dockerignore-gaps]\n\
             severity: {LW101: error, DL3009: off}\n\
             failure-threshold: error\n\
             exclude: [vendor, 'legacy/*.Dockerfile']\n\
             rules:\n  LW101: {max-runs: 3}\n  build-tools-in-final-stage:\n    allow-packages: [make]\n",
        )
        .unwrap();
        assert_eq!(
            config.ignore.iter().map(|r| r.id).collect::<Vec<_>>(),
            ["LW104", "LW402"]
        );
        assert!(!config.enabled("LW104"));
        assert!(!config.enabled("LW102"), "off through its hadolint alias");
        assert!(config.enabled("LW101"));
        assert_eq!(config.severity("LW101", Severity::Warning), Severity::Error);
        assert_eq!(config.severity("LW103", Severity::Info), Severity::Info);
        assert_eq!(config.failure_threshold, Some(Threshold::Error));
        assert_eq!(config.rules.consecutive_run.max_runs, 3);
        assert_eq!(
            config.rules.build_tools_in_final_stage.allow_packages,
            ["make"]
        );
        assert!(config.rules.dockerignore_gaps.allow.is_empty());
    }

    #[test]
    fn a_hadolint_code_of_a_rule_with_several_ignores_only_its_check() {
        let config = parse("ignore: [DL3042, DL3059]\n").unwrap();
        assert!(config.enabled("LW103"), "only LW103's pip part is off");
        assert!(!config.enabled("LW101"), "DL3059 is all of LW101");
        let pip = Diagnostic::new("LW103", crate::source::Span::new(0, 1), "pip")
            .with_hadolint(Some("DL3042"));
        let apk = pip.clone().with_hadolint(Some("DL3019"));
        assert!(config.ignores(&pip));
        assert!(!config.ignores(&apk));
    }

    #[test]
    fn a_rule_given_two_severities_or_no_runs_is_an_error() {
        let twice = error("severity: {LW101: error, consecutive-run: info}\n");
        assert!(twice.contains("LW101 is given a severity twice"), "{twice}");
        let zero = error("rules: {LW101: {max-runs: 0}}\n");
        assert!(zero.contains("max-runs must be 1 or more"), "{zero}");
    }

    #[test]
    fn empty_and_comment_only_files_are_the_default() {
        for text in ["", "\n", "# nothing yet\n"] {
            let config = parse(text).unwrap();
            assert!(config.ignore.is_empty() && config.exclude.is_empty());
            assert_eq!(config.rules.consecutive_run.max_runs, 1);
        }
    }

    #[test]
    fn unknown_keys_are_errors_with_file_line_column_and_the_nearest_key() {
        let message = error("ignore: []\nfailure_treshold: error\n");
        assert!(
            message.starts_with(
                "dir/.layerwise.yaml:2:1: unknown key `failure_treshold`: did you mean \
                 `failure-threshold`? (the keys here: ignore, severity, failure-threshold, \
                 exclude, contexts, rules, inspect)"
            ),
            "{message}"
        );
        let nested = error("rules:\n  LW101:\n    max-run: 2\n");
        assert!(
            nested.starts_with(
                "dir/.layerwise.yaml:3:5: rules.LW101: unknown key `max-run`: did you mean \
                 `max-runs`?"
            ),
            "{nested}"
        );
        let far = error("colour: red\n");
        assert!(
            far.contains("unknown key `colour` (the keys here:"),
            "{far}"
        );
    }

    #[test]
    fn bad_severities_say_the_choices_without_serde_words() {
        let message = error("severity:\n  LW101: loud\n");
        assert_eq!(
            message,
            "dir/.layerwise.yaml:2:10: severity.LW101: `loud` is not one of error, warning, info \
             or off"
        );
        let near = error("severity:\n  LW101: warn\n");
        assert!(near.ends_with("; did you mean `warning`?"), "{near}");
        let threshold = error("failure-threshold: high\n");
        assert!(
            threshold.starts_with(
                "dir/.layerwise.yaml:1:20: failure-threshold: `high` is not one of error, \
                 warning, info or none"
            ),
            "{threshold}"
        );
        for text in [message, threshold] {
            assert!(!text.contains("variant"), "{text}");
        }
    }

    #[test]
    fn bad_rule_ids_are_errors_with_the_nearest_rule() {
        let message = error("ignore:\n  - LW101\n  - LW1O2\n");
        assert!(
            message.starts_with(
                "dir/.layerwise.yaml:3:5: ignore: unknown rule `LW1O2`: did you mean `LW102`?"
            ),
            "{message}"
        );
        let name = error("ignore: [apt-list-not-cleaned]\n");
        assert!(
            name.contains("did you mean `apt-lists-not-cleaned`?"),
            "{name}"
        );
        let key = error("severity: {LW0: off}\n");
        assert!(
            key.starts_with("dir/.layerwise.yaml:1:12: severity: unknown rule `LW0`"),
            "{key}"
        );
        let hadolint = error("ignore: [DL3008]\n");
        assert!(
            hadolint.contains("`DL3008` is a hadolint rule layerwise does not cover"),
            "{hadolint}"
        );
        let options = error("rules:\n  LW102: {}\n");
        assert!(
            options.starts_with(
                "dir/.layerwise.yaml:2:3: rules: LW102 has no options (the rules with options: \
                 LW101, LW301, LW402)"
            ),
            "{options}"
        );
        let unknown = error("rules:\n  LW10: {}\n");
        assert!(unknown.contains("unknown rule `LW10`"), "{unknown}");
    }

    #[test]
    fn wrong_kinds_of_values_are_said_in_plain_words() {
        let list = error("ignore: LW101\n");
        assert_eq!(
            list,
            "dir/.layerwise.yaml:1:9: ignore: expected a list (`[a, b]`, or lines of `- a`), \
             found the text \"LW101\""
        );
        let number = error("rules: {LW101: {max-runs: two}}\n");
        assert!(
            number
                .ends_with("rules.LW101.max-runs: expected a whole number, found the text \"two\""),
            "{number}"
        );
        let negative = error("rules: {LW101: {max-runs: -1}}\n");
        assert!(
            negative.contains("a whole number of 0 or more, found the number -1"),
            "{negative}"
        );
        for text in [list, number, negative] {
            for serde_word in ["sequence", "usize", "u64", "variant", "invalid type"] {
                assert!(!text.contains(serde_word), "{text}");
            }
        }
    }

    #[test]
    fn a_tab_in_the_indentation_is_named_as_the_cause() {
        let message = error("ignore:\n\t- LW101\n");
        assert!(
            message.contains("a tab indents line 2: YAML indents with spaces only"),
            "{message}"
        );
        let nested = error("rules:\n  LW101:\n  \tmax-runs: 2\n");
        assert!(nested.contains("a tab indents line 3"), "{nested}");
    }

    #[test]
    fn keys_with_nothing_after_them_are_empty() {
        let config = parse("ignore:\nseverity:\nexclude:\ncontexts:\nrules:\ninspect:\n").unwrap();
        assert!(config.ignore.is_empty() && config.severity.is_empty());
        assert!(config.exclude.is_empty() && config.contexts.is_empty());
        assert_eq!(config.rules.consecutive_run.max_runs, 1);
    }

    #[test]
    fn contexts_map_globs_to_folders_the_first_match_winning() {
        let config = parse(
            "contexts:\n  'svc/api.Dockerfile': svc/api\n  'svc/*.Dockerfile': .\n  \
             worker: services/worker\n",
        )
        .unwrap();
        let context = |p: &str| config.context_for(Path::new(p));
        assert_eq!(
            context("/repo/svc/api.Dockerfile"),
            Some(PathBuf::from("/repo/svc/api"))
        );
        assert_eq!(
            context("/repo/svc/web.Dockerfile"),
            Some(PathBuf::from("/repo/."))
        );
        assert_eq!(
            context("/repo/a/worker/Dockerfile"),
            None,
            "a glob names files, not the folders they are in"
        );
        assert_eq!(context("/repo/Dockerfile"), None);
        let bad = error("contexts: {'a[': .}\n");
        assert!(bad.contains("bad glob `a[`"), "{bad}");
    }

    #[test]
    fn both_names_in_one_folder_are_an_error_and_yml_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::write(repo.join(".layerwise.yml"), "ignore: [LW102]\n").unwrap();
        let (path, config) = Config::discover(repo).unwrap().unwrap();
        assert_eq!(path, repo.join(".layerwise.yml"));
        assert!(!config.enabled("LW102"));
        std::fs::write(repo.join(FILE_NAME), "ignore: [LW101]\n").unwrap();
        let e = Config::discover(repo).unwrap_err();
        assert!(
            e.to_string()
                .contains(".layerwise.yml are both here: keep one"),
            "{e}"
        );
    }

    #[test]
    fn bad_globs_and_types_are_errors() {
        let glob = error("exclude: ['a[']\n");
        assert!(
            glob.starts_with("dir/.layerwise.yaml:1:12: exclude: bad glob `a[`"),
            "{glob}"
        );
        let kind = error("ignore: LW101\n");
        assert!(kind.starts_with("dir/.layerwise.yaml:1:9: "), "{kind}");
        let yaml = error("ignore: [LW101\n");
        assert!(yaml.starts_with("dir/.layerwise.yaml:"), "{yaml}");
    }

    #[test]
    fn errors_render_with_the_snippet() {
        let e = parse("severity:\n  LW101: loud\n").unwrap_err();
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut out, &e)
            .unwrap();
        assert!(out.contains("dir/.layerwise.yaml:2:10"), "{out}");
        assert!(out.contains("LW101: loud"), "{out}");
    }

    #[test]
    fn excludes_match_relative_to_the_config_folder_like_gitignore() {
        let config = parse("exclude: [vendor, 'legacy/*.Dockerfile', '**/testdata']\n").unwrap();
        let yes = [
            "/repo/vendor/x/Dockerfile",
            "/repo/svc/vendor/Dockerfile",
            "/repo/legacy/old.Dockerfile",
            "/repo/a/testdata/b/Dockerfile",
        ];
        for path in yes {
            assert!(config.is_excluded(Path::new(path)), "{path}");
        }
        let no = [
            "/repo/Dockerfile",
            "/repo/legacy/sub/old.Dockerfile",
            "/repo/svc/legacy/old.Dockerfile",
            "/repo/vendors/Dockerfile",
        ];
        for path in no {
            assert!(!config.is_excluded(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn discovery_walks_up_to_the_repository_root() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let deep = repo.join("svc/api");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        // Above the repository root: never read.
        std::fs::write(dir.path().join(FILE_NAME), "ignore: [LW101]\n").unwrap();
        assert!(Config::discover(&deep).unwrap().is_none());
        std::fs::write(repo.join(FILE_NAME), "ignore: [LW102]\n").unwrap();
        let (path, config) = Config::discover(&deep).unwrap().unwrap();
        assert_eq!(path, repo.join(FILE_NAME));
        assert!(!config.enabled("LW102"));
        std::fs::write(repo.join("svc").join(FILE_NAME), "ignore: [LW103]\n").unwrap();
        let (path, _) = Config::discover(&deep).unwrap().unwrap();
        assert_eq!(path, repo.join("svc").join(FILE_NAME), "the nearest wins");
        std::fs::write(repo.join("svc").join(FILE_NAME), "ignore: [LW9999]\n").unwrap();
        let e = Config::discover(&deep).unwrap_err();
        assert_eq!(e.path(), repo.join("svc").join(FILE_NAME));
    }

    /// The starter's examples are the comment lines indented past the `#`.
    fn uncommented(text: &str, which: impl Fn(usize) -> bool, strip: &str) -> String {
        let mut n = 0;
        text.lines()
            .map(|line| {
                if line.starts_with("#  ") {
                    n += 1;
                    if which(n - 1) {
                        return line.strip_prefix(strip).unwrap_or(line).to_string() + "\n";
                    }
                }
                line.to_string() + "\n"
            })
            .collect()
    }

    #[test]
    fn the_starter_file_stays_valid_with_its_examples_uncommented() {
        let examples = STARTER.lines().filter(|l| l.starts_with("#  ")).count();
        assert!(examples >= 13, "{examples}");
        // Editors take out `#` or `# `; all the examples at once, or any one alone.
        for strip in ["#", "# "] {
            let all = uncommented(STARTER, |_| true, strip);
            let config = parse(&all).unwrap_or_else(|e| panic!("{e}\n{all}"));
            let ignored: Vec<_> = config.ignore.iter().map(|r| r.id).collect();
            assert_eq!(ignored, ["LW301", "LW104"]);
            assert_eq!(config.severity("LW105", Severity::Warning), Severity::Error);
            assert_eq!(config.exclude.len(), 2);
            assert_eq!(config.contexts.len(), 2);
            assert_eq!(config.rules.consecutive_run.max_runs, 2);
            assert_eq!(
                config.rules.build_tools_in_final_stage.allow_packages,
                ["make"]
            );
            assert_eq!(config.rules.dockerignore_gaps.allow, [".git"]);
            assert!(config.inspect.max_wasted_bytes.is_some());
            assert!(config.inspect.min_efficiency.is_some());
            for one in 0..examples {
                let text = uncommented(STARTER, |n| n == one, strip);
                assert!(
                    parse(&text).is_ok(),
                    "example {one} with `{strip}` taken out:\n{text}"
                );
            }
        }
    }

    #[test]
    fn the_starter_file_loads_and_changes_nothing() {
        let config = parse(STARTER).unwrap();
        for meta in crate::catalog::all_meta() {
            assert!(config.enabled(&meta.id), "{}", meta.id);
        }
        assert!(config.exclude.is_empty());
        assert_eq!(config.failure_threshold, Some(Threshold::Warning));
        assert_eq!(config.rules.consecutive_run.max_runs, 1);
        assert_eq!(
            config.inspect,
            crate::limits::Gates::default(),
            "no gate set"
        );
    }
}
