//! hadolint's rule codes, so that a code layerwise does not cover is named as hadolint's rather
//! than as a typo: `layerwise explain DL3008`, `ignore: [DL3008]`, `--select DL3008`. The lines
//! say in our words what each hadolint check looks at (its list is in hadolint's README).

/// A hadolint check layerwise has no rule for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uncovered {
    pub code: &'static str,
    /// What hadolint checks, in a line.
    pub checks: &'static str,
}

/// hadolint 2.x's own checks (DL codes), each with what it looks at.
const CODES: &[(&str, &str)] = &[
    ("DL1001", "it forbids inline `# hadolint ignore` comments"),
    ("DL3000", "WORKDIR paths must be absolute"),
    (
        "DL3001",
        "RUN should not call interactive or host tools such as ssh, vim or shutdown",
    ),
    ("DL3002", "the last USER should not be root"),
    ("DL3003", "use WORKDIR instead of `cd` to change folders"),
    ("DL3004", "RUN should not use sudo"),
    ("DL3006", "a FROM image should name a tag"),
    ("DL3007", "a FROM image should not use the `latest` tag"),
    ("DL3008", "`apt-get install` should pin package versions"),
    ("DL3009", "apt lists should be deleted after an install"),
    ("DL3010", "use ADD to extract a local archive"),
    ("DL3011", "EXPOSE ports must lie between 0 and 65535"),
    ("DL3012", "a stage should have at most one HEALTHCHECK"),
    ("DL3013", "`pip install` should pin versions"),
    ("DL3014", "`apt-get install` should pass -y"),
    (
        "DL3015",
        "`apt-get install` should pass --no-install-recommends",
    ),
    ("DL3016", "`npm install` should pin versions"),
    ("DL3018", "`apk add` should pin versions"),
    ("DL3019", "`apk add` should use --no-cache"),
    ("DL3020", "prefer COPY to ADD for local files and folders"),
    (
        "DL3021",
        "COPY of several sources needs a destination ending in `/`",
    ),
    ("DL3022", "`COPY --from` should name an earlier stage"),
    ("DL3023", "`COPY --from` cannot name its own stage"),
    ("DL3024", "stage names must be unique"),
    ("DL3025", "CMD and ENTRYPOINT should use the JSON form"),
    ("DL3026", "FROM images must come from an allowed registry"),
    ("DL3027", "use apt-get or apt-cache rather than apt"),
    ("DL3028", "`gem install` should pin versions"),
    ("DL3029", "FROM should not use --platform"),
    ("DL3030", "`yum install` should pass -y"),
    ("DL3032", "`yum clean all` should follow yum"),
    ("DL3033", "`yum install` should pin versions"),
    ("DL3034", "zypper should run non-interactively"),
    ("DL3035", "do not run `zypper dist-upgrade`"),
    ("DL3036", "`zypper clean` should follow zypper"),
    ("DL3037", "`zypper install` should pin versions"),
    ("DL3038", "`dnf install` should pass -y"),
    ("DL3040", "`dnf clean all` should follow dnf"),
    ("DL3041", "`dnf install` should pin versions"),
    ("DL3042", "`pip install` should use --no-cache-dir"),
    (
        "DL3043",
        "ONBUILD cannot trigger ONBUILD, FROM or MAINTAINER",
    ),
    (
        "DL3044",
        "an ENV should not refer to a variable it defines itself",
    ),
    ("DL3045", "COPY to a relative path needs a WORKDIR first"),
    ("DL3046", "useradd with a high UID needs -l"),
    ("DL3047", "wget should pass --progress to keep logs short"),
    ("DL3048", "label keys must be valid"),
    ("DL3049", "a required label is missing"),
    ("DL3050", "a label that is not allowed is present"),
    ("DL3051", "a label is empty"),
    ("DL3052", "a label is not a valid URL"),
    ("DL3053", "a label is not an RFC 3339 time"),
    ("DL3054", "a label is not an SPDX license identifier"),
    ("DL3055", "a label is not a git hash"),
    ("DL3056", "a label is not a semantic version"),
    ("DL3057", "the image has no HEALTHCHECK"),
    ("DL3058", "a label is not an email address"),
    ("DL3059", "several RUNs in a row could be one"),
    ("DL3060", "`yarn cache clean` should follow `yarn install`"),
    (
        "DL3061",
        "a Dockerfile must start with FROM, ARG or a comment",
    ),
    ("DL3062", "`go install` should pin versions"),
    ("DL3063", "stage names should not be reserved words"),
    ("DL4000", "MAINTAINER is deprecated"),
    ("DL4001", "use either wget or curl, not both"),
    ("DL4003", "a stage should have at most one CMD"),
    ("DL4004", "a stage should have at most one ENTRYPOINT"),
    (
        "DL4005",
        "change the shell with SHELL, not by linking /bin/sh",
    ),
    ("DL4006", "set `-o pipefail` before a RUN with a pipe"),
];

/// A hadolint code (`DL3008`, or ShellCheck's `SC2086`, which hadolint runs on RUN) that no
/// layerwise rule takes as an alias.
pub fn uncovered(key: &str) -> Option<Uncovered> {
    if crate::catalog::lookup(key).is_some() {
        return None;
    }
    let upper = key.to_ascii_uppercase();
    if let Some(&(code, checks)) = CODES.iter().find(|(code, _)| *code == upper) {
        return Some(Uncovered { code, checks });
    }
    let shellcheck = upper.len() == 6
        && upper.starts_with("SC")
        && upper[2..].bytes().all(|b| b.is_ascii_digit());
    shellcheck.then_some(Uncovered {
        code: "SC",
        checks: "a ShellCheck check, which hadolint runs on the shell of RUN",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_we_cover_are_rules_and_the_others_say_what_they_check() {
        // DL3009 is LW102's alias: a rule, not an uncovered code.
        assert!(uncovered("DL3009").is_none());
        assert_eq!(crate::catalog::lookup("DL3009").unwrap().id, "LW102");
        let pin = uncovered("dl3008").unwrap();
        assert_eq!(pin.code, "DL3008");
        assert!(pin.checks.contains("pin"), "{pin:?}");
        assert!(uncovered("SC2086").unwrap().checks.contains("ShellCheck"));
        assert!(uncovered("DL9999").is_none());
        assert!(uncovered("LW999").is_none());
        assert!(uncovered("SC20").is_none());
    }

    #[test]
    fn the_table_is_sorted_without_repeats() {
        assert!(CODES.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
