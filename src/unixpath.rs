//! Paths inside an image (always `/`-separated, whatever the host): joining a path to a working
//! directory and normalizing it, and containment by whole components.

/// `path` is `dir` or below it, by whole components.
pub fn within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// An absolute, normalized image path for `path` written in a stage whose WORKDIR is `workdir`.
pub fn resolve(workdir: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", workdir.trim_end_matches('/'))
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_against_workdir() {
        assert_eq!(resolve("/app", "dist/../x"), "/app/x");
        assert_eq!(resolve("/app", "/tmp/"), "/tmp");
        assert_eq!(resolve("/", "."), "/");
    }

    #[test]
    fn within_by_components() {
        assert!(within("/var/lib/apt/lists/x", "/var/lib/apt"));
        assert!(!within("/var/lib/aptitude", "/var/lib/apt"));
    }
}
