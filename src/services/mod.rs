//! Work that spans the database and the domain outside a single request: changing the
//! partner register, re-screening cases after a change, and the review workflow's mail.

pub mod notifications;
pub mod register;
pub mod rescreen;
