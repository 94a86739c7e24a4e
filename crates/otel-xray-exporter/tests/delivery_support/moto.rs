//! X-Ray clients pointed at a loopback endpoint, and read-back helpers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_xray::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_xray::primitives::DateTime;
use otel_xray_exporter::XrayExporter;
use otel_xray_testkit::MotoServer;

/// A client for `endpoint` with dummy credentials in us-east-1.
pub fn client(endpoint: &str) -> aws_sdk_xray::Client {
    let conf = aws_sdk_xray::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_xray::Client::from_conf(conf)
}

/// An exporter calling PutTraceSegments on `moto`.
pub fn moto_exporter(moto: &MotoServer) -> XrayExporter {
    XrayExporter::builder()
        .with_xray_client(client(&moto.endpoint_url()))
        .build()
        .unwrap()
}

/// The distinct trace ids of `docs` (segment documents as JSON text), sorted.
pub fn trace_ids(docs: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = docs
        .iter()
        .map(|d| {
            let v: serde_json::Value = serde_json::from_str(d).unwrap();
            v["trace_id"].as_str().unwrap().to_owned()
        })
        .collect();
    set.into_iter().collect()
}

/// Reads back everything `moto` holds from the last hour: the trace ids
/// GetTraceSummaries lists, and every document of those traces by segment id.
pub fn read_back(moto: &MotoServer) -> (Vec<String>, BTreeMap<String, serde_json::Value>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reader = client(&moto.endpoint_url());
    let listed = rt.block_on(summarised_traces(&reader));
    let stored = rt.block_on(stored_documents(&reader, &listed));
    (listed, stored)
}

/// Every stored document of the given traces, by segment id, asserting that
/// moto holds exactly one copy of each (see [`stored_copies`]).
pub async fn stored_documents(
    client: &aws_sdk_xray::Client,
    trace_ids: &[String],
) -> BTreeMap<String, serde_json::Value> {
    let copies = stored_copies(client, trace_ids).await;
    let duplicated: Vec<(&String, usize)> = copies
        .iter()
        .filter(|(_, c)| c.len() != 1)
        .map(|(id, c)| (id, c.len()))
        .collect();
    assert!(
        duplicated.is_empty(),
        "documents stored more than once (id, copies): {duplicated:?}"
    );
    copies
        .into_iter()
        .map(|(id, mut c)| (id, c.remove(0)))
        .collect()
}

/// Every stored copy of every document of the given traces, by segment id.
///
/// moto keeps each PutTraceSegments copy of a document (X-Ray itself keeps
/// the last one), so a document sent twice shows up here twice.
pub async fn stored_copies(
    client: &aws_sdk_xray::Client,
    trace_ids: &[String],
) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut out: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for ids in trace_ids.chunks(5) {
        let mut token: Option<String> = None;
        loop {
            let resp = client
                .batch_get_traces()
                .set_trace_ids(Some(ids.to_vec()))
                .set_next_token(token.clone())
                .send()
                .await
                .expect("BatchGetTraces");
            for t in resp.traces() {
                for s in t.segments() {
                    let doc: serde_json::Value =
                        serde_json::from_str(s.document().unwrap()).unwrap();
                    out.entry(s.id().unwrap().to_owned()).or_default().push(doc);
                }
            }
            token = resp.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    out
}

/// Trace ids GetTraceSummaries lists for the last hour (and the next one).
///
/// moto answers `"Users": {}` / `"Http": {}` where the model has a list, so
/// the SDK refuses to deserialise a perfectly good answer; the ids are then
/// read from the raw HTTP body that comes with the error.
pub async fn summarised_traces(client: &aws_sdk_xray::Client) -> Vec<String> {
    let now = std::time::SystemTime::now();
    let result = client
        .get_trace_summaries()
        .start_time(DateTime::from(now - Duration::from_secs(3600)))
        .end_time(DateTime::from(now + Duration::from_secs(3600)))
        .send()
        .await;
    match result {
        Ok(resp) => resp
            .trace_summaries()
            .iter()
            .filter_map(|s| s.id().map(str::to_owned))
            .collect(),
        Err(e) => {
            let raw = e.raw_response().expect("GetTraceSummaries got no response");
            assert_eq!(raw.status().as_u16(), 200, "GetTraceSummaries failed");
            let body: serde_json::Value =
                serde_json::from_slice(raw.body().bytes().expect("buffered body"))
                    .expect("GetTraceSummaries body is JSON");
            body["TraceSummaries"]
                .as_array()
                .expect("TraceSummaries list")
                .iter()
                .filter_map(|s| s["Id"].as_str().map(str::to_owned))
                .collect()
        }
    }
}
