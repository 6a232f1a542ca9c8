//! `measure --smoke CMD`: the command run in a container of each image, as `docker run --rm
//! --network none IMAGE CMD…` would run it (the words of CMD replace the image's CMD; its
//! ENTRYPOINT stays), within a time limit, and the container removed afterwards. Exit code and
//! output (all of stdout, then all of stderr) are what is compared: Docker keeps the order of
//! each stream but not between them, so lines written to both came back interleaved
//! differently from one run to the next.

use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{LogsOptionsBuilder, RemoveContainerOptionsBuilder};
use futures_util::StreamExt;

use super::DockerError;
use super::build::Tracker;
use super::proof::SmokeOutcome;

/// The most output kept of one run: enough to compare, bounded for a chatty command.
const MAX_OUTPUT: usize = 1024 * 1024;

/// The words of a `--smoke` command, split as a POSIX shell would (quotes, backslashes); no
/// expansion happens, as in `docker run IMAGE CMD…`.
pub fn words(command: &str) -> Result<Vec<String>, String> {
    match shlex::split(command) {
        Some(words) if !words.is_empty() => Ok(words),
        Some(_) => Err("--smoke: the command is empty".to_string()),
        None => Err(format!("--smoke {command}: unbalanced quotes")),
    }
}

/// Runs `words` in a container of `image`, records the container in `tracker` (so an
/// interrupted run still removes it), and removes it.
pub async fn run(
    client: &Docker,
    image: &str,
    words: &[String],
    limit: Duration,
    tracker: &Tracker,
) -> Result<SmokeOutcome, DockerError> {
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(words.to_vec()),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_string()),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let created = client
        .create_container(None, body)
        .await
        .map_err(DockerError::api(format!("creating a container of {image}")))?;
    let id = created.id;
    tracker
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .containers
        .push(id.clone());
    let outcome = run_created(client, &id, limit).await;
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let removed = client.remove_container(&id, Some(options)).await;
    let outcome = outcome?;
    removed.map_err(DockerError::api(format!("removing container {id}")))?;
    Ok(outcome)
}

async fn run_created(
    client: &Docker,
    id: &str,
    limit: Duration,
) -> Result<SmokeOutcome, DockerError> {
    client
        .start_container(id, None)
        .await
        .map_err(DockerError::api(format!("starting container {id}")))?;
    let mut wait = client.wait_container(id, None);
    let exit_code = match tokio::time::timeout(limit, wait.next()).await {
        Err(_) => None,
        Ok(Some(Ok(done))) => Some(done.status_code),
        Ok(Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. }))) => Some(code),
        Ok(Some(Err(e))) => {
            return Err(DockerError::Api {
                what: format!("waiting for container {id}"),
                reason: super::reason(&e),
            });
        }
        Ok(None) => None,
    };
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .follow(false)
        .build();
    let mut logs = client.logs(id, Some(options));
    let (mut stdout, mut stderr): (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
    while let Some(chunk) = logs.next().await {
        let chunk = chunk.map_err(DockerError::api(format!("reading the output of {id}")))?;
        let stream = match chunk {
            LogOutput::StdErr { .. } => &mut stderr,
            _ => &mut stdout,
        };
        let bytes = chunk.into_bytes();
        let room = MAX_OUTPUT.saturating_sub(stream.len());
        stream.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
    let mut output = stdout;
    output.extend_from_slice(&stderr);
    Ok(SmokeOutcome {
        exit_code,
        output: super::clean_text(&String::from_utf8_lossy(&output)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_splits_as_a_shell_would_without_expanding() {
        assert_eq!(
            words(r#"python3 -c 'import app; print("ok")' $HOME"#).unwrap(),
            ["python3", "-c", r#"import app; print("ok")"#, "$HOME"]
        );
        assert!(words("echo 'open").is_err());
        assert!(words("   ").is_err());
    }
}
