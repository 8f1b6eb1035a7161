//! Partner screening: the register as sourced data, and entity resolution of a typed
//! partner name against it. Pure: no I/O, no database, no web types.
//!
//! - [`entry`]: an organisation with its names, parent and flags, each flag with its
//!   own source, address and date.
//! - [`normalise`]: typed text cut into comparable words and Chinese characters.
//! - [`vocabulary`]: filler words, abbreviations, and the words that carry identity.
//! - [`index`] and [`matcher`]: the indexed register and the screening itself, with
//!   three outcomes (match, possible match, no match) and the reason for each.
//! - [`formats`]: the curated register, the US Consolidated Screening List and
//!   OpenSanctions files.
//! - [`diff`]: what an import would change.

pub mod diff;
pub mod entry;
pub mod formats;
pub mod index;
pub mod matcher;
pub mod normalise;
pub mod vocabulary;

pub use entry::{Entry, Flag, FlagKind, KNOWN_KINDS, List, Name, NameKind};
pub use index::Register;
pub use matcher::{Certainty, Hit, How, Outcome, Screening};
pub use normalise::grouping_key;

#[cfg(test)]
mod tests;
