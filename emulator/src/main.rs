//! `bitrix-emulator`: serve an emulated Bitrix24 portal on 127.0.0.1 until stopped.
//!
//! The first line of stdout is the incoming webhook URL.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bitrix_emulator::{Config, CostModel, Emulator, Faults, Lang, Limits};
use clap::Parser;

/// A loopback Bitrix24 portal that speaks the documented REST protocol.
///
/// Prints the incoming webhook URL (http://127.0.0.1:PORT/rest/1/<code>/) as the first line of
/// stdout, then serves until stopped (Ctrl-C).
#[derive(Parser, Debug)]
#[command(name = "bitrix-emulator", version, about, long_about = None, after_help = FAULTS_HELP)]
struct Args {
    /// TCP port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,

    /// Deal fields: a snapshot (schemas/*/deal.json) or a saved crm.deal.fields response.
    /// Default: the demo portal (schemas/demo/deal.json).
    #[arg(long, value_name = "FILE")]
    fields: Option<PathBuf>,

    /// Use the seed documentation's field set (schemas/seed/deal.json) instead of the demo portal.
    #[arg(long, conflicts_with = "fields")]
    seed_portal: bool,

    /// Number of deals to seed with realistic values for every field.
    #[arg(long, default_value_t = 0)]
    deals: usize,

    /// Number of leads to seed (with phones and e-mails, some linked to companies).
    #[arg(long, default_value_t = 0)]
    leads: usize,

    /// Number of contacts to seed (linked to the seeded companies).
    #[arg(long, default_value_t = 0)]
    contacts: usize,

    /// Number of companies to seed (the seeded deals and contacts link to them).
    #[arg(long, default_value_t = 0)]
    companies: usize,

    /// Number of quotes to seed.
    #[arg(long, default_value_t = 0)]
    quotes: usize,

    /// Items of a crm.item-only type to seed, as ENTITY_TYPE_ID=N (31 smart invoices, 153 and
    /// 1220 the demo smart processes); repeatable.
    #[arg(long, value_name = "TYPE_ID=N", value_parser = parse_items)]
    items: Vec<(u32, usize)>,

    /// Another entity's field list, as ENTITY_TYPE_ID=FILE (a snapshot or a saved
    /// crm.<entity>.fields / crm.item.fields answer; 128 and up adds a smart process);
    /// repeatable.
    #[arg(long, value_name = "TYPE_ID=FILE", value_parser = parse_entity_fields)]
    entity_fields: Vec<(u32, PathBuf)>,

    /// Rate limit: off, regular (50, 2/s), enterprise (250, 5/s) or CAPACITY/DRAIN_PER_SEC.
    #[arg(long, default_value = "off", value_parser = Limits::parse)]
    limits: Limits,

    /// Latency added to every REST request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,

    /// Injected faults, e.g. "503=5%,drop-after=1%;crm.deal.add:drop-after=0.2" (see below).
    #[arg(long, value_name = "SPEC", value_parser = Faults::parse)]
    faults: Option<Faults>,

    /// Random seed for seed data, faults and tokens.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Model server time as documented (list counting, offsets, writes) and count it against
    /// the operating limit.
    #[arg(long)]
    cost_model: bool,

    /// The portal's time scale: 0.01 runs the bucket drain, the operating window and limit, and
    /// the modeled server time 100x faster together (clients must pace at drain 2/0.01 per
    /// second and an operating limit of 480 s x 0.01).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,

    /// With --cost-model: report and count the modeled server time without waiting for it.
    #[arg(long, requires = "cost_model")]
    no_wait: bool,

    /// Operating limit per method and 10 minutes, in seconds.
    #[arg(long, default_value_t = 480.0)]
    operating_limit_s: f64,

    /// Secret code of the incoming webhook.
    #[arg(long, env = "BITRIX_EMULATOR_WEBHOOK_CODE")]
    webhook_code: Option<String>,

    /// The largest request body accepted, in MiB; larger ones are answered 413.
    #[arg(long, default_value_t = 64)]
    max_body_mib: usize,

