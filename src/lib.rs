//! layerwise: finds what wastes layers, bytes and cache in Dockerfiles, rewrites it, and measures
//! the gain.
//!
//! The pipeline, one module per arrow: source text → [`syntax`] (parse) → [`rules`] (lint) →
//! [`diagnostic`]s with fixes → reports.

pub mod allocator;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod contexts;
pub mod diagnostic;
pub mod discover;
pub mod docker;
pub mod dockerignore;
pub mod findings;
pub mod fix;
pub mod fixer;
pub mod fsutil;
pub mod hadolint;
pub mod inspect;
pub mod knowledge;
pub mod limits;
pub mod lint;
pub mod lsp;
pub mod model;
pub mod picture;
pub mod report;
pub mod rules;
pub mod shell;
pub mod source;
pub mod suppress;
pub mod syntax;
pub mod text;
pub mod unixpath;
