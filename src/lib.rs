//! helpdesk: a self-hosted office helpdesk in one binary.
//!
//! Layers, outermost first: the CLI (`main.rs`, [`cli`]) and the server runtime ([`server`])
//! call the [`service`] layer, which enforces every rule using [`domain`] types and writes
//! through [`store`] (redb). [`archive`] writes and restores snapshot archives; [`config`]
//! loads and validates `config.toml`. See `ARCHITECTURE.md`.

pub mod archive;
pub mod bot;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod domain;
pub mod import;
pub mod jobs;
pub mod logging;
pub mod notify;
pub mod onec;
pub mod search;
pub mod server;
pub mod service;
pub mod store;
pub mod web;
