//! Work that spans the database and the domain outside a single request: changing the
//! partner register and re-screening cases after a change.

pub mod register;
pub mod rescreen;
