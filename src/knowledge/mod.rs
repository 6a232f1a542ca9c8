//! What layerwise knows about the tools a Dockerfile runs: shells, package managers (their
//! commands, caches and index paths, the options and variables that turn caches off) and the
//! commands that create, remove or change files. Rules, fixes, `measure` and `inspect` ask here;
//! none keeps a table of its own.

pub mod managers;
pub mod programs;
pub mod shells;
pub mod toolchains;
pub mod tools;
