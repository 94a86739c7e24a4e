//! `otel-xray`: see what AWS X-Ray will receive, without an AWS account.
//!
//! * `translate` — OTLP/JSON spans → X-Ray segment documents, with the exporter's translator;
//! * `validate` — segment documents against the official schema and X-Ray's limits;
//! * `header` — parse or make an `X-Amzn-Trace-Id` header;
//! * `listen` — a local stand-in for the X-Ray daemon that prints traces as trees;
//! * `daemon` — a drop-in replacement for the X-Ray daemon (same flags and configuration file);
//! * `doctor` — checks region, credentials, identity, Transaction Search and the daemon
//!   address, and says which delivery path will work (exit 0 only when it will).
//!
//! Exit status: 0 success, 1 the input had problems (each reported on stderr), 2 usage or
//! I/O error.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod daemon;
mod doctor;
mod header;
mod listen;
mod translate;
mod validate;

/// The daemon allocates and frees a few small objects per span it receives (decoded protobuf
/// strings, the converted span, its document); with glibc's allocator that was about a fifth
/// of its CPU time under OTLP load (`perf record` on `scripts/bench-daemon.sh`'s load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "otel-xray",
    version,
    about = "AWS X-Ray tools for OpenTelemetry, offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Translate an OTLP/JSON ExportTraceServiceRequest into X-Ray segment documents, one
    /// per line, exactly as the exporter would send them.
    Translate {
        /// Input file, or `-` for stdin.
        #[arg(default_value = "-")]
        file: String,
        /// Always turn this attribute into an annotation (repeatable).
        #[arg(long = "indexed-attribute", value_name = "KEY")]
        indexed_attributes: Vec<String>,
        /// Turn every scalar attribute into an annotation.
        #[arg(long)]
        index_all_attributes: bool,
    },
    /// Check segment documents (one per line, a JSON array, or UDP-daemon framed) against the
    /// official schema and X-Ray's limits; one line per problem.
    Validate {
        /// Input file, or `-` for stdin.
        #[arg(default_value = "-")]
        file: String,
        /// Print only problems, no summary line.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Parse or make an `X-Amzn-Trace-Id` header value.
    #[command(subcommand)]
    Header(HeaderCommand),
    /// Receive daemon-framed segments on UDP, validate them and print each trace as a tree.
    Listen(ListenArgs),
    /// Run as the X-Ray daemon: segments on UDP (default 127.0.0.1:2000), the sampling proxy
    /// on TCP (same address), PutTraceSegments out. Takes the X-Ray daemon's flags (also in
    /// its single-dash form, `-region`) and configuration file (`-c`).
    // Boxed: the daemon has many more flags than the other commands.
    Daemon(Box<otel_xray_daemon::DaemonArgs>),
    /// Check what traces need to reach X-Ray here: region, credentials, identity
    /// (sts get-caller-identity), Transaction Search, the daemon address (UDP and TCP),
    /// and which delivery path will work. Exit 0 only when the chosen path will.
    Doctor {
        /// The delivery path to check for.
        #[arg(long, value_enum, default_value = "auto")]
        path: doctor::Path,
        /// The AWS region (default: the AWS config chain).
        #[arg(long)]
        region: Option<String>,
        /// Another endpoint for the AWS calls (e.g. a local moto server).
        #[arg(long)]
        endpoint_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum HeaderCommand {
    /// Parse a header value; prints JSON: trace ID (X-Ray and OpenTelemetry forms), parent,
    /// sampling decision, lineage, and what was ignored.
    Parse {
        /// The header value, e.g. `Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1`.
        value: String,
    },
    /// Make a fresh header with a new X-Ray trace ID and parent ID.
    New {
        /// The sampling decision to carry.
        #[arg(long, value_enum, default_value_t = SampledArg::Sampled)]
        sampled: SampledArg,
        /// Leave out `Parent` (as a load balancer starting a trace does).
        #[arg(long)]
        root_only: bool,
        /// Print the parsed JSON form instead of the header value.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SampledArg {
    /// `Sampled=1`.
    #[value(alias = "1")]
    Sampled,
    /// `Sampled=0`.
    #[value(alias = "0")]
    NotSampled,
    /// `Sampled=?`.
    #[value(alias = "?")]
    Deferred,
}

#[derive(Args)]
struct ListenArgs {
    /// UDP address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:2000")]
    udp: SocketAddr,
    /// Print each received document as it arrives instead of trees.
    #[arg(long)]
    json: bool,
    /// Print an incomplete trace after this many milliseconds without new documents.
    #[arg(long, default_value_t = 2000)]
    idle_ms: u64,
    /// Wait this many quiet milliseconds before printing a complete trace (a root can arrive
    /// before its children).
    #[arg(long, default_value_t = 200)]
    settle_ms: u64,
    /// Also send every document on to the PutTraceSegments API (the exporter's api
    /// transport), as the daemon does: batches of up to 50, sent as soon as a call is free.
    /// Credentials and region come from the usual AWS environment.
    #[arg(long)]
    forward: bool,
    /// With `--forward`: the X-Ray endpoint (e.g. a local moto server).
    #[arg(long, requires = "forward")]
    endpoint_url: Option<String>,
    /// With `--forward`: the AWS region (default: from the environment).
    #[arg(long, requires = "forward")]
    region: Option<String>,
}

const EXIT_PROBLEMS: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse_from(otel_xray_daemon::daemon_style_args(std::env::args()));
    let result = match cli.command {
        Command::Translate {
            file,
            indexed_attributes,
            index_all_attributes,
        } => read_input(&file).and_then(|t| {
            let opts = translate::TranslateOptions {
                indexed_attributes,
                index_all_attributes,
            };
            run_translate(&t, &opts)
        }),
        Command::Header(cmd) => Ok(run_header(cmd)),
        Command::Validate { file, quiet } => read_input(&file).map(|t| run_validate(&t, quiet)),
        Command::Listen(args) => run_listen(args),
        Command::Daemon(args) => run_daemon(*args),
        Command::Doctor {
            path,
            region,
            endpoint_url,
        } => run_doctor(path, region, endpoint_url),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("otel-xray: {msg}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run_doctor(
    path: doctor::Path,
    region: Option<String>,
    endpoint_url: Option<String>,
) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no async runtime: {e}"))?;
    let works = runtime.block_on(async {
        let config = load_aws_config(endpoint_url, region).await;
        doctor::run(path, &config).await
    });
    Ok(ExitCode::from(if works { 0 } else { EXIT_PROBLEMS }))
}

fn read_input(file: &str) -> Result<String, String> {
    let mut text = String::new();
    if file == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("reading stdin: {e}"))?;
    } else {
        let path = PathBuf::from(file);
        text = std::fs::read_to_string(&path).map_err(|e| format!("reading {file}: {e}"))?;
    }
    Ok(text)
}

fn run_translate(text: &str, opts: &translate::TranslateOptions) -> Result<ExitCode, String> {
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let summary = translate::run(text, opts, &mut stdout.lock(), &mut stderr.lock())
        .map_err(|e| format!("writing output: {e}"))?;
    eprintln!(
        "translate: {} span{}, {} document{}, {} input error{}, {} untranslatable",
        summary.spans,
        if summary.spans == 1 { "" } else { "s" },
        summary.documents,
        if summary.documents == 1 { "" } else { "s" },
        summary.input_errors,
        if summary.input_errors == 1 { "" } else { "s" },
        summary.untranslatable,
    );
    Ok(if summary.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PROBLEMS)
    })
}

