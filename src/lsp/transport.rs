//! JSON-RPC frames over stdio that survive a misbehaving client.
//!
//! `lsp-server`'s own stdio transport ends its reader thread at the first malformed frame, which
//! ends the server. This one reads the same `Content-Length` frames into `lsp_server::Message`s,
//! but answers a body that is not JSON with a ParseError, one that is not a message with an
//! InvalidRequest, and finds the next frame after a header that lied about the body's length.

use std::io::{self, Read, Write};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, unbounded};
use lsp_server::{ErrorCode, Message, RequestId};
use serde_json::Value;

/// What the server sends: a message, or one already written as JSON text (the diagnostics,
/// serialized straight from their types instead of through a tree of `Value`s first).
#[derive(Debug)]
pub enum Outgoing {
    Message(Message),
    Json(String),
}

impl<T: Into<Message>> From<T> for Outgoing {
    fn from(message: T) -> Self {
        Outgoing::Message(message.into())
    }
}

/// The server's ends of the connection.
pub struct Connection {
    pub sender: Sender<Outgoing>,
    pub receiver: Receiver<Message>,
}

/// Largest body accepted; a header asking for more is treated as garbage, not allocated.
const MAX_BODY: usize = 64 << 20;
/// Longest header line kept; longer lines are garbage.
const MAX_HEADER_LINE: usize = 8 << 10;
const CONTENT_LENGTH: &[u8] = b"content-length:";

/// What one frame of input held.
#[derive(Debug)]
pub enum Frame {
    Message(Message),
    /// Not a message: the error response it gets (`id` is null when it could not be read).
    Invalid {
        id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    },
}

/// Reads frames from a byte stream, resynchronising on the next `Content-Length` header after
/// garbage.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    at: usize,
    eof: bool,
}

impl<R: Read> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            buf: Vec::new(),
            at: 0,
            eof: false,
        }
    }

    /// The next frame; `None` at the end of the input.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            let body = self.next_body()?;
            if let Some(frame) = self.decode(body) {
                return Some(frame);
            }
        }
    }

    /// Reads more input into the buffer; false at the end of input (or a read error, which for
    /// a pipe means the same).
    fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        if self.at > 0 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        let mut chunk = [0u8; 16 << 10];
        loop {
            match self.inner.read(&mut chunk) {
                Ok(0) => {
                    self.eof = true;
                    return false;
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.eof = true;
                    return false;
                }
            }
        }
    }

    /// One header line without its line ending; `None` at the end of input. Overlong lines come
    /// back cut to their tail, which is where a resynchronising header would be.
    fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(nl) = self.buf[self.at..].iter().position(|&b| b == b'\n') {
                let mut line = self.buf[self.at..self.at + nl].to_vec();
                self.at += nl + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(line);
            }
            let pending = self.buf.len() - self.at;
            if pending > MAX_HEADER_LINE {
                // Keep the tail only: a header may start near the end of the garbage.
                self.at = self.buf.len() - CONTENT_LENGTH.len();
            }
            if !self.fill() {
                if self.at == self.buf.len() {
                    return None;
                }
                let line = self.buf[self.at..].to_vec();
                self.at = self.buf.len();
                return Some(line);
            }
        }
    }

    /// Up to `n` bytes: fewer only at the end of input.
    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() - self.at < n && self.fill() {}
        let end = (self.at + n).min(self.buf.len());
        let body = self.buf[self.at..end].to_vec();
        self.at = end;
        body
    }

    /// Puts bytes back in front of the unread input.
    fn unread(&mut self, bytes: &[u8]) {
        let mut rest = bytes.to_vec();
        rest.extend_from_slice(&self.buf[self.at..]);
        self.buf = rest;
        self.at = 0;
    }

    /// The body of the next frame whose headers make sense.
    fn next_body(&mut self) -> Option<Vec<u8>> {
        let mut length: Option<usize> = None;
        loop {
            let line = self.line()?;
            if line.is_empty() {
                match length {
                    Some(n) => return Some(self.take(n)),
                    None => continue,
                }
            }
            // A header can follow garbage on the same line (after a body shorter than its
            // Content-Length said), so look for it anywhere in the line.
            if let Some(at) = find_ascii_ci(&line, CONTENT_LENGTH) {
                let value = String::from_utf8_lossy(&line[at + CONTENT_LENGTH.len()..]);
                length = value
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n <= MAX_BODY);
                if length.is_none() {
                    eprintln!("layerwise lsp: ignoring a bad header: {value:?}");
                }
            }
        }
    }

    /// The frame a body makes; `None` for a body of whitespace only.
    fn decode(&mut self, body: Vec<u8>) -> Option<Frame> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let mut values = serde_json::Deserializer::from_slice(&body).into_iter::<Value>();
        let value = match values.next() {
            Some(Ok(value)) => value,
            Some(Err(e)) => {
                return Some(Frame::Invalid {
                    id: None,
                    code: ErrorCode::ParseError,
                    message: format!("the message is not JSON: {e}"),
                });
            }
            None => return None,
        };
        // A body longer than one JSON value: the header overstated its length, and what
        // follows is the start of the next frame.
        let used = values.byte_offset();
        if body[used..].iter().any(|b| !b.is_ascii_whitespace()) {
            self.unread(&body[used..]);
        }
        let id = value
            .get("id")
            .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
        Some(match serde_json::from_value::<Message>(value) {
            Ok(message) => Frame::Message(message),
            Err(e) => Frame::Invalid {
                id,
                code: ErrorCode::InvalidRequest,
                message: format!("not a JSON-RPC message: {e}"),
            },
        })
    }
}

