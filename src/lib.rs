//! berth: host containers as systemd scopes.
//!
//! Data flows one way: a [`definition`] is found and validated, a plan is made from it
//! ([`unit`]), and only then is anything done on the host.

pub mod apply;
pub mod cli;
pub mod config;
pub mod container;
pub mod definition;
pub mod diagnostic;
pub mod fault;
pub mod helper;
pub mod image;
pub mod lifecycle;
pub mod name;
pub mod security;
pub mod store;
pub mod systemd;
#[cfg(test)]
mod testing;
pub mod unit;
