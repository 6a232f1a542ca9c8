//! The server loop: one thread, one message at a time, documents linted when the queue of
//! incoming messages is empty (so a burst of keystrokes is linted once) and before answering a
//! request about them.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    DidSaveTextDocument, Exit, Initialized, Notification as _, PublishDiagnostics, ShowMessage,
};
use lsp_types::request::{
    CodeActionRequest, Initialize, RegisterCapability, Request as _, Shutdown,
};
use lsp_types::{
    self as lsp, CodeActionKind, CodeActionOptions, CodeActionParams, CodeActionProviderCapability,
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidChangeWatchedFilesRegistrationOptions, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, FileChangeType, FileSystemWatcher,
    GlobPattern, InitializeResult, MessageType, PublishDiagnosticsParams, Registration,
    RegistrationParams, SaveOptions, ServerCapabilities, ServerInfo, ShowMessageParams,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Uri,
};
use serde_json::Value;

use super::actions::{self, Target};
use super::convert::{self, DiagnosticData, Encoding, Lines, path_to_uri};
use super::documents::{Analysis, Document, Documents};
use super::transport::Outgoing;
use crate::config::{self, Config, ConfigError};
use crate::fix::Safety;
use crate::fixer::fix_text;
use crate::lint::{LintOptions, lint};
use crate::syntax::Dockerfile;

/// How the session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `shutdown`, then `exit`.
    Clean,
    /// `exit` without `shutdown`, or the client went away.
    WithoutShutdown,
}

/// What the client said it can do, at `initialize`.
#[derive(Clone, Debug)]
pub struct ClientSupport {
    pub encoding: Encoding,
    /// Versioned edits in `documentChanges`.
    pub document_changes: bool,
    /// `CreateFile` operations in workspace edits.
    pub create_files: bool,
    /// `workspace/didChangeWatchedFiles` registered at run time.
    pub watch_files: bool,
}

impl ClientSupport {
    fn from_initialize(params: &Value) -> Self {
        let caps = &params["capabilities"];
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let edit = &caps["workspace"]["workspaceEdit"];
        ClientSupport {
            encoding: Encoding::negotiate(&strings(&caps["general"]["positionEncodings"])),
            document_changes: edit["documentChanges"].as_bool().unwrap_or(false),
            create_files: strings(&edit["resourceOperations"])
                .iter()
                .any(|k| k == "create"),
            watch_files: caps["workspace"]["didChangeWatchedFiles"]["dynamicRegistration"]
                .as_bool()
                .unwrap_or(false),
        }
    }
}

