//! triage: risk-benefit triage of EU-China research collaborations.
//!
//! Data flows one way: `web` -> `domain` and `db`; `domain` depends on nothing of ours.

pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod mail;
pub mod screening;
pub mod services;
pub mod simulation;
pub mod state;
pub mod storage;
pub mod web;

pub use state::AppState;
pub use web::app;
