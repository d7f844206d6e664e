//! Erasure: a console to delete, anonymize and suppress customer data.

pub mod accounts;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod mail;
pub mod password;
pub mod secret;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod totp;
pub mod web;
