//! An axum service traced with `tracing` + `tracing-opentelemetry`, speaking X-Ray.
//!
//! ```sh
//! cargo run --example axum_service --features api          # serves on 127.0.0.1:3000
//! curl -H 'X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1' \
//!      localhost:3000/orders/42
//! cargo run --example axum_service -- --once               # one request to itself, then exit
//! ```
//!
//! What it shows:
//! * the propagator **extracting** `X-Amzn-Trace-Id` from incoming requests, so the
//!   server span continues the caller's trace (a Root-only header from an ALB
//!   makes it the root segment of that trace);
//! * the propagator **injecting** the header into an outgoing `reqwest` call, so
//!   the downstream service (here: this same server's `/inventory`) joins the trace;
//! * annotations written as `aws.xray.annotation.<key>` span fields;
//! * segment documents printed to stdout — or sent to the daemon when
//!   `AWS_XRAY_DAEMON_ADDRESS` is set.

use std::net::SocketAddr;

use axum::extract::{Path, Request};
use axum::routing::get;
use axum::Router;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::trace::IdGenerator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use otel_xray::exporter::XrayExporter;
use otel_xray::id::{XrayIdGenerator, XrayTraceId};
use otel_xray::propagator::{XrayParentBased, XrayPropagator};
use tracing::{info_span, Instrument};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let once = std::env::args().any(|a| a == "--once");

    // Exporter: the daemon when the environment names one, else stdout.
    let exporter = if std::env::var_os("AWS_XRAY_DAEMON_ADDRESS").is_some() {
        XrayExporter::builder().with_daemon().build()?
    } else {
        XrayExporter::builder().with_stdout().build()?
    };
    let provider = SdkTracerProvider::builder()
        .with_id_generator(XrayIdGenerator::default())
        // Callers that sent `Sampled=?` (or no decision) leave it to us: sample all here.
        .with_sampler(XrayParentBased::new(Sampler::AlwaysOn))
        .with_resource(Resource::builder().with_service_name("orders-api").build())
        .with_batch_exporter(exporter)
        .build();
    opentelemetry::global::set_text_map_propagator(XrayPropagator::default());
    // INFO and above: the HTTP client's TRACE/DEBUG logs would otherwise become span events.
    let subscriber = tracing_subscriber::registry().with(
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("axum_service"))
            .with_filter(LevelFilter::INFO),
    );
    tracing::subscriber::set_global_default(subscriber)?;

    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", if once { 0 } else { 3000 })).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/orders/{id}", get(order))
        .route("/inventory", get(inventory))
        .with_state(addr);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    eprintln!("listening on http://{addr}");

    if once {
        // As an ALB would send it: a (recent) trace ID, no parent segment.
        let root = XrayTraceId::from_trace_id(XrayIdGenerator::default().new_trace_id())
            .expect("generator IDs are valid");
        let reply = reqwest::Client::new()
            .get(format!("http://{addr}/orders/42"))
            .header("X-Amzn-Trace-Id", format!("Root={root}"))
            .send()
            .await?
            .text()
            .await?;
        eprintln!("reply: {reply}");
    } else {
        tokio::signal::ctrl_c().await?;
    }
    server.abort();
    provider.shutdown()?;
    Ok(())
}

/// The server span for one request, continuing the caller's trace.
fn server_span(req_headers: &axum::http::HeaderMap, route: &str, path: &str) -> tracing::Span {
    let span = info_span!(
        "request",
        otel.name = %format!("GET {route}"),
        otel.kind = "server",
        http.request.method = "GET",
        url.scheme = "http",
        server.address = "127.0.0.1",
        url.path = %path,
        http.route = route,
        http.response.status_code = tracing::field::Empty,
    );
    let parent = XrayPropagator::default().extract(&HeaderExtractor(req_headers));
    // A header that is absent or invalid leaves the span a fresh root.
    let _ = span.set_parent(parent);
    span
}

async fn order(
    axum::extract::State(addr): axum::extract::State<SocketAddr>,
    Path(id): Path<String>,
    req: Request,
) -> String {
    let span = server_span(req.headers(), "/orders/{id}", req.uri().path());
    span.set_attribute("aws.xray.annotation.order_id", id.clone());
    span.set_attribute("aws.xray.annotation.customer_tier", "gold");
    async move {
        let stock = check_inventory(addr)
            .await
            .unwrap_or_else(|e| format!("error: {e}"));
        tracing::Span::current().record("http.response.status_code", 200);
        format!("order {id}: {stock}")
    }
    .instrument(span)
    .await
}

/// An outgoing call with the X-Ray header injected: the downstream span joins this trace.
async fn check_inventory(addr: SocketAddr) -> Result<String, reqwest::Error> {
    let url = format!("http://{addr}/inventory");
    let span = info_span!(
        "client",
        otel.name = "GET inventory",
        otel.kind = "client",
        http.request.method = "GET",
        url.full = %url,
        http.response.status_code = tracing::field::Empty,
    );
    let mut headers = reqwest::header::HeaderMap::new();
    XrayPropagator::default().inject_context(&span.context(), &mut HeaderInjector(&mut headers));
    async move {
        let resp = reqwest::Client::new()
            .get(&url)
            .headers(headers)
            .send()
            .await?;
        tracing::Span::current().record("http.response.status_code", resp.status().as_u16());
        resp.text().await
    }
    .instrument(span)
    .await
}

async fn inventory(req: Request) -> &'static str {
    let span = server_span(req.headers(), "/inventory", req.uri().path());
    async { "in stock" }.instrument(span).await
}
