//! Reaching the daemon named by `DOCKER_HOST`, as the Docker CLI reads it: `unix://` sockets
//! (Docker's or Podman's), `tcp://`/`http://` addresses, and `ssh://` through the system `ssh`
//! running `docker system dial-stdio` on the remote host. The API version is negotiated, so
//! older daemons are spoken to in their own version.

use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

use super::DockerError;
use super::build::Builder;

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

/// A response to [`raw_get`]: status, headers (names lower-cased) and body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Parses an HTTP/1.x response read to its end (no chunked bodies: [`raw_get`] asks in
    /// HTTP/1.0, which a server answers with a plain body up to the close).
    pub fn parse(bytes: &[u8]) -> Result<RawResponse, String> {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("the daemon's answer has no end of headers")?;
        let head = String::from_utf8_lossy(&bytes[..end]);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP answer: {status_line:?}"))?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Ok(RawResponse {
            status,
            headers,
            body: bytes[end + 4..].to_vec(),
        })
    }
}

/// The most a raw answer may be (a `/system/df` of a daemon with many images is large).
const MAX_RAW: u64 = 64 * 1024 * 1024;

/// A GET that bollard offers no call for (a response header, or a field its models read only
/// in newer API versions), on a connection of its own to `host`, answered within `timeout`.
pub async fn raw_get(host: &str, path: &str, timeout: Duration) -> Result<RawResponse, String> {
    let host = host.to_string();
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: layerwise/{}\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    let work =
        tokio::task::spawn_blocking(move || raw_exchange(&host, request.as_bytes(), timeout));
    match tokio::time::timeout(timeout + Duration::from_secs(1), work).await {
        Ok(Ok(answer)) => RawResponse::parse(&answer?),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    }
}

