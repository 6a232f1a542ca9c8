//! `layerwise lsp` from a real editor: Neovim's built-in LSP client, headless. Neovim comes
//! from Debian's packages (`apt-get install neovim`); without it the test skips with a reason,
//! and under CI (which installs it) it fails instead.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn nvim() -> Option<String> {
    let found = Command::new("nvim")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        });
    if found.is_none() {
        common::skip("nvim is not installed (apt-get install neovim)");
    }
    found
}

/// The first Lua block of the README's Neovim section: the recipe for Neovim 0.7 and later.
fn readme_recipe(manifest: &Path) -> String {
    let readme = std::fs::read_to_string(manifest.join("README.md")).expect("README");
    let section = &readme[readme.find("### Neovim").expect("a Neovim section")..];
    let start = section.find("```lua\n").expect("a Lua block") + "```lua\n".len();
    let end = start + section[start..].find("```").expect("the block ends");
    let recipe = section[start..end].to_string();
    // Neovim 0.7 (Debian 12's, which CI runs) has no `vim.fs`: the recipe must not need it.
    assert!(!recipe.contains("vim.fs."), "{recipe}");
    recipe
}

#[test]
fn neovim_shows_the_diagnostics_and_applies_a_quickfix_and_an_ignore() {
    let Some(version) = nvim() else { return };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("Dockerfile");
    let text = std::fs::read_to_string(manifest.join("fixtures/lsp/wasteful.Dockerfile"))
        .expect("fixture");
    std::fs::write(&file, &text).expect("write");
    std::fs::write(dir.path().join(".dockerignore"), ".git\n").expect("write");
    let out = dir.path().join("result.json");
    // The README's recipe as written, with `layerwise` found on PATH as a user's would be.
    let recipe = dir.path().join("recipe.lua");
    std::fs::write(&recipe, readme_recipe(manifest)).expect("write");
    let bin = Path::new(env!("CARGO_BIN_EXE_layerwise"));
    let path = std::env::join_paths(
        std::iter::once(bin.parent().expect("bin dir").to_path_buf()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .expect("PATH");
    let status = Command::new("nvim")
        .args(["--headless", "-n", "-i", "NONE", "--noplugin", "-u"])
        .arg(manifest.join("fixtures/lsp/nvim.lua"))
        .env("PATH", path)
        .env("LW_RECIPE", &recipe)
        .env("LW_FILE", &file)
        .env("LW_OUT", &out)
        .env("XDG_STATE_HOME", dir.path())
        .env("XDG_CACHE_HOME", dir.path())
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("nvim runs");
    let written = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        status.status.success(),
        "{version}: {written}\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let result: Value = serde_json::from_str(&written).expect("JSON from the Lua script");
    assert_eq!(result["filetype"], "dockerfile");
    let codes = |key: &str| -> Vec<String> {
        result[key]
            .as_array()
            .expect(key)
            .iter()
            .map(|d| d["code"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(codes("initial"), ["LW101", "LW102", "LW104"], "{result}");
    // Neovim keeps byte columns: `𝄞` (4 bytes, 2 UTF-16 units) and `é` (2 bytes) come before
    // the span, so the UTF-16 column 37 the server sent is byte 40 here.
    let lw102 = &result["initial"][1];
    assert_eq!(
        (&lw102["lnum"], &lw102["col"]),
        (&1.into(), &40.into()),
        "{lw102}"
    );
    assert_eq!(lw102["source"], "layerwise");
    assert_eq!(result["offset_encoding"], "utf-16");
    assert!(
        result["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().starts_with("Ignore LW102")),
        "{result}"
    );
    assert_eq!(codes("after_fix"), ["LW101", "LW104"], "{result}");
    assert_eq!(
        result["text"],
        text.replace(
            "apt-get install -y curl\n",
            "apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n"
        )
    );
    assert_eq!(codes("after_ignore"), ["LW101"], "{result}");
    assert!(
        result["ignored_text"]
            .as_str()
            .unwrap()
            .starts_with("FROM debian:bookworm-slim\n# layerwise ignore=LW104\nRUN echo"),
        "{result}"
    );
    // Neovim's stop_client sends shutdown and exit: the server ends with 0.
    assert_eq!(result["server_exit"], 0, "{result}");
}
