//! Building through the Docker Engine API and reading what the builds made: the context tar
//! ([`context`]), the connection ([`connect`]), builds with progress ([`build`]), image archives
//! ([`archive`]), the saved image and its layers ([`image`], [`layers`]), removing what was built ([`cleanup`]), and the
//! before/after comparison ([`compare`]).
//!
//! This is the one async corner of the crate (bollard on tokio); [`archive`], [`layers`],
//! [`image`]'s reading, [`context`] and [`compare`] are plain synchronous code, tested without a daemon.

pub mod archive;
pub mod build;
pub mod cleanup;
pub mod compare;
pub mod connect;
pub mod context;
pub mod filesystem;
pub mod image;
pub mod layers;
pub mod page;
pub mod proof;
pub mod session;
pub mod smoke;
pub mod spill;
pub mod stack;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach the Docker daemon at {host}: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("{what}: {reason}")]
    Api { what: String, reason: String },
    #[error(transparent)]
    Save(#[from] image::SaveError),
    #[error(transparent)]
    Context(#[from] context::ContextError),
}

impl DockerError {
    pub fn api(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> DockerError {
        let what = what.into();
        move |e| DockerError::Api {
            what,
            reason: reason(&e),
        }
    }
}

/// A bollard error in a line: its message and the causes under it, each said once.
pub fn reason(error: &bollard::errors::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// Text from the daemon (errors, build and container output) as it reads in a terminal that
/// does not colour: ANSI escape sequences out, carriage-return redraws resolved to what they
/// ended as.
pub fn clean_text(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let shown = line.rsplit('\r').next().unwrap_or(line);
            String::from_utf8_lossy(&strip_ansi_escapes::strip(shown.as_bytes())).into_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn daemon_text_loses_its_colours_and_redraws() {
        assert_eq!(
            super::clean_text("\x1b[31mE: \x1b[0mUnable to locate\r\n10%\r100%\nok"),
            "E: Unable to locate\n100%\nok"
        );
    }
}
