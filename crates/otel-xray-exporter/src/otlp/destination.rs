//! Is the account ready for the OTLP endpoint? `GetTraceSegmentDestination`
//! says where X-Ray sends trace segments: the OTLP endpoint needs Transaction
//! Search, i.e. destination `CloudWatchLogs` with status `ACTIVE`.

use std::fmt;

use aws_sdk_xray::types::{TraceSegmentDestination, TraceSegmentDestinationStatus};
use aws_smithy_types::error::display::DisplayErrorContext;

/// What `GetTraceSegmentDestination` said about Transaction Search.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionSearch {
    /// Destination `CloudWatchLogs`, status `ACTIVE`: spans sent to the OTLP
    /// endpoint are stored.
    Ready,
    /// Destination `CloudWatchLogs`, status `PENDING`: the switch is under way
    /// (it can take minutes); spans sent now may be refused.
    Pending,
    /// Destination `XRay`: Transaction Search is off, the OTLP endpoint
    /// refuses spans.
    NotEnabled,
    /// An answer this crate does not know.
    Unknown {
        /// The destination as X-Ray spelled it (empty when absent).
        destination: String,
        /// The status as X-Ray spelled it (empty when absent).
        status: String,
    },
}

impl TransactionSearch {
    /// Whether spans sent to the OTLP endpoint will be accepted.
    pub fn is_ready(&self) -> bool {
        *self == TransactionSearch::Ready
    }

    /// What to do, in one sentence.
    pub fn advice(&self) -> &'static str {
        match self {
            TransactionSearch::Ready => "nothing to do: the OTLP endpoint accepts spans",
            TransactionSearch::Pending => {
                "wait a few minutes for Transaction Search to become ACTIVE, then send"
            }
            TransactionSearch::NotEnabled => {
                "enable Transaction Search (CloudWatch console > Application Signals > \
                 Transaction Search, or `aws xray update-trace-segment-destination \
                 --destination CloudWatchLogs`), or use the daemon, API or collector path"
            }
            TransactionSearch::Unknown { .. } => {
                "check `aws xray get-trace-segment-destination`; this answer is new to otel-xray"
            }
        }
    }

    pub(crate) fn from_answer(
        destination: Option<&TraceSegmentDestination>,
        status: Option<&TraceSegmentDestinationStatus>,
    ) -> TransactionSearch {
        match (destination, status) {
            (
                Some(TraceSegmentDestination::CloudWatchLogs),
                Some(TraceSegmentDestinationStatus::Active),
            ) => TransactionSearch::Ready,
            (
                Some(TraceSegmentDestination::CloudWatchLogs),
                Some(TraceSegmentDestinationStatus::Pending),
            ) => TransactionSearch::Pending,
            (Some(TraceSegmentDestination::XRay), _) => TransactionSearch::NotEnabled,
            _ => TransactionSearch::Unknown {
                destination: destination
                    .map(|d| d.as_str().to_owned())
                    .unwrap_or_default(),
                status: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            },
        }
    }
}

impl fmt::Display for TransactionSearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self {
            TransactionSearch::Ready => "Transaction Search is ACTIVE".to_owned(),
            TransactionSearch::Pending => "Transaction Search is PENDING".to_owned(),
            TransactionSearch::NotEnabled => {
                "Transaction Search is not enabled (segments go to X-Ray)".to_owned()
            }
            TransactionSearch::Unknown {
                destination,
                status,
            } => format!("unexpected trace segment destination {destination:?}, status {status:?}"),
        };
        write!(f, "{state}: {}", self.advice())
    }
}

/// `GetTraceSegmentDestination` could not be called or answered an error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("GetTraceSegmentDestination failed: {message}")]
pub struct DestinationCheckError {
    message: String,
}

impl DestinationCheckError {
    pub(crate) fn stopped() -> DestinationCheckError {
        DestinationCheckError {
            message: "the exporter's runtime stopped".into(),
        }
    }
}

/// Asks X-Ray (`GetTraceSegmentDestination`, with `config`'s region,
/// credentials and endpoint) whether Transaction Search is on, which the OTLP
/// endpoint needs; [`XrayOtlpExporter::check_destination`](super::XrayOtlpExporter::check_destination)
/// does the same with an exporter's settings. Needs a Tokio runtime.
///
/// # Errors
///
/// The call failed: no credentials, no permission
/// `xray:GetTraceSegmentDestination` (named in the error), network.
pub async fn check_transaction_search(
    config: &aws_config::SdkConfig,
) -> Result<TransactionSearch, DestinationCheckError> {
    check(config, None).await
}

/// Calls `GetTraceSegmentDestination` with `config` (region and credentials;
/// `region` overrides the config's).
pub(crate) async fn check(
    config: &aws_config::SdkConfig,
    region: Option<&str>,
) -> Result<TransactionSearch, DestinationCheckError> {
    let mut builder = aws_sdk_xray::config::Builder::from(config);
    if let Some(region) = region {
        builder = builder.region(aws_config::Region::new(region.to_owned()));
    }
    let client = aws_sdk_xray::Client::from_conf(builder.build());
    let answer = client
        .get_trace_segment_destination()
        .send()
        .await
        .map_err(|e| {
            let access_denied = e
                .as_service_error()
                .and_then(aws_sdk_xray::error::ProvideErrorMetadata::code)
                .is_some_and(|code| code.contains("AccessDenied"));
            let hint = if access_denied {
                " (the credentials need xray:GetTraceSegmentDestination)"
            } else {
                ""
            };
            DestinationCheckError {
                message: format!("{}{hint}", DisplayErrorContext(e)),
            }
        })?;
    Ok(TransactionSearch::from_answer(
        answer.destination(),
        answer.status(),
    ))
}
