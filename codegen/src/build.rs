//! The `build.rs` front end: generate an entity into `OUT_DIR` from the committed snapshot,
//! offline by default; refresh the snapshot from the portal only when asked.
//!
//! In `build.rs`'s `main`:
//!
//! ```no_run
//! bitrix_codegen::build::Entity::new("schemas/portal/deal.json")
//!     .struct_name("Deal")
//!     .names("schemas/portal/names.json")
//!     .generate()
//!     .unwrap_or_else(|e| panic!("{e}"));
//! ```
//!
//! and in the crate: `include!(concat!(env!("OUT_DIR"), "/deal.rs"));`.
//!
//! Set `BITRIX_CODEGEN_REFRESH` to a webhook URL (and enable the `fetch` feature) to refresh the
//! snapshot from the portal during the build; the file is rewritten only when it changed.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::entities::Api;
use crate::snapshot::{EntityInfo, Snapshot};
use crate::{Level, Options, Renames};

/// The default environment variable that, when set to a webhook URL, refreshes the snapshot.
pub const REFRESH_VAR: &str = "BITRIX_CODEGEN_REFRESH";

/// One entity to generate from a build script.
#[derive(Debug, Clone)]
pub struct Entity {
    schema: PathBuf,
    struct_name: Option<String>,
    names: Vec<PathBuf>,
    renames: Renames,
    strict: bool,
    entity: EntityInfo,
    refresh_var: String,
    out_file: Option<String>,
    api: Option<Api>,
}

