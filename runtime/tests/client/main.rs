//! The client's integration tests against the emulator over HTTP, in one test binary (one
//! link of the whole stack instead of one per file). `client_secrets.rs` stays a binary of
//! its own: it captures traces, which tests on other threads would interfere with.

#[path = "../common/mod.rs"]
mod common;

mod crud;
mod entities;
mod events;
mod export;
mod faults;
mod hostile;
#[macro_use] // the test-entity macro of items/entities.rs, also used by relations
mod items;
mod limits;
mod list;
mod oauth;
mod parallel;
mod pipelines;
mod progress;
mod projection;
mod readme;
mod relations;
mod roundtrip;
