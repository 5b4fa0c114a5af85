//! The conformance checklist of spec/rest-api.md §11, run against the real
//! router (`im_api::router` over a `Manager` with SQLite in memory and the
//! Dummy cloud) on a loopback port. Item numbers are in each test; the
//! reference's behaviour is asserted except where docs/compat.md ("REST API")
//! records a deviation, which is then asserted instead.
//!
//! Skipped: 146–147 (TOSCA bodies: a later issue; the interim 400 is tested).

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod auth;
mod changes;
mod clouds_stats;
mod common;
mod config;
mod create;
mod owners;
mod reads;
mod server;
mod vms;
