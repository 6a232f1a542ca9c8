//! Shells.

/// A POSIX shell (by name or path): `sh`, `/bin/bash`, `ash`, `dash`, `zsh`, `ksh`, `mksh`.
pub fn is_posix_shell(word: &str) -> bool {
    let name = word.rsplit(['/', '\\']).next().unwrap_or(word);
    matches!(
        name,
        "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh" | "mksh"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_shells_by_name_or_path() {
        for shell in ["sh", "/bin/bash", "/usr/bin/zsh", "ash", "dash"] {
            assert!(is_posix_shell(shell), "{shell}");
        }
        for other in [
            "pwsh",
            "powershell",
            "cmd",
            "python3",
            "C:\\Windows\\cmd.exe",
        ] {
            assert!(!is_posix_shell(other), "{other}");
        }
    }
}
