//! Removing what a run built, by id, and nothing else.
//!
//! Every image the builds named is recorded as it streams by ([`super::build::Made`]). Before
//! the first build the ids of all images already present are noted: those are never removed,
//! even when a build named them (a base image, or a cache hit on an image someone else built).
//! Images are removed children first with `noprune`, so no parent that is not ours goes with
//! them (each wave of images nothing left is built on at once); an image that appeared during
//! the run as the child of one of ours (a step committed just before the build was stopped,
//! whose id never reached us) is removed too. [`remove_sparing`] removes early what a run no
//! longer needs, sparing the images it still reads and every image they are built on; the
//! [`remove`] at the end takes the rest, and retries what could not go early.

use std::collections::{HashMap, HashSet};

use bollard::Docker;
use bollard::query_parameters::{
    ListImagesOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
};

use super::DockerError;
use super::build::Made;

/// The images present before the run (full ids).
#[derive(Clone, Debug, Default)]
pub struct Before {
    images: HashSet<String>,
}

pub async fn snapshot(client: &Docker) -> Result<Before, DockerError> {
    let images = list(client).await?;
    Ok(Before {
        images: images.into_iter().map(|(id, _)| id).collect(),
    })
}

/// What removing gave.
#[derive(Clone, Debug, Default)]
pub struct Removed {
    pub images: usize,
    pub containers: usize,
    /// Ids that could not be removed, with why.
    pub left: Vec<(String, String)>,
}

/// All images, intermediates included: `(id, parent id)`.
async fn list(client: &Docker) -> Result<Vec<(String, String)>, DockerError> {
    let options = ListImagesOptionsBuilder::default().all(true).build();
    let images = client
        .list_images(Some(options))
        .await
        .map_err(DockerError::api("listing images"))?;
    Ok(images.into_iter().map(|i| (i.id, i.parent_id)).collect())
}

fn bare(id: &str) -> &str {
    id.strip_prefix("sha256:").unwrap_or(id)
}

/// Removes the containers and images in `made` that were not there `before`.
pub async fn remove(client: &Docker, made: &Made, before: &Before) -> Removed {
    remove_sparing(client, made, before, &[]).await
}

/// [`remove`], sparing the images `kept` names and every image they are built on: what a run
/// no longer needs goes while it still reads those (a later [`remove`] takes them). `kept`
/// may be short ids.
pub async fn remove_sparing(
    client: &Docker,
    made: &Made,
    before: &Before,
    kept: &[&str],
) -> Removed {
    let mut removed = Removed::default();
    let containers = dedup(&made.containers);
    let results = at_most_a_few(containers.iter().map(|id| remove_container(client, id))).await;
    for (id, result) in containers.into_iter().zip(results) {
        match result {
            Ok(true) => removed.containers += 1,
            Ok(false) => {}
            Err(why) => removed.left.push((id, why)),
        }
    }
    let present = match list(client).await {
        Ok(present) => present,
        Err(e) => {
            for id in dedup(&made.images) {
                removed.left.push((id, e.to_string()));
            }
            return removed;
        }
    };
    // Recorded ids are often short: resolve them against what is there.
    let resolve = |id: &str| {
        let short = bare(id);
        present
            .iter()
            .find(|(full, _)| bare(full).starts_with(short))
            .map(|(full, _)| full.clone())
    };
    let parent_of: HashMap<&str, &str> = present
        .iter()
        .map(|(id, parent)| (id.as_str(), parent.as_str()))
        .collect();
    // The kept images and their ancestors (the classic builder's chain under each).
    let mut spared: HashSet<String> = HashSet::new();
    for id in kept.iter().filter_map(|id| resolve(id)) {
        let mut at = Some(id);
        while let Some(id) = at.filter(|id| spared.insert(id.clone())) {
            at = parent_of
                .get(id.as_str())
                .filter(|parent| !parent.is_empty())
                .map(|parent| parent.to_string());
        }
    }
    let theirs = |id: &String| before.images.contains(id) || spared.contains(id);
    let mut ours: Vec<String> = Vec::new();
    for full in dedup(&made.images).iter().filter_map(|id| resolve(id)) {
        if !theirs(&full) && !ours.contains(&full) {
            ours.push(full);
        }
    }
    // Children of ours that we never heard of, until no more turn up.
    loop {
        let children: Vec<String> = present
            .iter()
            .filter(|(id, parent)| !theirs(id) && !ours.contains(id) && ours.contains(parent))
            .map(|(id, _)| id.clone())
            .collect();
        if children.is_empty() {
            break;
        }
        ours.extend(children);
    }
    // Children first, in waves: each wave is the images none of the others left is built on,
    // removed at once (the before and after chains, and every run's, go side by side). A
    // removal refused because of a child or a container still going is retried after the
    // others.
    let mut pending: Vec<String> = ours;
    let mut refused: Vec<(String, String)> = Vec::new();
    for _ in 0..3 {
        refused.clear();
        while !pending.is_empty() {
            let parents: HashSet<&str> = pending
                .iter()
                .filter_map(|id| parent_of.get(id.as_str()).copied())
                .collect();
            let (wave, rest): (Vec<String>, Vec<String>) = pending
                .into_iter()
                .partition(|id| !parents.contains(id.as_str()));
            pending = rest;
            if wave.is_empty() {
                // built on each other in a circle: no image does that, but do not spin
                refused.extend(pending.drain(..).map(|id| (id, "held by another".into())));
                break;
            }
            let results = at_most_a_few(wave.iter().map(|id| remove_image(client, id))).await;
            for (id, result) in wave.into_iter().zip(results) {
                match result {
                    Ok(true) => removed.images += 1,
                    Ok(false) => {}
                    Err(why) => refused.push((id, why)),
                }
            }
        }
        if refused.is_empty() {
            break;
        }
        // a container the daemon is still removing holds its image a moment longer
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        pending = refused.iter().map(|(id, _)| id.clone()).collect();
    }
    removed.left.extend(refused);
    removed
}

