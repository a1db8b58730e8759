//! The wire codecs, in one test binary: table tests of every form (`wire`), random JSON
//! through every codec (`fuzz`), the seed documentation's examples (`seed`), and the value
//! types' text forms (`types`).

mod fuzz;
mod multifield;
mod seed;
mod types;
mod wire;

#[path = "../support/color.rs"]
mod color;
