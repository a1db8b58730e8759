//! Snapshot model, naming, type mapping and code generation for per-portal Bitrix24 entities.
#![deny(missing_docs)]
