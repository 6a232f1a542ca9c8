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
    let results =
        futures_util::future::join_all(containers.iter().map(|id| remove_container(client, id)))
            .await;
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
            let results =
                futures_util::future::join_all(wave.iter().map(|id| remove_image(client, id)))
                    .await;
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

/// Removes one container: `Ok(false)` when it was already gone. The builder removes its
/// containers itself (Docker 26's classic builder even after its client went): one already gone
/// is fine, and one it is removing is waited for.
async fn remove_container(client: &Docker, id: &str) -> Result<bool, String> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let mut tries = 0;
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
    match client.remove_image(id, Some(options), None).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(e) => Err(super::reason(&e)),
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
