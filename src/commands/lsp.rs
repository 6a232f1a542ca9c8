//! `layerwise lsp`: the language server over stdio.

use super::Exit;
use crate::lsp::{Ending, serve_stdio};

pub fn run() -> Exit {
    match serve_stdio() {
        Ok(Ending::Clean) => Exit::Clean,
        // The protocol asks for exit code 1 when `exit` comes without `shutdown`.
        Ok(Ending::WithoutShutdown) => Exit::Findings,
        Err(e) => {
            eprintln!("error: cannot start the language server: {e}");
            Exit::Trouble
        }
    }
}
