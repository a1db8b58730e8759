//! Turns every `rust` block of the workspace README into a module of this crate, so that
//! `cargo build -p readme-check` (and `cargo test --workspace`) fails when a block stops
//! compiling.
//!
//! A block is a fragment of a longer program: its items (`use`, entity structs, functions)
//! become the module's items, its statements the body of an `async fn run(..)` whose
//! parameters are the values the surrounding text assumes (`client`, `id`, ...). Those
//! parameters are listed below in [`READMES`], one entry per block, found by a line of the
//! block; every block needs exactly one entry and every entry exactly one block, so a new or
//! changed block is noticed. Every module also sees a prelude of `src/lib.rs` (the demo portal's
//! entities and the common value types), as a reader of the README has them from earlier
//! blocks. Schema paths of the README (`schemas/acme/..`, the newcomer's `schemas/deal.json`)
//! are read from the committed demo snapshots.
//!
//! Blocks after a `<!-- newcomer: PATH -->` marker are skipped: `.ci/newcomer.sh` builds them
//! as a crate of their own, against the packaged crates.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A README and its blocks' contexts: (a line the block contains, the parameters of its `run`).
struct Readme {
    /// Relative to the workspace root.
    path: &'static str,
    /// The module of this crate the blocks get by a glob import.
    prelude: &'static str,
    contexts: &'static [(&'static str, &'static str)],
}

const READMES: &[Readme] = &[
    Readme {
        path: "README.md",
        prelude: "prelude",
        contexts: &[
            // The opening example.
            (
                ".sales_channel(DealSalesChannel::Website)   // a required enumeration user field",
                "",
            ),
            // Value types and traits.
            ("use bitrix_runtime::{Client, EntityField};", ""),
            // The macro's options.
            ("// strict,", ""),
            // build.rs and the file it writes.
            ("// build.rs", ""),
            ("// src/lib.rs", ""),
            // Every entity of a portal.
            ("pub struct Contract;  // smart process", ""),
            // Contact multifields.
            ("let new = NewContact::builder()", "client: Client"),
            // Pipelines, contacts and product rows.
            (
                "client.move_to_stage(deal_id, stage).await?;",
                "client: Client, deal_id: DealId, stage: DealStage",
            ),
            // The client tour.
            ("// CRUD", "new: NewDeal"),
            // Projections.
            (
                "#[derive(bitrix_runtime::Projection)]",
                "client: Client, id: DealId",
            ),
            // Code for any portal.
            ("async fn open_pipeline_total", ""),
            // Typed stages.
            (
                "let patch = DealPatch::new().stage_id(DealStageDilery::Won);",
                "",
            ),
            // Events.
            (
                "let (router, receiver) = events::axum::endpoint(verifier);",
                "client: Client, application_token: String, member_id: String, \
                 listener: tokio::net::TcpListener, \
                 local: &mut std::collections::BTreeMap<DealId, DealRow>",
            ),
        ],
    },
    Readme {
        path: "runtime/README.md",
        prelude: "runtime_prelude",
        contexts: &[
            ("// Deal (read model), NewDeal (+ builder), DealPatch", ""),
            ("let client = Client::from_webhook(", ""),
            (
                ".token_store(Arc::new(MyDatabaseStore))",
                "access_token: String, refresh_token: String, client_id: String, \
                 client_secret: String, client_endpoint: String, server_endpoint: String",
            ),
            (
                "let live_fields = client.fields::<Deal>().await?;",
                "client: Client",
            ),
            ("let how_many = client", "client: Client"),
            ("// 2,500 deals per HTTP request", "client: Client"),
            (
                "let created = batch.add(&new_deal);",
                "client: Client, new_deal: NewDeal, id: DealId",
            ),
            (
                "let verifier = Verifier::new(application_token)",
                "client: Client, application_token: String, member_id: String, body: Vec<u8>",
            ),
        ],
    },
    Readme {
        path: "codegen/README.md",
        prelude: "prelude",
        contexts: &[("bitrix_codegen::build::Entity::new", "")],
    },
    Readme {
        path: "macros/README.md",
        prelude: "prelude",
        contexts: &[("// api = \"item\",", "")],
    },
    Readme {
        path: "emulator/README.md",
        prelude: "emulator_prelude",
        contexts: &[
            ("emu.expire_access_tokens();", ""),
            ("emu.events_idle().await;", "handler_url: String"),
        ],
    },
];

struct Block {
    line: usize,
    text: String,
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=build.rs");