fn run_header(cmd: HeaderCommand) -> ExitCode {
    match cmd {
        HeaderCommand::Parse { value } => match header::parse(&value) {
            Ok(json) => {
                println!("{json:#}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("otel-xray header parse: {e}");
                ExitCode::from(EXIT_PROBLEMS)
            }
        },
        HeaderCommand::New {
            sampled,
            root_only,
            json,
        } => {
            let sampling = match sampled {
                SampledArg::Sampled => otel_xray_propagator::Sampling::Sampled,
                SampledArg::NotSampled => otel_xray_propagator::Sampling::NotSampled,
                SampledArg::Deferred => otel_xray_propagator::Sampling::Deferred,
            };
            let h = header::new_header(sampling, root_only);
            if json {
                println!("{:#}", header::describe(&h, None));
            } else {
                println!("{h}");
            }
            ExitCode::SUCCESS
        }
    }
}

fn run_validate(text: &str, quiet: bool) -> ExitCode {
    let validator = validate::SegmentValidator::new();
    let docs = validate::input::read_documents(text);
    let (mut invalid, mut problems) = (0usize, 0usize);
    for d in &docs {
        let (id, mut found) = match &d.parsed {
            Ok((doc, bytes)) => (validate::document_id(doc), validator.check(doc, *bytes)),
            Err(p) => ("-".to_string(), vec![p.clone()]),
        };
        found.splice(0..0, d.frame_problems.iter().cloned());
        if !found.is_empty() {
            invalid += 1;
            problems += found.len();
        }
        for p in found {
            println!("{id} (document {}, line {}): {p}", d.index, d.line);
        }
    }
    if !quiet {
        eprintln!(
            "validate: {} document{}, {} valid, {invalid} invalid ({problems} problem{})",
            docs.len(),
            if docs.len() == 1 { "" } else { "s" },
            docs.len() - invalid,
            if problems == 1 { "" } else { "s" },
        );
    }
    if docs.is_empty() {
        eprintln!("validate: no segment documents in the input");
        return ExitCode::from(EXIT_PROBLEMS);
    }
    if invalid > 0 {
        ExitCode::from(EXIT_PROBLEMS)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_listen(args: ListenArgs) -> Result<ExitCode, String> {
    let opts = listen::ListenOptions {
        udp: args.udp,
        json: args.json,
        settle: Duration::from_millis(args.settle_ms),
        idle: Duration::from_millis(args.idle_ms),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let counters = runtime.block_on(async {
        let sink = if args.forward {
            Some(api_exporter(args.endpoint_url, args.region).await?)
        } else {
            None
        };
        listen::run(opts, sink)
            .await
            .map_err(|e| format!("listen on {}: {e}", args.udp))
    })?;
    eprintln!("otel-xray listen: stopped; {counters}");
    Ok(ExitCode::SUCCESS)
}

fn run_daemon(args: otel_xray_daemon::DaemonArgs) -> Result<ExitCode, String> {
    let config = otel_xray_daemon::DaemonConfig::from_args(&args).map_err(|e| e.to_string())?;
    init_daemon_logging(&config)?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    // Two workers at most, and no more than the cores the daemon may run on
    // (`available_parallelism` follows its CPU affinity and quota): pinned to one core, a
    // second worker only adds thread switches to every hand-over between tasks.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let report = runtime.block_on(async {
        let daemon = otel_xray_daemon::Daemon::bind(config)
            .await
            .map_err(|e| e.to_string())?;
        // Installed before the startup line: a SIGTERM right after it drains, never kills.
        let shutdown = otel_xray_daemon::shutdown_signal();
        let c = daemon.config();
        eprintln!(
            "otel-xray daemon: UDP {} (segments), TCP {} (sampling proxy){}{}{}; buffer {} MB, \
             concurrency {}, shutdown timeout {:?}",
            daemon.udp_address(),
            daemon.tcp_address(),
            daemon
                .otlp_grpc_address()
                .map(|a| format!(", OTLP/gRPC {a}"))
                .unwrap_or_default(),
            daemon
                .otlp_http_address()
                .map(|a| format!(", OTLP/HTTP http://{a}/v1/traces"))
                .unwrap_or_default(),
            daemon
                .metrics_address()
                .map(|m| format!(", metrics http://{m}/metrics"))
                .unwrap_or_default(),
            c.buffer_bytes / (1024 * 1024),
            c.concurrency,
            c.shutdown_timeout,
        );
        Ok::<_, String>(daemon.run(shutdown).await)
    })?;
    let c = &report.counters;
    eprintln!(
        "otel-xray daemon: stopped; received {}, sent {}, spillover {}, rejected {}, \
         refused by X-Ray {}, dropped {} ({} undelivered at shutdown)",
        c.received_total(),
        c.sent,
        c.spillover,
        c.rejected_total(),
        c.backend_rejected,
        c.dropped,
        report.drain.undelivered,
    );
    if c.udp_kernel_dropped > 0 {
        eprintln!(
            "otel-xray daemon: the kernel dropped {} datagrams because the UDP receive queue was \
             full (raise net.core.rmem_max)",
            c.udp_kernel_dropped
        );
    }
    if let Some(o) = &c.otlp_endpoint {
        eprintln!(
            "otel-xray daemon: forwarded {} spans to the X-Ray OTLP endpoint: sent {}, \
             rejected {}, dropped {} ({} undelivered at shutdown)",
            o.forwarded,
            o.delivery.sent,
            o.delivery.rejected_total(),
            o.delivery.dropped_total(),
            report.otlp_endpoint_undelivered,
        );
    }
    Ok(
        if report.drain.undelivered + report.otlp_endpoint_undelivered == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_PROBLEMS)
        },
    )
}

