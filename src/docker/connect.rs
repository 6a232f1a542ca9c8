//! Reaching the daemon named by `DOCKER_HOST`, as the Docker CLI reads it: `unix://` sockets
//! (Docker's or Podman's), `tcp://`/`http://` addresses, and `ssh://` through the system `ssh`
//! running `docker system dial-stdio` on the remote host. The API version is negotiated, so
//! older daemons are spoken to in their own version.

use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

use super::DockerError;

/// The socket the Docker CLI uses when `DOCKER_HOST` is unset.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// `DOCKER_HOST`, or the default socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_HOST.to_string())
}

/// A client for `host`, checked by asking the daemon its version. `timeout` bounds every
/// request's wait for the daemon's first answer (`docker save` answers only once the whole
/// image is written, so it must be generous).
pub async fn connect(host: &str, timeout: Duration) -> Result<Docker, DockerError> {
    let unreachable = |reason: String| DockerError::Unreachable {
        host: host.to_string(),
        reason,
    };
    let secs = timeout.as_secs().max(1);
    let client = if host.starts_with("unix://") {
        Docker::connect_with_unix(host, secs, API_DEFAULT_VERSION)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        if std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty()) {
            return Err(unreachable(
                "DOCKER_TLS_VERIFY is set, and layerwise speaks to daemons without TLS only; \
                 reach a TLS daemon through ssh:// or a local socket"
                    .into(),
            ));
        }
        Docker::connect_with_http(host, secs, API_DEFAULT_VERSION)
    } else if let Some(authority) = host.strip_prefix("ssh://") {
        // bollard hands `user@host` to the system ssh, which would read `host:port` as a name
        if authority.trim_end_matches('/').contains(':') {
            return Err(unreachable(
                "a port in an ssh:// address is not supported; set it in ~/.ssh/config \
                 (`Host NAME` / `Port N`) and use ssh://USER@NAME"
                    .into(),
            ));
        }
        Docker::connect_with_ssh(host, secs, API_DEFAULT_VERSION, None)
    } else {
        return Err(unreachable(
            "unsupported address: use unix://PATH, tcp://HOST:PORT or ssh://USER@HOST".into(),
        ));
    }
    .map_err(|e| unreachable(e.to_string()))?;
    let client = client
        .negotiate_version()
        .await
        .map_err(|e| unreachable(super::reason(&e)))?;
    Ok(client)
}
