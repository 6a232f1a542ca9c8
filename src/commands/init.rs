//! `layerwise init`: write a commented starter `.layerwise.yaml`.

use super::Exit;
use crate::cli::InitArgs;
use crate::config::{FILE_NAME, STARTER};
use crate::fsutil::write_atomic;

pub fn run(args: &InitArgs) -> Exit {
    let dir = args.dir.clone().unwrap_or_else(|| ".".into());
    let path = dir.join(FILE_NAME);
    let shown = crate::discover::display_path(&path);
    if path.exists() && !args.force {
        eprintln!("error: {shown} exists; `layerwise init --force` replaces it");
        return Exit::Trouble;
    }
    if !dir.is_dir() {
        eprintln!("error: {} is not a folder", dir.display());
        return Exit::Trouble;
    }
    match write_atomic(&path, STARTER.as_bytes()) {
        Ok(()) => {
            eprintln!("wrote {shown}");
            Exit::Clean
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Trouble
        }
    }
}
