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

/// The file name looked for in each folder.
pub const FILE_NAME: &str = ".layerwise.yaml";

/// A loaded config file. Every key is optional; an empty file is the default config.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Rules that never run.
    #[serde(default)]
    pub ignore: Vec<Ignored>,
    /// Severities that replace the rules' defaults; `off` disables a rule.
    #[serde(default, deserialize_with = "severities")]
    pub severity: BTreeMap<RuleId, Level>,
    /// The lowest severity that makes `lint` exit 1; the command line's flag wins.
    #[serde(default)]
    pub failure_threshold: Option<Threshold>,
    /// Paths not linted nor fixed, as globs relative to the config file's folder.
    #[serde(default)]
    pub exclude: Vec<Glob>,
    /// Options of the rules that have them.
    #[serde(default)]
    pub rules: RuleOptions,
    /// `inspect`'s CI gates; its command line flags win.
    #[serde(default)]
    pub inspect: crate::limits::Gates,
    /// The folder the `exclude` globs are relative to (absolute).
    #[serde(skip)]
    root: PathBuf,
    #[serde(skip)]
    excludes: GlobSet,
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
        let RuleId(id) = RuleId::from_key(&key).map_err(serde::de::Error::custom)?;
        let meta = crate::catalog::meta(id);
        let hadolint = meta
            .filter(|m| m.aliases.len() > 1)
            .and_then(|m| m.aliases.iter().find(|a| a.eq_ignore_ascii_case(&key)))
            .map(|a| a.as_str());
        Ok(Ignored { id, hadolint })
    }
}

impl RuleId {
    fn from_key(key: &str) -> Result<RuleId, String> {
        crate::catalog::lookup(key)
            .map(|meta| RuleId(meta.id.as_str()))
            .ok_or_else(|| format!("unknown rule `{key}` (`layerwise rules` lists them)"))
    }
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
    deserializer.deserialize_map(Severities)
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
            ConfigError::Read { path, .. } => path,
            ConfigError::Invalid(invalid) => &invalid.path,
        }
    }

    /// 1-based line and column, when the file was read.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            ConfigError::Read { .. } => None,
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
            let candidate = dir.join(FILE_NAME);
            if candidate.is_file() {
                // Shown relative to the current folder when it is below it.
                let shown = std::env::current_dir()
                    .ok()
                    .and_then(|cwd| candidate.strip_prefix(cwd).ok().map(Path::to_path_buf))
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(candidate);
                return Config::load(&shown).map(|c| Some((shown, c)));
            }
            if dir.join(".git").exists() {
                break;
            }
        }
        Ok(None)
    }

    /// Whether `path` matches an `exclude` glob (or lies in a folder that does), relative to the
    /// config file's folder. Paths outside that folder are matched as given.
    pub fn is_excluded(&self, path: &Path) -> bool {
        if self.excludes.is_empty() {
            return false;
        }
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let relative = absolute
            .strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf());
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

    /// Whether `ignore` names the hadolint check of a finding whose rule runs.
    pub fn ignores(&self, d: &Diagnostic) -> bool {
        self.ignore.iter().any(|r| {
            r.id == d.rule
                && r.hadolint
                    .is_some_and(|code| crate::catalog::hadolint_matches(d, code))
        })
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

fn invalid(text: &str, path: &Path, e: &serde_yaml_ng::Error) -> ConfigError {
    // serde_yaml_ng appends " at line L column C"; the prefix says it already.
    let message = e.to_string();
    let message = match message.find(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message,
    };
    let reported = e.location().map_or(0, |l| l.index()).min(text.len());
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
        let mut pip = Diagnostic::new("LW103", crate::source::Span::new(0, 1), "pip");
        pip.hadolint = Some("DL3042");
        let mut apk = pip.clone();
        apk.hadolint = Some("DL3019");
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
    fn unknown_keys_are_errors_with_file_line_and_column() {
        let message = error("ignore: []\nfailure_treshold: error\n");
        assert!(
            message.starts_with("dir/.layerwise.yaml:2:1: unknown field `failure_treshold`"),
            "{message}"
        );
        let nested = error("rules:\n  LW101:\n    max-run: 2\n");
        assert!(
            nested.starts_with("dir/.layerwise.yaml:3:5: rules.LW101: unknown field `max-run`"),
            "{nested}"
        );
    }

    #[test]
    fn bad_severities_are_errors_with_file_line_and_column() {
        let message = error("severity:\n  LW101: loud\n");
        assert!(
            message.starts_with("dir/.layerwise.yaml:2:10: severity.LW101: unknown variant `loud`"),
            "{message}"
        );
        assert!(message.contains("`off`"), "lists the choices: {message}");
        let threshold = error("failure-threshold: high\n");
        assert!(
            threshold
                .starts_with("dir/.layerwise.yaml:1:20: failure-threshold: unknown variant `high`"),
            "{threshold}"
        );
    }

    #[test]
    fn bad_rule_ids_are_errors_with_file_line_and_column() {
        let message = error("ignore:\n  - LW101\n  - LW999\n");
        assert!(
            message.starts_with("dir/.layerwise.yaml:3:5: ignore: unknown rule `LW999`"),
            "{message}"
        );
        let key = error("severity: {LW0: off}\n");
        assert!(
            key.starts_with("dir/.layerwise.yaml:1:12: severity: unknown rule `LW0`"),
            "{key}"
        );
        let options = error("rules:\n  LW102: {}\n");
        assert!(
            options.starts_with("dir/.layerwise.yaml:2:3: rules: unknown field `LW102`"),
            "{options}"
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

    #[test]
    fn the_starter_file_loads_and_changes_nothing() {
        let config = parse(STARTER).unwrap();
        for meta in crate::rules::all_meta() {
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
