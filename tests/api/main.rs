//! Black-box tests: the real server over HTTP, on SQLite and PostgreSQL.

mod helpers;

mod account_power;
mod audit;
mod audit_actions;
mod audit_tamper;
mod authorization;
mod cli;
mod customers;
mod delete_all;
mod erasure;
mod foundation;
mod guessing;
mod hostile_input;
mod import;
mod import_previews;
mod journal;
mod layering;
mod list_counts;
mod log_secrets;
mod masking;
mod nested_attributes;
mod owner_code;
mod request_safety;
mod residue;
mod role_migration;
mod sign_in;
mod sign_in_limits;
mod suppression;
mod suppression_modes;
mod team;
mod track_api;
mod track_devices;
mod unicode_emails;
