//! The `#[bitrix_entity]` attribute: expands a portal snapshot into typed entity structs.
#![deny(missing_docs)]

use proc_macro::TokenStream;

/// Generates a portal's typed entity from its snapshot (work in progress).
#[proc_macro_attribute]
pub fn bitrix_entity(_args: TokenStream, input: TokenStream) -> TokenStream {
    input
}