fn raw_exchange(host: &str, request: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    use std::io::{Read, Write};
    fn exchange(mut stream: impl Read + Write, request: &[u8]) -> std::io::Result<Vec<u8>> {
        stream.write_all(request)?;
        stream.flush()?;
        let mut answer = Vec::new();
        stream.take(MAX_RAW).read_to_end(&mut answer)?;
        Ok(answer)
    }
    let text = |e: std::io::Error| e.to_string();
    if let Some(path) = host.strip_prefix("unix://") {
        let stream = std::os::unix::net::UnixStream::connect(path).map_err(text)?;
        stream.set_read_timeout(Some(timeout)).map_err(text)?;
        stream.set_write_timeout(Some(timeout)).map_err(text)?;
        return exchange(stream, request).map_err(text);
    }
    if let Some(address) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        use std::net::ToSocketAddrs;
        let address = address.trim_end_matches('/');
        let socket = address
            .to_socket_addrs()
            .map_err(text)?
            .next()
            .ok_or_else(|| format!("{address} names no address"))?;
        let stream = std::net::TcpStream::connect_timeout(&socket, timeout).map_err(text)?;
        stream.set_read_timeout(Some(timeout)).map_err(text)?;
        stream.set_write_timeout(Some(timeout)).map_err(text)?;
        return exchange(stream, request).map_err(text);
    }
    if let Some(authority) = host.strip_prefix("ssh://") {
        // as bollard and the Docker CLI reach it: the system ssh running dial-stdio there
        let mut child = std::process::Command::new("ssh")
            .args(["-o", "BatchMode=yes", "-T", "--"])
            .arg(authority.trim_end_matches('/'))
            .args(["docker", "system", "dial-stdio"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run ssh: {e}"))?;
        let mut stdin = child.stdin.take().ok_or("no stdin for ssh")?;
        let mut stdout = child.stdout.take().ok_or("no stdout for ssh")?;
        stdin.write_all(request).map_err(text)?;
        stdin.flush().map_err(text)?;
        let reader = std::thread::spawn(move || {
            let mut answer = Vec::new();
            let read = (&mut stdout).take(MAX_RAW).read_to_end(&mut answer);
            read.map(|_| answer)
        });
        // dial-stdio ends when the daemon closes; the thread above sees the end
        let started = std::time::Instant::now();
        while !reader.is_finished() {
            if started.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "no answer through ssh within {} s",
                    timeout.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(stdin);
        let _ = child.kill();
        let _ = child.wait();
        return reader
            .join()
            .map_err(|_| "the ssh reader failed".to_string())?
            .map_err(text);
    }
    Err(format!("unsupported address {host}"))
}

/// The builder the daemon uses by default: BuildKit when its `/_ping` says
/// `Builder-Version: 2` (Docker 23 and later), else the classic one (older Docker, Podman).
pub async fn default_builder(host: &str, timeout: Duration) -> Result<Builder, String> {
    let ping = raw_get(host, "/_ping", timeout).await?;
    if ping.status != 200 {
        return Err(format!("/_ping answered {}", ping.status));
    }
    Ok(match ping.header("builder-version") {
        Some("2") => Builder::BuildKit,
        _ => Builder::Classic,
    })
}

/// Whether the daemon keeps its images in the containerd image store (Docker 24 and later with
/// its `containerd-snapshotter` feature, the default of new Docker 29 installs): `docker info`'s
/// driver status names containerd's snapshotter as the driver type.
pub async fn containerd_store(client: &Docker) -> Result<bool, String> {
    let info = client.info().await.map_err(|e| super::reason(&e))?;
    Ok(info.driver_status.iter().flatten().any(|pair| {
        pair.first().is_some_and(|k| k == "driver-type")
            && pair
                .get(1)
                .is_some_and(|v| v.starts_with("io.containerd.snapshotter"))
    }))
}

/// The bytes of the daemon's build cache (BuildKit's), from `/system/df`: `BuildCache` (a
/// list) up to API 1.51, `BuildCacheUsage` after. `None` when the daemon tells neither.
pub async fn build_cache_bytes(
    client: &Docker,
    host: &str,
    timeout: Duration,
) -> Result<Option<u64>, String> {
    let version = client.client_version();
    let path = format!(
        "/v{}.{}/system/df?type=build-cache",
        version.major_version, version.minor_version
    );
    let answer = raw_get(host, &path, timeout).await?;
    if answer.status != 200 {
        return Err(format!(
            "/system/df answered {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body).trim()
        ));
    }
    let df: serde_json::Value =
        serde_json::from_slice(&answer.body).map_err(|e| format!("/system/df: {e}"))?;
    Ok(cache_total(&df))
}

fn cache_total(df: &serde_json::Value) -> Option<u64> {
    if let Some(total) = df
        .pointer("/BuildCacheUsage/TotalSize")
        .and_then(|v| v.as_u64())
    {
        return Some(total);
    }
    let records = df.get("BuildCache")?;
    if records.is_null() {
        return Some(0);
    }
    Some(
        records
            .as_array()?
            .iter()
            .filter_map(|r| r.get("Size").and_then(|s| s.as_u64()))
            .sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_answer_gives_status_headers_and_body() {
        let answer = RawResponse::parse(
            b"HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nBuilder-Version: 2\r\n\r\nOK",
        )
        .unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("builder-version"), Some("2"));
        assert_eq!(answer.header("Api-Version"), Some("1.45"));
        assert_eq!(answer.body, b"OK");
        assert!(RawResponse::parse(b"HTTP/1.1 200 OK\r\nno end").is_err());
        assert!(RawResponse::parse(b"garbage\r\n\r\n").is_err());
    }

    #[test]
    fn the_build_cache_total_reads_both_layouts() {
        let old = serde_json::json!({"BuildCache": [{"Size": 10}, {"Size": 32}], "Images": []});
        assert_eq!(cache_total(&old), Some(42));
        let empty = serde_json::json!({"BuildCache": null});
        assert_eq!(cache_total(&empty), Some(0));
        let new = serde_json::json!({"BuildCacheUsage": {"TotalSize": 7, "Items": []}});
        assert_eq!(cache_total(&new), Some(7));
        assert_eq!(cache_total(&serde_json::json!({})), None);
    }
}
