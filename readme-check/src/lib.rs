//! Every `rust` block of the workspace README, compiled (see `build.rs`): a block that stops
//! compiling fails `cargo build -p readme-check`, and so the workspace's tests.
//!
//! Nothing here runs: the blocks' statements are the bodies of functions nobody calls (the
//! snippets the README runs against the emulator are in `runtime/tests/client/readme.rs`).

/// What a block's `run` returns: any error its `?` meets.
pub type BlockResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// What a reader of the README has from its earlier blocks: the demo portal's deal (with the
/// readable names of `schemas/demo/names.json`) and contact, a projection of the deal, and the
/// common value types.
pub mod prelude {
    pub use bitrix_runtime::types::{CategoryId, DealId, Decimal};
    pub use bitrix_runtime::{Client, Error};

    #[bitrix_runtime::bitrix_entity(
        schema = "../schemas/demo/deal.json",
        names = "../schemas/demo/names.json"
    )]
    pub struct Deal;

    #[bitrix_runtime::bitrix_entity(schema = "../schemas/demo/contact.json")]
    pub struct Contact;

    /// The projection the events block keeps a local copy of.
    #[derive(Debug, Clone, bitrix_runtime::Projection)]
    #[bitrix(entity = Deal)]
    pub struct DealRow {
        /// The deal's id.
        pub id: DealId,
        /// Its title.
        pub title: Option<String>,
    }
}

/// What a reader of `runtime/README.md` has from its first block: the demo deal with its sales
/// channel renamed `channel` (and its item 3476 `Site`), and the types the blocks name.
pub mod runtime_prelude {
    pub use bitrix_runtime::types::{DealId, Decimal};
    pub use bitrix_runtime::{Client, OAuthTokens, Order, TokenStore};
    pub use futures::TryStreamExt;
    pub use std::sync::Arc;

    #[bitrix_runtime::bitrix_entity(
        schema = "../schemas/demo/deal.json",
        rename(UF_CRM_1721244590123 = "channel", UF_CRM_1721244590123[3476] = "Site")
    )]
    pub struct Deal;

    /// The README's own token store.
    pub struct MyDatabaseStore;

    impl TokenStore for MyDatabaseStore {
        fn save(
            &self,
            _tokens: &OAuthTokens,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            Ok(())
        }
    }
}

/// What a reader of `emulator/README.md` has: the emulator's types.
pub mod emulator_prelude {
    pub use bitrix_emulator::{Config, Emulator};
}

include!(concat!(env!("OUT_DIR"), "/readme_blocks.rs"));
