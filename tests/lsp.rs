//! `layerwise lsp` driven over its protocol, as an editor drives it: the real binary, framed
//! JSON-RPC over its stdin and stdout.

mod lsp_client;

use std::path::Path;
use std::process::Command;

use lsp_client::{Client, apply_edits, edits_for, file_uri, offset};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_layerwise");

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/lsp")
        .join(name);
    std::fs::read_to_string(path).expect("fixture")
}

/// What an editor like VS Code announces: versioned edits, file creation, UTF-16 only.
fn editor_caps() -> Value {
    json!({
        "workspace": {
            "workspaceEdit": {"documentChanges": true, "resourceOperations": ["create", "rename", "delete"]},
            "didChangeWatchedFiles": {"dynamicRegistration": true}
        },
        "textDocument": {"publishDiagnostics": {"relatedInformation": true}},
        "general": {"positionEncodings": ["utf-16"]}
    })
}

/// A scratch folder holding `Dockerfile` with `text` (and a `.dockerignore`, so that the
/// context rules stay quiet unless a test wants them).
fn workspace(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, text).expect("write");
    std::fs::write(dir.path().join(".dockerignore"), ".git\n").expect("write");
    (dir, file_uri(&path))
}

fn codes(diagnostics: &Value) -> Vec<String> {
    let mut codes: Vec<String> = diagnostics["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("(parse error)").to_string())
        .collect();
    codes.sort();
    codes
}

fn find<'a>(diagnostics: &'a Value, code: &str) -> &'a Value {
    diagnostics["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {diagnostics}"))
}

fn code_actions(client: &mut Client, uri: &str, diagnostic: &Value) -> Vec<Value> {
    let response = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": diagnostic["range"],
            "context": {"diagnostics": [diagnostic]}
        }),
    );
    response["result"].as_array().cloned().unwrap_or_default()
}

fn titled<'a>(actions: &'a [Value], prefix: &str) -> &'a Value {
    actions
        .iter()
        .find(|a| a["title"].as_str().is_some_and(|t| t.starts_with(prefix)))
        .unwrap_or_else(|| panic!("no action {prefix:?} in {actions:?}"))
}

/// The findings `layerwise lint --format json` reports for a text: rule, 1-based line, and
/// 1-based character columns.
fn cli_findings(text: &str) -> Vec<(String, u64, u64, u64, u64)> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("Dockerfile"), text).expect("write");
    std::fs::write(dir.path().join(".dockerignore"), ".git\n").expect("write");
    let out = Command::new(BIN)
        .args(["lint", "--format", "json", "Dockerfile"])
        .current_dir(dir.path())
        .output()
        .expect("layerwise lint runs");
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let n = |k: &str| f[k].as_u64().expect(k);
            (
                f["rule"].as_str().expect("rule").to_string(),
                n("line"),
                n("column"),
                n("end_line"),
                n("end_column"),
            )
        })
        .collect()
}

/// A 1-based line and character column, as the LSP position of `utf16` units or bytes.
fn lsp_position(text: &str, line: u64, column: u64, utf16: bool) -> Value {
    let line_text = text.split('\n').nth(line as usize - 1).expect("line");
    let units: usize = line_text
        .chars()
        .take(column as usize - 1)
        .map(|c| if utf16 { c.len_utf16() } else { c.len_utf8() })
        .sum();
    json!({"line": line - 1, "character": units})
}

fn assert_ranges_match_the_cli(text: &str, published: &Value, utf16: bool) {
    for (rule, line, column, end_line, end_column) in cli_findings(text) {
        let d = find(published, &rule);
        assert_eq!(
            d["range"],
            json!({
                "start": lsp_position(text, line, column, utf16),
                "end": lsp_position(text, end_line, end_column, utf16)
            }),
            "{rule}"
        );
    }
}

