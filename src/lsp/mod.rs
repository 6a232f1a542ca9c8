//! `layerwise lsp`: a language server over stdio. Diagnostics on open and change, each fix as a
//! quickfix, "ignore this rule here", and "fix all".
//!
//! The layout follows rust-analyzer's `lsp-server` example: a synchronous loop over a
//! connection ([`server`]), the open documents ([`documents`]), conversions between spans and
//! protocol positions ([`convert`]), code actions ([`actions`]), and a stdio transport that
//! survives malformed input ([`transport`]).

pub mod actions;
pub mod convert;
pub mod documents;
pub mod server;
pub mod transport;

pub use server::{Ending, Server};

/// Serves over stdin/stdout until `exit` or the end of stdin.
pub fn serve_stdio() -> std::io::Result<Ending> {
    let (connection, threads) = transport::stdio()?;
    let transport::Connection { sender, receiver } = connection;
    let ending = Server::new(sender).serve(&receiver);
    // The server (and its sender) is gone: the writer drains what is queued and stops.
    drop(receiver);
    threads.join();
    Ok(ending)
}