fn find_ascii_ci(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Writes one frame.
pub fn write_frame(out: &mut dyn Write, body: &str) -> io::Result<()> {
    write!(out, "Content-Length: {}\r\n\r\n", body.len())?;
    out.write_all(body.as_bytes())?;
    out.flush()
}

/// The error response to a frame that was not a message, as JSON text (its `id` may be null,
/// which `lsp_server::Response` cannot express).
pub fn error_response(id: Option<&RequestId>, code: ErrorCode, message: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code as i32, "message": message },
    })
    .to_string()
}

/// The running stdio threads.
pub struct IoThreads {
    writer: JoinHandle<()>,
}

impl IoThreads {
    /// Waits until every message sent has been written. Call after the connection is dropped.
    pub fn join(self) {
        let _ = self.writer.join();
    }
}

/// A connection over stdin/stdout. The reader stops at the end of stdin or after `exit`, which
/// disconnects the receiver; the writer stops when every sender is gone or stdout is closed.
pub fn stdio() -> io::Result<(Connection, IoThreads)> {
    let (to_writer, from_server): (Sender<Outgoing>, Receiver<Outgoing>) = unbounded();
    let (to_server, from_reader) = unbounded::<Message>();
    let writer = thread::Builder::new()
        .name("lsp-writer".into())
        .spawn(move || {
            for message in from_server {
                // One lock per frame: the reader writes its error responses too.
                let mut out = io::stdout().lock();
                let written = match message {
                    Outgoing::Message(message) => message.write(&mut out),
                    Outgoing::Json(body) => write_frame(&mut out, &body),
                };
                if written.is_err() {
                    break;
                }
            }
        })?;
    thread::Builder::new()
        .name("lsp-reader".into())
        .spawn(move || {
            let mut reader = FrameReader::new(io::stdin().lock());
            while let Some(frame) = reader.next_frame() {
                match frame {
                    Frame::Message(message) => {
                        let exit =
                            matches!(&message, Message::Notification(n) if n.method == "exit");
                        if to_server.send(message).is_err() || exit {
                            break;
                        }
                    }
                    Frame::Invalid { id, code, message } => {
                        eprintln!("layerwise lsp: {message}");
                        let body = error_response(id.as_ref(), code, &message);
                        let mut out = io::stdout().lock();
                        if write_frame(&mut out, &body).is_err() {
                            break;
                        }
                    }
                }
            }
        })?;
    Ok((
        Connection {
            sender: to_writer,
            receiver: from_reader,
        },
        IoThreads { writer },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    fn frames(input: &str) -> Vec<Frame> {
        let mut reader = FrameReader::new(input.as_bytes());
        std::iter::from_fn(|| reader.next_frame()).collect()
    }

    fn method(frame: &Frame) -> Option<&str> {
        match frame {
            Frame::Message(Message::Request(r)) => Some(&r.method),
            Frame::Message(Message::Notification(n)) => Some(&n.method),
            _ => None,
        }
    }

    const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    const NOTE: &str = r#"{"jsonrpc":"2.0","method":"note"}"#;

    #[test]
    fn reads_consecutive_frames_with_extra_headers() {
        let input = format!(
            "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n{}{}",
            frame(PING),
            frame(NOTE)
        );
        let got = frames(&input);
        assert_eq!(
            got.iter().map(method).collect::<Vec<_>>(),
            [Some("ping"), Some("note")]
        );
    }

    #[test]
    fn malformed_json_is_a_parse_error_and_the_next_frame_still_reads() {
        let got = frames(&format!("{}{}", frame("{not json"), frame(NOTE)));
        assert!(matches!(
            got[0],
            Frame::Invalid {
                id: None,
                code: ErrorCode::ParseError,
                ..
            }
        ));
        assert_eq!(method(&got[1]), Some("note"));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn json_that_is_no_message_is_an_invalid_request_with_its_id() {
        let got = frames(&frame(r#"{"jsonrpc":"2.0","id":7,"params":[]}"#));
        match &got[..] {
            [
                Frame::Invalid {
                    id: Some(id),
                    code: ErrorCode::InvalidRequest,
                    ..
                },
            ] => assert_eq!(*id, RequestId::from(7)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_short_content_length_loses_only_that_frame() {
        // The header says 10 bytes; the rest of the body runs into the next header.
        let input = format!("Content-Length: 10\r\n\r\n{PING}{}", frame(NOTE));
        let got = frames(&input);
        assert!(matches!(
            got[0],
            Frame::Invalid {
                code: ErrorCode::ParseError,
                ..
            }
        ));
        assert_eq!(method(&got[1]), Some("note"));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn a_long_content_length_gives_back_the_next_frame() {
        let next = frame(NOTE);
        let input = format!(
            "Content-Length: {}\r\n\r\n{PING}{next}",
            PING.len() + next.len() - 3
        );
        let got = frames(&input);
        assert_eq!(
            got.iter().map(method).collect::<Vec<_>>(),
            [Some("ping"), Some("note")]
        );
    }

    #[test]
    fn garbage_headers_and_huge_lengths_are_skipped() {
        let input = format!(
            "hello\r\nContent-Length: lots\r\n\r\nContent-Length: 99999999999999\r\n\r\n{}",
            frame(NOTE)
        );
        let got = frames(&input);
        assert_eq!(got.iter().map(method).collect::<Vec<_>>(), [Some("note")]);
    }

    #[test]
    fn a_truncated_last_frame_ends_the_input_without_panicking() {
        let got = frames("Content-Length: 50\r\n\r\n{\"jsonrpc\"");
        assert!(matches!(
            got[..],
            [Frame::Invalid {
                code: ErrorCode::ParseError,
                ..
            }]
        ));
        assert!(frames("Content-Len").is_empty());
    }

    #[test]
    fn error_responses_may_have_a_null_id() {
        let body = error_response(None, ErrorCode::ParseError, "bad");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["id"], Value::Null);
        assert_eq!(json["error"]["code"], -32700);
    }
}