#[test]
fn a_session_from_initialize_to_exit() {
    let text = fixture("wasteful.Dockerfile");
    let (dir, uri) = workspace(&text);
    let mut client = Client::spawn(BIN, dir.path());
    let init = client.initialize(editor_caps());
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-16");
    assert_eq!(init["capabilities"]["textDocumentSync"]["change"], 2);
    assert_eq!(init["serverInfo"]["name"], "layerwise");

    client.open(&uri, &text);
    let published = client.diagnostics(&uri);
    assert_eq!(published["version"], 1);
    assert_eq!(codes(&published), ["LW101", "LW102", "LW104"]);
    // Line 2 has `𝄞` (two UTF-16 units) and `é` before the spans: the ranges count units.
    assert_ranges_match_the_cli(&text, &published, true);
    let lw102 = find(&published, "LW102");
    assert_eq!(lw102["range"]["start"], json!({"line": 1, "character": 37}));
    assert_eq!(lw102["source"], "layerwise");
    assert_eq!(lw102["severity"], 2);
    assert!(
        lw102["codeDescription"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/rules/LW102.md"),
        "{lw102}"
    );

    // The quickfix is made from the finding the diagnostic's data names; applying it and
    // sending the new text clears it.
    let actions = code_actions(&mut client, &uri, lw102);
    let fix = titled(&actions, "Fix LW102");
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["isPreferred"], true);
    let change = &fix["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"], json!({"uri": uri, "version": 1}));
    let fixed = apply_edits(&text, &edits_for(&fix["edit"], &uri), true);
    assert!(
        fixed.contains("apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*"),
        "{fixed}"
    );
    client.change_full(&uri, 2, &fixed);
    let published = client.diagnostics(&uri);
    assert_eq!(published["version"], 2);
    assert_eq!(codes(&published), ["LW101", "LW104"]);

    // An unsafe fix is offered, not preferred.
    let lw104 = find(&published, "LW104").clone();
    let actions = code_actions(&mut client, &uri, &lw104);
    let unsafe_fix = titled(&actions, "Fix LW104 (unsafe)");
    assert_eq!(unsafe_fix["isPreferred"], false);

    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    let cleared = client.diagnostics(&uri);
    assert_eq!(cleared["diagnostics"], json!([]));
    let status = client.shutdown();
    assert_eq!(status.code(), Some(0), "{}", client.stderr());
    assert!(!client.stderr().contains("panicked"), "{}", client.stderr());
}

#[test]
fn fixes_are_converted_when_asked_for_and_only_for_the_version_they_were_made_for() {
    let text = fixture("wasteful.Dockerfile");
    let (dir, uri) = workspace(&text);
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.open(&uri, &text);
    let published = client.diagnostics(&uri);
    let lw102 = find(&published, "LW102").clone();
    // Each diagnostic carries which finding it is, not its fix and ignore edits.
    let data = lw102["data"].as_object().expect("data");
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["finding", "version"], "{lw102}");

    // A client that does not send `data` back gets the fix of the finding at that place.
    let mut bare = lw102.clone();
    bare.as_object_mut().unwrap().remove("data");
    let actions = code_actions(&mut client, &uri, &bare);
    let fix = titled(&actions, "Fix LW102");
    let fixed = apply_edits(&text, &edits_for(&fix["edit"], &uri), true);
    assert!(fixed.contains("&& rm -rf /var/lib/apt/lists/*"), "{fixed}");
    titled(&actions, "Ignore LW102 for this instruction");
    titled(&actions, "Ignore LW102 in this file");

    // After a change, the old diagnostic's edits would land in the wrong place: no quickfix
    // (fix all, made afresh for the new text, is still there).
    let changed = format!("# a new first line\n{text}");
    client.change_full(&uri, 2, &changed);
    client.diagnostics(&uri);
    let actions = code_actions(&mut client, &uri, &lw102);
    assert!(
        actions.iter().all(|a| a["kind"] != "quickfix"),
        "{actions:?}"
    );
    titled(&actions, "Fix all");
    assert_eq!(client.shutdown().code(), Some(0), "{}", client.stderr());
}