impl Default for ClientSupport {
    fn default() -> Self {
        ClientSupport {
            encoding: Encoding::Utf16,
            document_changes: false,
            create_files: false,
            watch_files: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Uninitialized,
    Running,
    ShutDown,
}

/// Files whose change changes the findings of open Dockerfiles.
const WATCHED: &[&str] = &[
    "**/.layerwise.yaml",
    "**/.layerwise.yml",
    "**/.dockerignore",
    "**/*.dockerignore",
];

pub struct Server {
    sender: Sender<Outgoing>,
    state: State,
    client: ClientSupport,
    docs: Documents,
    /// Documents to lint and publish once the incoming queue is empty.
    dirty: BTreeSet<Uri>,
    next_id: i32,
    /// Config files whose error is published as their diagnostic, with the message.
    config_errors: HashMap<PathBuf, String>,
    /// Config errors already shown in a message, so that each pops up once.
    shown: HashSet<String>,
    /// The config that applies in each folder of an open Dockerfile, found once rather than on
    /// every change; forgotten when a file is saved or a watched file changes.
    configs: HashMap<PathBuf, Option<Arc<Config>>>,
}

impl Server {
    pub fn new(sender: Sender<Outgoing>) -> Self {
        Server {
            sender,
            state: State::Uninitialized,
            client: ClientSupport::default(),
            docs: Documents::default(),
            dirty: BTreeSet::new(),
            next_id: 0,
            config_errors: HashMap::new(),
            shown: HashSet::new(),
            configs: HashMap::new(),
        }
    }

    /// Serves until `exit` or until the client goes away.
    pub fn serve(mut self, receiver: &Receiver<Message>) -> Ending {
        loop {
            let message = if self.dirty.is_empty() {
                match receiver.recv() {
                    Ok(message) => message,
                    Err(_) => return self.gone(),
                }
            } else {
                match receiver.try_recv() {
                    Ok(message) => message,
                    Err(TryRecvError::Empty) => {
                        self.guarded(None, Self::publish_dirty);
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => return self.gone(),
                }
            };
            let id = match &message {
                Message::Request(r) => Some(r.id.clone()),
                _ => None,
            };
            if let Some(Some(ending)) = self.guarded(id, |s| s.handle(message)) {
                return ending;
            }
        }
    }

    fn gone(&self) -> Ending {
        if self.state == State::ShutDown {
            Ending::Clean
        } else {
            Ending::WithoutShutdown
        }
    }

    /// Runs a step; a panic in it (a bug) fails the request it was for, not the server.
    fn guarded<T>(
        &mut self,
        request: Option<RequestId>,
        step: impl FnOnce(&mut Self) -> T,
    ) -> Option<T> {
        match catch_unwind(AssertUnwindSafe(|| step(self))) {
            Ok(value) => Some(value),
            Err(_) => {
                if let Some(id) = request {
                    self.error(id, ErrorCode::InternalError, "internal error (a bug)");
                }
                None
            }
        }
    }

    fn handle(&mut self, message: Message) -> Option<Ending> {
        match message {
            Message::Request(request) => self.request(request),
            Message::Notification(notification) => return self.notification(notification),
            // Answers to our registrations; nothing waits for them.
            Message::Response(_) => {}
        }
        None
    }

    fn send(&self, message: impl Into<Outgoing>) {
        // A closed output means the client is gone; the reader will see it too.
        let _ = self.sender.send(message.into());
    }

    fn respond(&self, id: RequestId, result: impl serde::Serialize) {
        self.send(Response::new_ok(id, result));
    }

    fn error(&self, id: RequestId, code: ErrorCode, message: &str) {
        self.send(Response::new_err(id, code as i32, message.to_string()));
    }

    fn request(&mut self, request: Request) {
        let Request { id, method, params } = request;
        match (self.state, method.as_str()) {
            (State::Uninitialized, Initialize::METHOD) => self.initialize(id, &params),
            (State::Uninitialized, _) => {
                self.error(id, ErrorCode::ServerNotInitialized, "not initialized yet");
            }
            (State::ShutDown, _) => {
                self.error(id, ErrorCode::InvalidRequest, "the server is shut down");
            }
            (State::Running, Initialize::METHOD) => {
                self.error(id, ErrorCode::InvalidRequest, "already initialized");
            }
            (State::Running, Shutdown::METHOD) => {
                self.state = State::ShutDown;
                self.docs = Documents::default();
                self.dirty.clear();
                self.respond(id, ());
            }
            (State::Running, CodeActionRequest::METHOD) => {
                match serde_json::from_value::<CodeActionParams>(params) {
                    Ok(params) => {
                        let actions = self.code_actions(&params);
                        self.respond(id, actions);
                    }
                    Err(e) => self.error(id, ErrorCode::InvalidParams, &e.to_string()),
                }
            }
            (State::Running, _) => {
                self.error(
                    id,
                    ErrorCode::MethodNotFound,
                    &format!("unknown method {method}"),
                );
            }
        }
    }

    fn notification(&mut self, notification: Notification) -> Option<Ending> {
        let Notification { method, params } = notification;
        if method == Exit::METHOD {
            return Some(self.gone());
        }
        if self.state != State::Running {
            return None;
        }
        fn parse<T: serde::de::DeserializeOwned>(method: &str, params: Value) -> Option<T> {
            serde_json::from_value(params)
                .map_err(|e| eprintln!("layerwise lsp: bad {method} params: {e}"))
                .ok()
        }
        match method.as_str() {
            Initialized::METHOD => self.register_watchers(),
            DidOpenTextDocument::METHOD => {
                let params: DidOpenTextDocumentParams = parse(&method, params)?;
                let item = params.text_document;
                let doc = Document::new(&item.uri, item.language_id, item.version, item.text);
                self.touched(&doc);
                self.dirty.insert(item.uri.clone());
                self.docs.open(item.uri, doc);
            }
            DidChangeTextDocument::METHOD => {
                let params: DidChangeTextDocumentParams = parse(&method, params)?;
                let uri = params.text_document.uri;
                let encoding = self.client.encoding;
                let doc = self.docs.get_mut(&uri)?;
                doc.apply(params.content_changes, encoding);
                doc.version = params.text_document.version;
                let ignore_file = doc.is_ignore_file();
                self.dirty.insert(uri);
                if ignore_file {
                    self.dirty.extend(self.docs.dockerfiles());
                }
            }
            DidCloseTextDocument::METHOD => {
                let params: DidCloseTextDocumentParams = parse(&method, params)?;
                let uri = params.text_document.uri;
                self.dirty.remove(&uri);
                if let Some(doc) = self.docs.close(&uri) {
                    self.touched(&doc);
                    if doc.is_dockerfile() {
                        self.publish(uri, Vec::new(), None);
                    }
                }
            }
            DidSaveTextDocument::METHOD => {
                let params: DidSaveTextDocumentParams = parse(&method, params)?;
                // Saving can change the config or the context on disk that findings depend on.
                self.configs.clear();
                if let Some(path) = convert::uri_to_path(&params.text_document.uri) {
                    self.config_changed(&path);
                }
                self.dirty.insert(params.text_document.uri);
                self.dirty.extend(self.docs.dockerfiles());
            }
            DidChangeWatchedFiles::METHOD => {
                let params: DidChangeWatchedFilesParams = parse(&method, params)?;
                self.configs.clear();
                for change in &params.changes {
                    if let Some(path) = convert::uri_to_path(&change.uri) {
                        if change.typ == FileChangeType::DELETED {
                            self.clear_config_error(&path);
                        } else {
                            self.config_changed(&path);
                        }
                    }
                }
                self.dirty.extend(self.docs.dockerfiles());
            }
            _ => {}
        }
        None
    }

    /// A change to an ignore file re-lints every open Dockerfile.
    fn touched(&mut self, doc: &Document) {
        if doc.is_ignore_file() {
            self.dirty.extend(self.docs.dockerfiles());
        }
    }

    fn initialize(&mut self, id: RequestId, params: &Value) {
        self.client = ClientSupport::from_initialize(params);
        let capabilities = ServerCapabilities {
            position_encoding: Some(self.client.encoding.kind()),
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                        include_text: Some(false),
                    })),
                    ..TextDocumentSyncOptions::default()
                },
            )),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![CodeActionKind::QUICKFIX, actions::fix_all_kind()]),
                resolve_provider: Some(false),
                ..CodeActionOptions::default()
            })),
            ..ServerCapabilities::default()
        };
        let result = InitializeResult {
            capabilities,
            server_info: Some(ServerInfo {
                name: "layerwise".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
        };
        self.state = State::Running;
        self.respond(id, result);
    }

    fn register_watchers(&mut self) {
        if !self.client.watch_files {
            return;
        }
        let watchers = WATCHED
            .iter()
            .map(|glob| FileSystemWatcher {
                glob_pattern: GlobPattern::String(glob.to_string()),
                kind: None,
            })
            .collect();
        let options = DidChangeWatchedFilesRegistrationOptions { watchers };
        let params = RegistrationParams {
            registrations: vec![Registration {
                id: "layerwise-watched-files".to_string(),
                method: DidChangeWatchedFiles::METHOD.to_string(),
                register_options: serde_json::to_value(options).ok(),
            }],
        };
        self.next_id += 1;
        let id = RequestId::from(format!("layerwise-{}", self.next_id));
        self.send(Request::new(
            id,
            RegisterCapability::METHOD.to_string(),
            params,
        ));
    }

    /// Lints and publishes every document changed since the last time.
    fn publish_dirty(&mut self) {
        for uri in std::mem::take(&mut self.dirty) {
            let Some(doc) = self.docs.get(&uri) else {
                continue;
            };
            if !doc.is_dockerfile() {
                continue;
            }
            let (version, path, text) = (doc.version, doc.path.clone(), doc.text.clone());
            let (diagnostics, analysis) = self.analyse(&uri, path.as_deref(), &text, version);
            if let Some(doc) = self.docs.get_mut(&uri) {
                doc.analysis = analysis;
            }
            self.publish(uri, diagnostics, Some(version));
        }
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<lsp::Diagnostic>, version: Option<i32>) {
        /// A notification as JSON-RPC writes it.
        #[derive(serde::Serialize)]
        struct Body<'a, P> {
            jsonrpc: &'static str,
            method: &'static str,
            params: &'a P,
        }
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        let body = Body {
            jsonrpc: "2.0",
            method: PublishDiagnostics::METHOD,
            params: &params,
        };
        // Written here, straight from the diagnostics: a `Notification` would hold them as a
        // tree of `Value`s to build, write and free, which cost more than the lint.
        match serde_json::to_string(&body) {
            Ok(json) => self.send(Outgoing::Json(json)),
            Err(e) => eprintln!("layerwise lsp: cannot write diagnostics: {e}"),
        }
    }

    /// How a document is linted: from its folder on disk, with open ignore files' unsaved text
    /// and the config file that applies (read again after a save or a watched file's change).
    fn lint_options(&mut self, doc_path: Option<&Path>) -> LintOptions {
        LintOptions {
            path: doc_path.map(Path::to_path_buf),
            overlay: self.docs.ignore_overlay(),
            config: doc_path.and_then(|p| self.config_for(p)),
            ..LintOptions::default()
        }
    }

    /// The config for a document at `path`; a broken one is shown and the defaults used.
    fn config_for(&mut self, path: &Path) -> Option<Arc<Config>> {
        let dir = path.parent()?;
        if let Some(known) = self.configs.get(dir) {
            return known.clone();
        }
        let config = self.discover_config(dir);
        self.configs.insert(dir.to_path_buf(), config.clone());
        config
    }

    fn discover_config(&mut self, dir: &Path) -> Option<Arc<Config>> {
        match Config::discover(dir) {
            Ok(Some((found, config))) => {
                self.clear_config_error(&found);
                Some(Arc::new(config))
            }
            Ok(None) => None,
            Err(e) => {
                self.report_config_error(&e);
                None
            }
        }
    }

    /// A file changed on disk: if it is a config file, check it again now, so that its error
    /// is shown or cleared even when no open Dockerfile uses it.
    fn config_changed(&mut self, path: &Path) {
        if !config::is_config_name(path) {
            return;
        }
        match Config::load(path) {
            Ok(_) => self.clear_config_error(path),
            Err(e) => self.report_config_error(&e),
        }
    }

    /// Shows a config error where it is: a diagnostic on the config file, and once a message.
    fn report_config_error(&mut self, error: &ConfigError) {
        let path = absolute(error.path());
        let message = match error {
            ConfigError::Invalid(invalid) => invalid.message.clone(),
            ConfigError::Read { .. } | ConfigError::Both { .. } => error.to_string(),
        };
        if self.config_errors.get(&path) == Some(&message) {
            return;
        }
        let (line, column) = error.position().unwrap_or((1, 1));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let index = crate::source::LineIndex::new(&text);
        let lines = Lines {
            text: &text,
            index: &index,
            encoding: self.client.encoding,
        };
        // The error's column counts characters: walk them to a byte offset.
        let line_start = index.line_start(line.saturating_sub(1));
        let offset = text[line_start..]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(text.len(), |(i, _)| line_start + i);
        let span =
            crate::source::Span::new(offset, index.line_span(&text, index.line_of(offset)).end);
        if let Some(uri) = path_to_uri(&path) {
            let diagnostic = convert::syntax_error(
                &format!("{message} (layerwise lints with its defaults until this is fixed)"),
                span,
                &lines,
            );
            self.publish(uri, vec![diagnostic], None);
        }
        let shown = format!("layerwise: {error}");
        if self.shown.insert(shown.clone()) {
            self.send(Notification::new(
                ShowMessage::METHOD.to_string(),
                ShowMessageParams {
                    typ: MessageType::ERROR,
                    message: shown,
                },
            ));
        }
        self.config_errors.insert(path, message);
    }

    fn clear_config_error(&mut self, path: &Path) {
        let path = absolute(path);
        if self.config_errors.remove(&path).is_some()
            && let Some(uri) = path_to_uri(&path)
        {
            self.publish(uri, Vec::new(), None);
        }
    }

    /// Lints a document: the diagnostics to publish, and the lint they come from, kept for
    /// the code actions.
    fn analyse(
        &mut self,
        uri: &Uri,
        doc_path: Option<&Path>,
        text: &str,
        version: i32,
    ) -> (Vec<lsp::Diagnostic>, Option<Analysis>) {
        let mut options = self.lint_options(doc_path);
        if doc_path.is_some_and(|p| options.config.as_ref().is_some_and(|c| c.is_excluded(p))) {
            return (Vec::new(), None);
        }
        options.scripts = self.docs.get(uri).map(|d| Arc::clone(&d.scripts));
        let df = Dockerfile::parse(text);
        let findings = lint(&df, &options);
        if let Some(scripts) = &options.scripts {
            scripts.sweep();
        }
        let lines = Lines {
            text: df.text(),
            index: df.lines(),
            encoding: self.client.encoding,
        };
        let mut out: Vec<lsp::Diagnostic> = df
            .build_errors()
            .iter()
            .map(|e| convert::syntax_error(&e.message, e.span, &lines))
            .collect();
        out.extend(findings.iter().enumerate().map(|(finding, d)| {
            convert::diagnostic(d, &lines, uri, &DiagnosticData { version, finding })
        }));
        out.sort_by_key(|d| (d.range.start.line, d.range.start.character));
        let analysis = Analysis {
            version,
            df,
            findings,
        };
        (out, Some(analysis))
    }

    fn code_actions(&mut self, params: &CodeActionParams) -> Vec<lsp::CodeActionOrCommand> {
        self.publish_dirty();
        let uri = &params.text_document.uri;
        let only = params.context.only.as_deref();
        // "Fix all" lints again, pass after pass; the quickfixes only read the diagnostics.
        let fixed = match self.docs.get(uri) {
            Some(doc) if doc.is_dockerfile() => {
                let (path, text) = (doc.path.clone(), doc.text.clone());
                if actions::wanted(only, &actions::fix_all_kind()) {
                    let options = self.lint_options(path.as_deref());
                    let excluded = path
                        .as_deref()
                        .is_some_and(|p| options.config.as_ref().is_some_and(|c| c.is_excluded(p)));
                    (!excluded).then(|| fix_text(&text, &options, Safety::Safe))
                } else {
                    None
                }
            }
            _ => return Vec::new(),
        };
        let Some(doc) = self.docs.get(uri) else {
            return Vec::new();
        };
        let target = Target {
            uri,
            doc,
            docs: &self.docs,
            client: &self.client,
        };
        let mut out = actions::quickfixes(&target, &params.context.diagnostics, only);
        if let Some(fixed) = fixed {
            out.extend(actions::fix_all(&target, &fixed, self.client.encoding));
        }
        out
    }
}

/// Config paths come back relative to the current folder; the editor's are absolute.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