    // What the README's build.rs block writes, for the block that includes it.
    bitrix_codegen::build::Entity::new(manifest.join("../schemas/demo/deal.json"))
        .struct_name("Deal")
        .names(manifest.join("../schemas/demo/names.json"))
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));

    let mut code = String::new();
    for readme in READMES {
        let path = manifest.join("..").join(readme.path);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        code.push_str(&readme_module(readme, &text));
    }
    std::fs::write(out.join("readme_blocks.rs"), code).expect("OUT_DIR is writable");
}

/// The blocks of one README, as a module named after its directory.
fn readme_module(readme: &Readme, text: &str) -> String {
    let contexts = readme.contexts;
    let mut used = vec![false; contexts.len()];
    let mut code = String::new();
    for block in rust_blocks(readme.path, text) {
        let matching: Vec<usize> = (0..contexts.len())
            .filter(|&i| block.text.lines().any(|l| l.contains(contexts[i].0)))
            .collect();
        let [context] = matching[..] else {
            panic!(
                "{} line {}: a rust block needs exactly one entry in readme-check/build.rs's contexts (a line of the block and the parameters its statements use); it matches {}",
                readme.path,
                block.line,
                matching.len()
            );
        };
        used[context] = true;
        code.push_str(&module(readme, &block, contexts[context].1));
    }
    if let Some(i) = used.iter().position(|u| !u) {
        panic!(
            "readme-check/build.rs: no block of {} contains {:?}; update or remove its contexts entry",
            readme.path, contexts[i].0
        );
    }
    let name = match readme.path.split_once('/') {
        Some((dir, _)) => dir,
        None => "workspace",
    };
    format!(
        "/// The rust blocks of `{}`.\npub mod {name} {{\n{code}}}\n",
        readme.path
    )
}

/// The README's `rust` blocks, except the newcomer's.
fn rust_blocks(path: &str, readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines().enumerate().peekable();
    let mut previous = "";
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            previous = line;
            continue;
        };
        let mut text = String::new();
        for (_, inner) in lines.by_ref() {
            if inner.starts_with("```") {
                break;
            }
            text.push_str(inner);
            text.push('\n');
        }
        let lang = info.split(',').next().unwrap_or("").trim();
        if lang == "rust" && !previous.starts_with("<!-- newcomer:") {
            assert!(
                info.trim() == "rust",
                "{path} line {}: {:?}: every rust block is compiled by readme-check; drop the {:?}",
                n + 1,
                line,
                &info[4..]
            );
            blocks.push(Block { line: n + 1, text });
        }
        previous = "";
    }
    blocks
}

/// The README's placeholder schema paths, read from the committed demo snapshots.
fn schema_paths(text: &str) -> String {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/demo/");
    let demo = demo.to_str().expect("a UTF-8 path");
    text.replace("\"schemas/acme/", &format!("\"{demo}"))
        .replace("\"schemas/demo/", &format!("\"{demo}"))
        .replace("\"schemas/deal.json\"", &format!("\"{demo}deal.json\""))
}

/// One block as a module: its items, and its statements in `run`.
fn module(readme: &Readme, block: &Block, params: &str) -> String {
    let text = schema_paths(&block.text);
    let body: syn::Block = syn::parse_str(&format!("{{\n{text}\n}}")).unwrap_or_else(|e| {
        panic!(
            "{} line {}: the rust block does not parse: {e}",
            readme.path, block.line
        )
    });
    let (mut items, mut statements) = (String::new(), String::new());
    for stmt in body.stmts {
        match stmt {
            syn::Stmt::Item(item) => writeln!(items, "{}", quote::quote!(#item)),
            // `include!(..)` of a generated file: items.
            syn::Stmt::Macro(m) if m.mac.path.is_ident("include") => {
                writeln!(items, "{}", quote::quote!(#m))
            }
            other => writeln!(statements, "{}", quote::quote!(#other)),
        }
        .expect("writing to a String");
    }
    format!(
        "/// The rust block at {path} line {line}.\n\
         #[allow(unused, dead_code, clippy::all, clippy::pedantic)]\n\
         pub mod line_{line} {{\n\
         use crate::{prelude}::*;\n\
         {items}\n\
         /// The block's statements.\n\
         pub async fn run({params}) -> crate::BlockResult {{\n\
         {statements}\n\
         #[allow(unreachable_code)]\n\
         Ok(())\n\
         }}\n\
         }}\n",
        path = readme.path,
        line = block.line,
        prelude = readme.prelude,
    )
}
