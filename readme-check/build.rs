//! Turns every `rust` block of the workspace README into a module of this crate, so that
//! `cargo build -p readme-check` (and `cargo test --workspace`) fails when a block stops
//! compiling.
//!
//! A block is a fragment of a longer program: its items (`use`, entity structs, functions)
//! become the module's items, its statements the body of an `async fn run(..)` whose
//! parameters are the values the surrounding text assumes (`client`, `id`, ...). Those
//! parameters are listed below in [`CONTEXTS`], one entry per block, found by a line of the
//! block; every block needs exactly one entry and every entry exactly one block, so a new or
//! changed block is noticed. Every module also sees `crate::prelude` (the demo portal's
//! entities and the common value types), as a reader of the README has them from earlier
//! blocks. Schema paths of the README (`schemas/acme/..`, the newcomer's `schemas/deal.json`)
//! are read from the committed demo snapshots.
//!
//! Blocks after a `<!-- newcomer: PATH -->` marker are skipped: `.ci/newcomer.sh` builds them
//! as a crate of their own, against the packaged crates.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// (a line the block contains, the parameters of its `run`).
const CONTEXTS: &[(&str, &str)] = &[
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
];

struct Block {
    line: usize,
    text: String,
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let readme_path = manifest.join("../README.md");
    println!("cargo:rerun-if-changed={}", readme_path.display());
    println!("cargo:rerun-if-changed=build.rs");
    let readme = std::fs::read_to_string(&readme_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", readme_path.display()));

    // What the README's build.rs block writes, for the block that includes it.
    bitrix_codegen::build::Entity::new(manifest.join("../schemas/demo/deal.json"))
        .struct_name("Deal")
        .names(manifest.join("../schemas/demo/names.json"))
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));

    let blocks = rust_blocks(&readme);
    let mut used = vec![false; CONTEXTS.len()];
    let mut code = String::new();
    for block in &blocks {
        let matching: Vec<usize> = (0..CONTEXTS.len())
            .filter(|&i| block.text.lines().any(|l| l.contains(CONTEXTS[i].0)))
            .collect();
        let [context] = matching[..] else {
            panic!(
                "README.md line {}: a rust block needs exactly one entry in readme-check/build.rs's CONTEXTS (a line of the block and the parameters its statements use); it matches {}",
                block.line,
                matching.len()
            );
        };
        used[context] = true;
        code.push_str(&module(block, CONTEXTS[context].1));
    }
    if let Some(i) = used.iter().position(|u| !u) {
        panic!(
            "readme-check/build.rs: no README block contains {:?}; update or remove its CONTEXTS entry",
            CONTEXTS[i].0
        );
    }
    std::fs::write(out.join("readme_blocks.rs"), code).expect("OUT_DIR is writable");
}

/// The README's `rust` blocks, except the newcomer's.
fn rust_blocks(readme: &str) -> Vec<Block> {
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
                "README.md line {}: {:?}: every rust block is compiled by readme-check; drop the {:?}",
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
fn module(block: &Block, params: &str) -> String {
    let text = schema_paths(&block.text);
    let body: syn::Block = syn::parse_str(&format!("{{\n{text}\n}}")).unwrap_or_else(|e| {
        panic!(
            "README.md line {}: the rust block does not parse: {e}",
            block.line
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
        "/// The rust block at README.md line {line}.\n\
         #[allow(unused, dead_code, clippy::all, clippy::pedantic)]\n\
         pub mod readme_line_{line} {{\n\
         use crate::prelude::*;\n\
         {items}\n\
         /// The block's statements.\n\
         pub async fn run({params}) -> crate::BlockResult {{\n\
         {statements}\n\
         #[allow(unreachable_code)]\n\
         Ok(())\n\
         }}\n\
         }}\n",
        line = block.line,
    )
}