/// Why a build-script generation failed. Its `Display` is meant for `panic!("{e}")`.
#[derive(Debug)]
pub struct BuildError(String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

impl Entity {
    /// Generates from the snapshot at `schema`, relative to the crate's `Cargo.toml` directory.
    pub fn new(schema: impl AsRef<Path>) -> Self {
        Entity {
            schema: schema.as_ref().to_path_buf(),
            struct_name: None,
            names: Vec::new(),
            renames: Renames::new(),
            strict: false,
            entity: EntityInfo::deal(),
            refresh_var: REFRESH_VAR.into(),
            out_file: None,
            api: None,
        }
    }

    /// The read model's name (default: the snapshot's entity's, `Deal` for deals, `Lead` for
    /// leads; see [`EntityInfo::default_struct_name`]).
    pub fn struct_name(mut self, name: impl Into<String>) -> Self {
        self.struct_name = Some(name.into());
        self
    }

    /// A names file (see [`crate::names`]), relative to the crate's `Cargo.toml` directory.
    pub fn names(mut self, path: impl AsRef<Path>) -> Self {
        self.names.push(path.as_ref().to_path_buf());
        self
    }

    /// Renames one field.
    pub fn rename(mut self, code: &str, name: &str) -> Self {
        self.renames.field(code, name);
        self
    }

    /// Makes unknown field types an error.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// The entity of a raw `crm.*.fields` response, and of a refresh when there is no snapshot
    /// yet (default deal; a refresh otherwise reads the committed snapshot's entity, API
    /// included). Any entity: [`EntityInfo::by_name`] (`lead`, `smart_invoice`, ...),
    /// [`EntityInfo::by_type_id`], [`EntityInfo::smart_process`].
    pub fn entity(mut self, entity: EntityInfo) -> Self {
        self.entity = entity;
        self
    }

    /// The entity's default route, `Entity::API` (default: the API the snapshot was read
    /// through). `Api::Legacy` is an error for smart processes and smart invoices.
    pub fn api(mut self, api: Api) -> Self {
        self.api = Some(api);
        self
    }

    /// The environment variable that asks for a refresh (default [`REFRESH_VAR`]).
    pub fn refresh_var(mut self, var: impl Into<String>) -> Self {
        self.refresh_var = var.into();
        self
    }

    /// The file written in `OUT_DIR` (default: the struct name in snake_case, `deal.rs`).
    pub fn out_file(mut self, name: impl Into<String>) -> Self {
        self.out_file = Some(name.into());
        self
    }

    /// Generates into `OUT_DIR`, printing the `cargo:` lines a build script needs. Returns the
    /// written file.
    pub fn generate(self) -> Result<PathBuf, BuildError> {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .ok_or_else(|| {
                BuildError("CARGO_MANIFEST_DIR is not set: call this from build.rs".into())
            })?;
        let out_dir = std::env::var_os("OUT_DIR")
            .map(PathBuf::from)
            .ok_or_else(|| BuildError("OUT_DIR is not set: call this from build.rs".into()))?;
        let (path, warnings) = self.generate_into(&manifest_dir, &out_dir)?;
        for w in warnings {
            println!("cargo:warning={w}");
        }
        Ok(path)
    }

    /// Like [`Entity::generate`] with explicit directories; returns the file and the warnings
    /// instead of printing them (the `cargo:rerun-if-*` lines are still printed).
    pub fn generate_into(
        mut self,
        manifest_dir: &Path,
        out_dir: &Path,
    ) -> Result<(PathBuf, Vec<String>), BuildError> {
        let schema_path = manifest_dir.join(&self.schema);
        let label = self.schema.display().to_string();
        println!("cargo:rerun-if-changed={}", schema_path.display());
        println!("cargo:rerun-if-env-changed={}", self.refresh_var);
        self.refresh(&schema_path, &label)?;

        let text = std::fs::read_to_string(&schema_path).map_err(|e| {
            BuildError(format!(
                "cannot read the snapshot {label} ({e}); make one with `bitrix-codegen snapshot --webhook <URL> --out {label}`, or set {} to a webhook URL with the `fetch` feature enabled",
                self.refresh_var
            ))
        })?;
        let snapshot = Snapshot::parse(&text, &self.entity)
            .map_err(|e| BuildError(format!("{label}: {e}")))?;
        for names in &self.names {
            let path = manifest_dir.join(names);
            println!("cargo:rerun-if-changed={}", path.display());
            let text = std::fs::read_to_string(&path).map_err(|e| {
                BuildError(format!(
                    "cannot read the names file {} ({e})",
                    names.display()
                ))
            })?;
            self.renames
                .add_file(&text, &names.display().to_string())
                .map_err(BuildError)?;
        }
        let struct_name = self
            .struct_name
            .clone()
            .unwrap_or_else(|| snapshot.entity.default_struct_name());
        let mut options = Options::new(struct_name.clone());
        options.renames = self.renames.clone();
        options.strict = self.strict;
        options.schema_label = label.clone();
        options.api = self.api;
        let generated = crate::generate(&snapshot, &options).map_err(|diags| {
            let errors: Vec<String> = diags
                .iter()
                .filter(|d| d.level == Level::Error)
                .map(|d| format!("  - {}", d.message))
                .collect();
            BuildError(format!(
                "cannot generate {struct_name} from {label}:\n{}",
                errors.join("\n")
            ))
        })?;
        let source = crate::render(&generated, &label);
        let file = self
            .out_file
            .clone()
            .unwrap_or_else(|| format!("{}.rs", crate::naming::snake_case(&struct_name)));
        let out = out_dir.join(file);
        write_if_changed(&out, &source)
            .map_err(|e| BuildError(format!("cannot write {}: {e}", out.display())))?;
        Ok((
            out,
            generated.warnings.into_iter().map(|w| w.message).collect(),
        ))
    }

    #[cfg(feature = "fetch")]
    fn refresh(&self, schema_path: &Path, label: &str) -> Result<(), BuildError> {
        let Some(url) = std::env::var_os(&self.refresh_var) else {
            return Ok(());
        };
        let url = url.to_string_lossy();
        let webhook = crate::fetch::Webhook::parse(&url)
            .map_err(|e| BuildError(format!("{}: {e}", self.refresh_var)))?;
        // The committed snapshot names its entity and API; a first refresh uses `entity`.
        let entity = std::fs::read_to_string(schema_path)
            .ok()
            .and_then(|text| Snapshot::parse(&text, &self.entity).ok())
            .map_or_else(|| self.entity.clone(), |s| s.entity);
        let snapshot = crate::fetch::fetch_snapshot(&webhook, &entity)
            .map_err(|e| BuildError(format!("refreshing {label} from {webhook}: {e}")))?;
        if let Some(dir) = schema_path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| BuildError(format!("cannot create {}: {e}", dir.display())))?;
        }
        write_if_changed(schema_path, &snapshot.to_json_pretty())
            .map(|_| ())
            .map_err(|e| BuildError(format!("cannot write {label}: {e}")))
    }

    #[cfg(not(feature = "fetch"))]
    fn refresh(&self, _schema_path: &Path, label: &str) -> Result<(), BuildError> {
        match std::env::var_os(&self.refresh_var) {
            None => Ok(()),
            Some(_) => Err(BuildError(format!(
                "{} is set, asking to refresh {label} from the portal, but bitrix-codegen was built without the `fetch` feature; enable it in [build-dependencies] or unset the variable",
                self.refresh_var
            ))),
        }
    }
}

/// Writes `text` to `path` unless the file already holds exactly that (keeps mtimes, so Cargo
/// does not rebuild for nothing).
pub fn write_if_changed(path: &Path, text: &str) -> std::io::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    std::fs::write(path, text)?;
    Ok(true)
}