    /// Seconds a client may take to send a request's headers (and a kept-alive connection may
    /// stay idle) before it is disconnected.
    #[arg(long, default_value_t = 60)]
    header_timeout_s: u64,

    /// The portal's language (`ru` or `en`): default deal titles, error messages and the
    /// standard fields' titles.
    #[arg(long, default_value = "ru", value_parser = Lang::parse)]
    lang: Lang,

    /// Lifetime of OAuth access tokens in seconds (3600 on real portals); a short one lets an
    /// SDK's refresh on `expired_token` be tried.
    #[arg(long, default_value_t = 3600)]
    access_token_ttl_s: u64,

    /// Serve HTTPS as well as HTTP on the port, with a certificate made at start (for
    /// localhost, 127.0.0.1, ::1 and every --host); the first stdout line is then the https
    /// webhook URL and the CA certificate is written to --ca-out.
    #[arg(long)]
    tls: bool,

    /// A host name the portal answers to over HTTPS (repeatable; the first is advertised in
    /// URLs). Map it to 127.0.0.1 in /etc/hosts.
    #[arg(long = "host", value_name = "NAME", requires = "tls")]
    hosts: Vec<String>,

    /// Where to write the CA certificate (PEM) clients must trust; default
    /// $TMPDIR/bitrix-emulator-PORT-ca.pem.
    #[arg(long, value_name = "FILE", requires = "tls")]
    ca_out: Option<PathBuf>,

    /// Keep the portal's data in FILE across restarts (a journal of its changes: records, user
    /// fields, pipelines, smart processes, event bindings, tokens). Start again with the same
    /// FILE and the same seeding options to get the portal back; use it as a dev portal.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,

    /// Print the OAuth application (client id, secret, tokens, endpoints, the application
    /// token of its events) as JSON on the second line of stdout.
    #[arg(long)]
    print_oauth: bool,
}

const FAULTS_HELP: &str = "\
FAULTS SPEC:
  RULE[;RULE...]   RULE = [METHOD:]SETTING[,SETTING...]   (no METHOD or * = every method;
                   a method rule replaces the * rule for that method)
  503=P            503 QUERY_LIMIT_EXCEEDED, not executed
  500=P            500 INTERNAL_SERVER_ERROR, not executed
  html=P           503 with an nginx HTML page, not executed
  drop-before=P    connection closed without an answer, not executed
  drop-after=P     executed (the write happened), then the connection is closed
  500-after=P      executed (the write happened), then 500 INTERNAL_SERVER_ERROR is answered
  latency=MS[@P]   MS milliseconds (250, 250ms, 0.25s) added to a share P of requests
  P is a probability (0.05) or a percentage (5%).
  Example: --faults \"503=5%,drop-after=1%;crm.deal.add:drop-after=0.2,latency=100ms@0.5\"";

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Err(message) = run(args).await {
        eprintln!("bitrix-emulator: {message}");
        std::process::exit(2);
    }
}

/// `--entity-fields 1=lead.json`.
fn parse_entity_fields(s: &str) -> Result<(u32, PathBuf), String> {
    let (t, path) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ENTITY_TYPE_ID=FILE, got {s:?}"))?;
    let t = t
        .trim()
        .parse()
        .map_err(|_| format!("{t:?} is not an entity type id"))?;
    Ok((t, PathBuf::from(path)))
}

/// `--items 1220=50`.
fn parse_items(s: &str) -> Result<(u32, usize), String> {
    let (t, n) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ENTITY_TYPE_ID=N, got {s:?}"))?;
    let t = t
        .trim()
        .parse()
        .map_err(|_| format!("{t:?} is not an entity type id"))?;
    let n = n
        .trim()
        .parse()
        .map_err(|_| format!("{n:?} is not a number of items"))?;
    Ok((t, n))
}

