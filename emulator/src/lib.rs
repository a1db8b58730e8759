//! A loopback Bitrix24 portal emulator (work in progress).
#![deny(missing_docs)]