#[test]
fn utf8_is_used_when_the_client_offers_it() {
    let text = fixture("wasteful.Dockerfile");
    let (dir, uri) = workspace(&text);
    let mut client = Client::spawn(BIN, dir.path());
    let init = client.initialize(json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}}));
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-8");
    client.open(&uri, &text);
    let published = client.diagnostics(&uri);
    assert_ranges_match_the_cli(&text, &published, false);
    // `𝄞` is 4 bytes and `é` 2: 3 more than in UTF-16.
    let lw102 = find(&published, "LW102");
    assert_eq!(lw102["range"]["start"], json!({"line": 1, "character": 40}));
    // Without documentChanges support, the edit comes as plain `changes`.
    let actions = code_actions(&mut client, &uri, lw102);
    let fix = titled(&actions, "Fix LW102");
    assert!(fix["edit"]["documentChanges"].is_null(), "{fix}");
    let fixed = apply_edits(&text, &edits_for(&fix["edit"], &uri), false);
    client.change_full(&uri, 2, &fixed);
    assert_eq!(
        codes(&client.diagnostics(&uri)),
        ["LW101", "LW104"],
        "{fixed}"
    );
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn incremental_changes_are_applied_exactly() {
    let (dir, uri) = workspace("FROM debian:bookworm-slim\n");
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.open(&uri, "FROM debian:bookworm-slim\n");
    assert_eq!(codes(&client.diagnostics(&uri)), Vec::<String>::new());
    // Typed in pieces: a line with a 2-unit character, then text after that character, then
    // a replacement inside the first line.
    let edits = [
        ((1, 0), (1, 0), "RUN echo \u{1d11e}\n"),
        (
            (1, 11),
            (1, 11),
            " && apt-get update && apt-get install -y curl",
        ),
        ((0, 5), (0, 11), "ubuntu"),
    ];
    for (version, (start, end, text)) in edits.iter().enumerate() {
        client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version + 2},
                "contentChanges": [{
                    "range": {
                        "start": {"line": start.0, "character": start.1},
                        "end": {"line": end.0, "character": end.1}
                    },
                    "text": text
                }]
            }),
        );
    }
    let expected = "FROM ubuntu:bookworm-slim\nRUN echo \u{1d11e} && apt-get update && apt-get install -y curl\n";
    let published = client.diagnostics_until(&uri, |p| p["version"] == 4);
    assert_eq!(codes(&published), ["LW102", "LW104"]);
    assert_ranges_match_the_cli(expected, &published, true);
    // Fix all: the edits turn the server's text into the fixed one.
    let response = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": [], "only": ["source.fixAll"]}
        }),
    );
    let actions = response["result"].as_array().expect("actions").clone();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["kind"], "source.fixAll.layerwise");
    let fixed = apply_edits(expected, &edits_for(&actions[0]["edit"], &uri), true);
    assert_eq!(
        fixed,
        "FROM ubuntu:bookworm-slim\nRUN echo \u{1d11e} && apt-get update && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n"
    );
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn parse_errors_are_diagnostics() {
    let text = "FROM debian\nRUN <<EOF\necho unterminated\n";
    let (dir, uri) = workspace(text);
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.open(&uri, text);
    let published = client.diagnostics(&uri);
    let errors: Vec<&Value> = published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == 1 && d["code"].is_null())
        .collect();
    assert_eq!(errors.len(), 1, "{published}");
    assert_eq!(errors[0]["source"], "layerwise");
    assert_eq!(errors[0]["range"]["start"]["line"], 1);
    client.change_full(&uri, 2, "FROM debian\nRUN <<EOF\necho done\nEOF\n");
    let published = client.diagnostics(&uri);
    assert_eq!(published["diagnostics"], json!([]));
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn a_fix_that_writes_a_dockerignore_creates_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "FROM node:20\nWORKDIR /app\nCOPY . .\n";
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, text).expect("write");
    std::fs::write(dir.path().join(".env"), "TOKEN=1\n").expect("write");
    let uri = file_uri(&path);
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.open(&uri, text);
    let published = client.diagnostics(&uri);
    let lw401 = find(&published, "LW401").clone();
    let actions = code_actions(&mut client, &uri, &lw401);
    let fix = titled(&actions, "Fix LW401 (unsafe)");
    let changes = fix["edit"]["documentChanges"]
        .as_array()
        .expect("documentChanges");
    let ignore_uri = file_uri(&dir.path().join(".dockerignore"));
    assert_eq!(changes[0]["kind"], "create");
    assert_eq!(changes[0]["uri"], ignore_uri);
    let created = apply_edits("", &edits_for(&fix["edit"], &ignore_uri), true);
    assert!(created.lines().any(|l| l == ".env"), "{created}");
    // The editor writes the file; the watcher tells the server, which re-lints.
    std::fs::write(dir.path().join(".dockerignore"), &created).expect("write");
    assert!(
        client
            .server_requests
            .iter()
            .any(|r| r["method"] == "client/registerCapability"),
        "{:?}",
        client.server_requests
    );
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": ignore_uri, "type": 1}]}),
    );
    let published = client.diagnostics(&uri);
    assert!(
        !codes(&published).contains(&"LW401".to_string()),
        "{published}"
    );
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn clients_that_cannot_create_files_get_no_create_fix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "FROM node:20\nCOPY . .\n";
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, text).expect("write");
    std::fs::write(dir.path().join(".env"), "TOKEN=1\n").expect("write");
    let uri = file_uri(&path);
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(json!({}));
    client.open(&uri, text);
    let published = client.diagnostics(&uri);
    let actions = code_actions(&mut client, &uri, find(&published, "LW401"));
    assert!(
        actions
            .iter()
            .all(|a| !a["title"].as_str().unwrap().starts_with("Fix ")),
        "{actions:?}"
    );
    titled(&actions, "Ignore LW401");
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn an_open_dockerignore_is_read_from_the_editor_not_the_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "FROM node:20\nCOPY . .\n";
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, text).expect("write");
    std::fs::create_dir(dir.path().join("node_modules")).expect("mkdir");
    let ignore = dir.path().join(".dockerignore");
    std::fs::write(&ignore, "# nothing yet\n").expect("write");
    let (uri, ignore_uri) = (file_uri(&path), file_uri(&ignore));
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.open(&uri, text);
    assert_eq!(codes(&client.diagnostics(&uri)), ["LW402"]);
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": ignore_uri, "languageId": "ignore", "version": 1, "text": "# nothing yet\n"}}),
    );
    client.change_full(&ignore_uri, 2, "node_modules\n");
    // The unsaved edit re-lints the open Dockerfile; the ignore file gets no diagnostics.
    let published = client.diagnostics_until(&uri, |p| p["diagnostics"] == json!([]));
    assert_eq!(codes(&published), Vec::<String>::new());
    let others = client.drain();
    assert!(
        others.iter().all(|m| m["params"]["uri"] != ignore_uri),
        "{others:?}"
    );
    assert_eq!(client.shutdown().code(), Some(0));
}