/// How many removals go to the daemon at once. Through ssh, each request the pool has no idle
/// connection for opens an ssh connection of its own, and sshd's default `MaxStartups` (10:30:100)
/// drops some of the handshakes beyond ten at once: a wave of sixteen removals lost one that way.
const REMOVALS_AT_ONCE: usize = 4;

/// Runs `removals` with at most [`REMOVALS_AT_ONCE`] of them going at a time; the results come
/// in the order of `removals`.
async fn at_most_a_few<T>(removals: impl Iterator<Item = impl Future<Output = T>>) -> Vec<T> {
    use futures_util::StreamExt;
    futures_util::stream::iter(removals)
        .buffered(REMOVALS_AT_ONCE)
        .collect()
        .await
}

/// Whether a request failed on its way to the daemon (the connection could not be made, or the
/// ssh handshake was cut), not by the daemon's answer or a wait: asking again may work, and a
/// removal asked twice is no harm (the second finds it gone).
fn on_the_way(e: &bollard::errors::Error) -> bool {
    match e {
        bollard::errors::Error::HyperLegacyError { err } => err.is_connect(),
        bollard::errors::Error::IOError { err } => matches!(
            err.kind(),
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
        ),
        _ => false,
    }
}

/// The tries a removal gets when it fails on the way, and the pause before each retry.
const TRIES_ON_THE_WAY: u32 = 3;
const PAUSE_ON_THE_WAY: std::time::Duration = std::time::Duration::from_millis(300);

/// Removes one container: `Ok(false)` when it was already gone. The builder removes its
/// containers itself (Docker 26's classic builder even after its client went): one already gone
/// is fine, and one it is removing is waited for.
async fn remove_container(client: &Docker, id: &str) -> Result<bool, String> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let mut tries = 0;
    let mut tries_on_the_way = 1;
    loop {
        return match client.remove_container(id, Some(options.clone())).await {
            Ok(()) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message,
            }) if message.contains("in progress") && tries < 50 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
            Err(e) if on_the_way(&e) && tries_on_the_way < TRIES_ON_THE_WAY => {
                tries_on_the_way += 1;
                tokio::time::sleep(PAUSE_ON_THE_WAY).await;
                continue;
            }
            Err(e) => Err(super::reason(&e)),
        };
    }
}

/// Removes one image and none of its parents: `Ok(false)` when it was already gone.
async fn remove_image(client: &Docker, id: &str) -> Result<bool, String> {
    let options = RemoveImageOptionsBuilder::default()
        .force(false)
        .noprune(true)
        .build();
    let mut tries = 1;
    loop {
        return match client.remove_image(id, Some(options.clone()), None).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) if on_the_way(&e) && tries < TRIES_ON_THE_WAY => {
                tries += 1;
                tokio::time::sleep(PAUSE_ON_THE_WAY).await;
                continue;
            }
            Err(e) => Err(super::reason(&e)),
        };
    }
}

fn dedup(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn removals_go_a_few_at_a_time_and_answer_in_order() {
        let going = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let removal = |n: usize| {
            let (going, most) = (&going, &most);
            async move {
                let now = going.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // later ones end first, so the order of the answers is not the order of ends
                tokio::time::sleep(std::time::Duration::from_millis(20 - n as u64)).await;
                going.fetch_sub(1, Ordering::SeqCst);
                n
            }
        };
        let answers = at_most_a_few((0..16).map(removal)).await;
        assert_eq!(answers, (0..16).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), REMOVALS_AT_ONCE);
    }

    #[test]
    fn only_a_failure_on_the_way_is_asked_again() {
        let io = |kind| bollard::errors::Error::IOError {
            err: std::io::Error::from(kind),
        };
        assert!(on_the_way(&io(std::io::ErrorKind::ConnectionReset)));
        assert!(on_the_way(&io(std::io::ErrorKind::ConnectionRefused)));
        assert!(!on_the_way(&io(std::io::ErrorKind::InvalidData)));
        assert!(!on_the_way(
            &bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message: "conflict: unable to delete (image has dependent child images)".into(),
            }
        ));
        assert!(!on_the_way(&bollard::errors::Error::RequestTimeoutError));
    }
}
