//! The eflow-image pipeline and the commands built on it.
//!
//! [`stages`] holds the pipeline, one module per stage in the order data flows; each hands
//! a typed result to the next. [`commands`] holds what the CLI runs: `build` drives the
//! stages, the others (lock, inspect, convert, verify, the VM runner) read or produce files
//! around them. The on-disk formats live in their own crates under `builder/formats/` and
//! know nothing of recipes or images.

pub mod commands;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod stages;