// Robustness: the server survives what a broken or careless client sends.

#[test]
fn malformed_json_gets_a_parse_error_and_the_server_goes_on() {
    let (dir, uri) = workspace("FROM debian\n");
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.send_raw(b"Content-Length: 9\r\n\r\n{\"id\": 1,");
    let error = client.next_matching("a parse error", |m| m["error"]["code"] == -32700);
    assert_eq!(error["id"], Value::Null);
    // JSON that is not a message, with an id: an invalid request.
    client.send(&json!({"jsonrpc": "2.0", "id": 99}));
    let error = client.next_matching("an invalid request", |m| m["id"] == 99);
    assert_eq!(error["error"]["code"], -32600);
    client.open(
        &uri,
        "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
    );
    assert_eq!(codes(&client.diagnostics(&uri)), ["LW102", "LW104"]);
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn a_header_that_lies_about_the_length_costs_at_most_that_message() {
    let (dir, uri) = workspace("FROM debian\n");
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    let open = json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "dockerfile", "version": 1, "text": "FROM debian\nRUN apt-get update && apt-get install -y curl\n"}}})
    .to_string();
    // Too long: the body runs into the next frame, which is still read.
    let ping = json!({"jsonrpc": "2.0", "id": 50, "method": "layerwise/nothing"}).to_string();
    let next = format!("Content-Length: {}\r\n\r\n{open}", open.len());
    client.send_raw(
        format!(
            "Content-Length: {}\r\n\r\n{ping}{next}",
            ping.len() + next.len() - 10
        )
        .as_bytes(),
    );
    let answer = client.next_matching("the answer to the long frame", |m| m["id"] == 50);
    assert_eq!(answer["error"]["code"], -32601);
    assert_eq!(codes(&client.diagnostics(&uri)), ["LW102", "LW104"]);
    // Too short: that message is lost, the next one is read.
    client.send_raw(format!("Content-Length: 12\r\n\r\n{ping}").as_bytes());
    let id = client.send_request("layerwise/nothing", json!({}));
    assert_eq!(client.response(id)["error"]["code"], -32601);
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn unknown_methods_and_requests_out_of_turn() {
    let (dir, _) = workspace("FROM debian\n");
    let mut client = Client::spawn(BIN, dir.path());
    let early = client.request("textDocument/codeAction", json!({}));
    assert_eq!(early["error"]["code"], -32002, "{early}");
    client.initialize(editor_caps());
    let unknown = client.request("textDocument/hover", json!({}));
    assert_eq!(unknown["error"]["code"], -32601);
    // An unknown notification gets no answer; the next request is answered first.
    client.notify("$/somethingNew", json!({"x": 1}));
    let bad_params = client.request("textDocument/codeAction", json!({"nonsense": true}));
    assert_eq!(bad_params["error"]["code"], -32602);
    assert_eq!(client.drain(), Vec::<Value>::new());
    let again = client.request("initialize", json!({"capabilities": {}}));
    assert_eq!(again["error"]["code"], -32600);
    let response = client.request("shutdown", Value::Null);
    assert_eq!(response["result"], Value::Null);
    let after = client.request("textDocument/codeAction", json!({}));
    assert_eq!(after["error"]["code"], -32600);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait_exit().code(), Some(0));
}

