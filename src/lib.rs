//! Erasure: a console to delete, anonymize and suppress customer data.

pub mod accounts;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod erasure;
pub mod format;
pub mod mail;
pub mod memory;
pub mod password;
pub mod propagation;
pub mod requests;
pub mod retention;
pub mod secret;
pub mod seed;
pub mod startup;
pub mod store;
pub mod team;
pub mod telemetry;
pub mod totp;
pub mod web;
