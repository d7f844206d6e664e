//! Black-box tests: the real server over HTTP, on SQLite and PostgreSQL.

mod helpers;

mod audit;
mod cli;
mod foundation;
mod request_safety;
mod sign_in;