#[test]
fn out_of_range_positions_clamp() {
    let (dir, uri) = workspace("FROM debian\n");
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.open(&uri, "FROM debian\n");
    client.diagnostics(&uri);
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [{
                "range": {"start": {"line": 0, "character": 400}, "end": {"line": 90, "character": 4294967295u64}},
                "text": "\nRUN apt-get update && apt-get install -y curl\n"
            }]
        }),
    );
    assert_eq!(codes(&client.diagnostics(&uri)), ["LW102", "LW104"]);
    let response = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": {"start": {"line": 1000, "character": 0}, "end": {"line": 0, "character": 1000}},
            "context": {"diagnostics": []}
        }),
    );
    assert!(response["result"].is_array(), "{response}");
    assert_eq!(client.shutdown().code(), Some(0));
    assert!(!client.stderr().contains("panicked"), "{}", client.stderr());
}

#[test]
fn closed_documents_are_forgotten() {
    let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\n";
    let (dir, uri) = workspace(text);
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.open(&uri, text);
    let published = client.diagnostics(&uri);
    let lw102 = find(&published, "LW102").clone();
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(client.diagnostics(&uri)["diagnostics"], json!([]));
    // Nothing is left of it: no actions, and a change to it is ignored (no diagnostics).
    assert_eq!(code_actions(&mut client, &uri, &lw102), Vec::<Value>::new());
    client.change_full(&uri, 2, text);
    assert_eq!(client.drain(), Vec::<Value>::new());
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn a_client_that_disappears_ends_the_server() {
    let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\n";
    let (dir, uri) = workspace(text);
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.open(&uri, text);
    client.diagnostics(&uri);
    client.close_stdin();
    // The protocol's code for an end without shutdown.
    assert_eq!(client.wait_exit().code(), Some(1), "{}", client.stderr());
    assert!(!client.stderr().contains("panicked"), "{}", client.stderr());
}

#[test]
fn exit_without_shutdown_is_exit_code_1() {
    let (dir, _) = workspace("FROM debian\n");
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.notify("exit", Value::Null);
    assert_eq!(client.wait_exit().code(), Some(1));
}

#[test]
fn offsets_helper_counts_units() {
    // The tests' own position arithmetic, checked once.
    let text = "a\n\u{1d11e}b\n";
    assert_eq!(offset(text, &json!({"line": 1, "character": 2}), true), 6);
    assert_eq!(offset(text, &json!({"line": 1, "character": 4}), false), 6);
}

// Config and ignore comments.

#[test]
fn ignore_this_rule_here_makes_the_diagnostic_go() {
    let text = fixture("wasteful.Dockerfile");
    let (dir, uri) = workspace(&text);
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.open(&uri, &text);
    let published = client.diagnostics(&uri);
    let actions = code_actions(&mut client, &uri, find(&published, "LW102"));
    let ignore = titled(&actions, "Ignore LW102 for this instruction");
    let ignored = apply_edits(&text, &edits_for(&ignore["edit"], &uri), true);
    assert!(
        ignored.contains("FROM debian:bookworm-slim\n# layerwise ignore=LW102\nRUN echo"),
        "{ignored}"
    );
    client.change_full(&uri, 2, &ignored);
    let published = client.diagnostics(&uri);
    // Gone, and the comment is used (no LW902 "suppresses nothing").
    assert_eq!(codes(&published), ["LW101", "LW104"]);
    // A second rule joins the same comment.
    let actions = code_actions(&mut client, &uri, find(&published, "LW104"));
    let ignore = titled(&actions, "Ignore LW104 for this instruction");
    let ignored = apply_edits(&ignored, &edits_for(&ignore["edit"], &uri), true);
    assert!(
        ignored.contains("# layerwise ignore=LW102,LW104\n"),
        "{ignored}"
    );
    client.change_full(&uri, 3, &ignored);
    let published = client.diagnostics(&uri);
    assert_eq!(codes(&published), ["LW101"]);
    // For the whole file.
    let actions = code_actions(&mut client, &uri, find(&published, "LW101"));
    let ignore = titled(&actions, "Ignore LW101 in this file");
    let ignored = apply_edits(&ignored, &edits_for(&ignore["edit"], &uri), true);
    assert!(
        ignored.starts_with("# layerwise global ignore=LW101\nFROM"),
        "{ignored}"
    );
    client.change_full(&uri, 4, &ignored);
    assert_eq!(client.diagnostics(&uri)["diagnostics"], json!([]));
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn the_config_file_is_honoured_and_reloaded_when_it_changes() {
    let text = fixture("wasteful.Dockerfile");
    let (dir, uri) = workspace(&text);
    // The repository root: the config search stops here.
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir");
    let config = dir.path().join(".layerwise.yaml");
    let config_uri = file_uri(&config);
    std::fs::write(&config, "ignore: [LW104]\n").expect("write");
    let mut client = Client::spawn(BIN, dir.path());
    client.initialize(editor_caps());
    client.open(&uri, &text);
    assert_eq!(codes(&client.diagnostics(&uri)), ["LW101", "LW102"]);

    let changed = |client: &mut Client| {
        client.notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": config_uri, "type": 2}]}),
        );
    };
    std::fs::write(&config, "severity:\n  LW101: error\n").expect("write");
    changed(&mut client);
    let published = client.diagnostics(&uri);
    assert_eq!(codes(&published), ["LW101", "LW102", "LW104"]);
    assert_eq!(find(&published, "LW101")["severity"], 1);

    // A broken config: its error is shown on the config file and in a message; the
    // Dockerfile is linted with the defaults meanwhile.
    std::fs::write(&config, "severity:\n  LW101: loud\n").expect("write");
    changed(&mut client);
    let on_config = client.diagnostics(&config_uri);
    let error = &on_config["diagnostics"][0];
    assert_eq!(error["severity"], 1);
    assert_eq!(
        error["range"]["start"],
        json!({"line": 1, "character": 9}),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("loud"),
        "{error}"
    );
    let message = client.next_matching("a message", |m| m["method"] == "window/showMessage");
    assert_eq!(message["params"]["type"], 1);
    assert_eq!(
        find(&client.diagnostics(&uri), "LW101")["severity"],
        2,
        "defaults while broken"
    );
    // Fixed, and saved from the editor: the error goes.
    std::fs::write(&config, "exclude: [Dockerfile]\n").expect("write");
    client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": config_uri}}),
    );
    assert_eq!(client.diagnostics(&config_uri)["diagnostics"], json!([]));
    // `exclude` leaves the file unlinted.
    assert_eq!(client.diagnostics(&uri)["diagnostics"], json!([]));
    assert_eq!(client.shutdown().code(), Some(0));
}