async fn run(args: Args) -> Result<(), String> {
    let mut config = Config::default()
        .with_port(args.port)
        .with_deals(args.deals)
        .with_limits(args.limits)
        .with_latency(Duration::from_millis(args.latency_ms))
        .with_seed(args.seed)
        .with_leads(args.leads)
        .with_contacts(args.contacts)
        .with_companies(args.companies)
        .with_quotes(args.quotes);
    for (type_id, n) in &args.items {
        config = config.with_records(*type_id, *n);
    }
    for (type_id, path) in &args.entity_fields {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the fields file {}: {e}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("the fields file {} is not valid JSON ({e})", path.display()))?;
        config = config.with_entity_fields(*type_id, value);
    }
    if let Some(path) = &args.fields {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the fields file {}: {e}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "the fields file {} is not valid JSON ({e}): give a snapshot or a saved crm.deal.fields response",
                path.display()
            )
        })?;
        config = config.with_fields(value);
    } else if args.seed_portal {
        config = config.with_seed_portal();
    }
    if let Some(f) = args.faults {
        config = config.with_faults(f);
    }
    if !(args.time_scale > 0.0 && args.time_scale.is_finite()) {
        return Err(format!(
            "--time-scale {} must be a positive number (1 = real time, 0.01 = 100x faster)",
            args.time_scale
        ));
    }
    config = config.with_time_scale(args.time_scale);
    if args.cost_model {
        let waited = if args.no_wait { 0.0 } else { 1.0 };
        config = config.with_cost_model(CostModel::documented().scaled(waited));
    }
    let operating_limit = Duration::try_from_secs_f64(args.operating_limit_s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            format!(
                "--operating-limit-s {} must be a positive number of seconds (480 on real portals)",
                args.operating_limit_s
            )
        })?;
    config = config
        .with_operating_limit(operating_limit)
        .with_max_body_bytes(args.max_body_mib.saturating_mul(1 << 20))
        .with_header_timeout(Duration::from_secs(args.header_timeout_s));
    if let Some(code) = args.webhook_code {
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("--webhook-code must be non-empty Latin letters and digits".into());
        }
        config.webhook_code = code;
    }
    config.access_token_ttl = Duration::from_secs(args.access_token_ttl_s.max(1));
    config = config.with_lang(args.lang);
    if args.tls {
        config = config.with_tls(args.hosts.clone());
    }
    if let Some(path) = &args.state {
        config = config.with_state(path);
    }
    let started = Instant::now();
    let deals = config.deals;
    let emu = Emulator::start(config).await.map_err(|e| e.to_string())?;
    let https = match (emu.https_webhook_url(), emu.ca_pem()) {
        (Some(url), Some(pem)) => {
            let path = args.ca_out.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("bitrix-emulator-{}-ca.pem", emu.addr().port()))
            });
            std::fs::write(&path, pem).map_err(|e| {
                format!("cannot write the CA certificate to {}: {e}", path.display())
            })?;
            Some((url, path))
        }
        _ => None,
    };
    let mut out = std::io::stdout().lock();
    match &https {
        Some((url, _)) => writeln!(out, "{url}"),
        None => writeln!(out, "{}", emu.webhook_url()),
    }
    .map_err(|e| format!("cannot write to stdout: {e}"))?;
    if args.print_oauth {
        let o = emu.oauth();
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({
                "client_id": o.client_id,
                "client_secret": o.client_secret,
                "access_token": o.access_token,
                "refresh_token": o.refresh_token,
                "client_endpoint": o.client_endpoint,
                "server_endpoint": o.server_endpoint,
                "domain": o.domain,
                "member_id": o.member_id,
                "application_token": emu.application_token(),
            })
        );
    }
    let _ = out.flush();
    drop(out);
    if let Some((_, ca)) = &https {
        eprintln!(
            "bitrix-emulator: HTTPS and HTTP on one port; trust the CA in {} (Python: REQUESTS_CA_BUNDLE={0}, Node.js: NODE_EXTRA_CA_CERTS={0}); plain HTTP: {}",
            ca.display(),
            emu.webhook_url()
        );
    }
    eprintln!(
        "bitrix-emulator: serving {} with {} deals (ready in {:.2?}); Ctrl-C to stop",
        emu.base_url(),
        deals,
        started.elapsed()
    );
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
    Ok(())
}
