//! The emulated portal over real HTTP, one test binary for every area (one link instead of
//! seven): the binary, transport and auth, `batch`, exports, limits and faults, user fields,
//! pipelines and directories, the portal-level methods, and the seed documentation's examples
//! replayed.

mod common;

mod batch;
mod cli;
mod conformance_seed;
mod contacts;
mod currency;
mod entities;
mod export;
mod items;
mod limits_and_faults;
mod multifields;
mod pipelines;
mod product_rows;
mod reference;
mod seeding;
mod state;
mod system;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod userfields;
