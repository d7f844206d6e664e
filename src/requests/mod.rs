//! Data-subject requests: what the law lets a person ask of the data held about them,
//! starting with access (GDPR Art. 15) and portability (Art. 20): their data, exported.

pub mod export;