/// Logs at the daemon's level to standard error, or appended to `-f` / `Logging.LogPath`.
fn init_daemon_logging(config: &otel_xray_daemon::DaemonConfig) -> Result<(), String> {
    let builder = tracing_subscriber::fmt()
        .with_max_level(config.log_level.as_tracing())
        .with_ansi(false);
    match &config.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("log file {}: {e}", path.display()))?;
            builder.with_writer(std::sync::Mutex::new(file)).init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

/// The AWS config chain, with the command line's endpoint and region on top.
async fn load_aws_config(
    endpoint_url: Option<String>,
    region: Option<String>,
) -> otel_xray_exporter::aws_config::SdkConfig {
    use otel_xray_exporter::aws_config::{self, BehaviorVersion, Region};
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region));
    }
    loader.load().await
}

/// The exporter with its PutTraceSegments transport, on this runtime.
async fn api_exporter(
    endpoint_url: Option<String>,
    region: Option<String>,
) -> Result<otel_xray_exporter::XrayExporter, String> {
    let config = load_aws_config(endpoint_url, region).await;
    if config.region().is_none() {
        return Err("--forward needs a region: pass --region or set AWS_REGION".into());
    }
    otel_xray_exporter::XrayExporter::builder()
        .with_sdk_config(config)
        .with_tokio_handle(tokio::runtime::Handle::current())
        .build()
        .map_err(|e| format!("building the PutTraceSegments exporter: {e}"))
}
