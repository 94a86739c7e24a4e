//! The daemon's work per UDP datagram, without the socket: the daemon's framing checks, the
//! segment/OTLP split, the copy into the buffer and the sender's take. One iteration handles
//! 10,000 datagrams of a typical SDK segment (about 600 bytes), so the figure divided by 10,000
//! is the CPU cost per segment on the receive side (the budget: 100,000 segments/s on one core
//! is 10 µs each, socket and PutTraceSegments included).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use otel_xray_daemon::{classify_body, split_datagram, Body, Intake, Offer, Source};

const DATAGRAMS: usize = 10_000;

fn datagram() -> Vec<u8> {
    let document = serde_json::json!({
        "name": "checkout", "id": "70de5b6f19ff9a0a",
        "trace_id": "1-581cf771-a006649127e371903a2de979",
        "start_time": 1_478_293_361.271, "end_time": 1_478_293_361.449,
        "http": {"request": {"method": "POST", "url": "https://shop.example/checkout",
                             "client_ip": "78.255.233.48", "user_agent": "Mozilla/5.0"},
                 "response": {"status": 201, "content_length": 312}},
        "annotations": {"order": "A-17", "customer_tier": "gold"},
        "aws": {"xray": {"sdk": "X-Ray for Python", "sdk_version": "2.14.0"}},
        "service": {"version": "1.4.2"}, "origin": "AWS::ECS::Container",
    });
    format!("{{\"format\":\"json\",\"version\":1}}\n{document}").into_bytes()
}

fn intake(c: &mut Criterion) {
    let datagram = datagram();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("daemon_intake");
    group.throughput(Throughput::Elements(DATAGRAMS as u64));
    group.bench_function("frame_offer_take_10k", |b| {
        let intake = Intake::with_capacity(64 * 1024 * 1024);
        b.iter(|| {
            for _ in 0..DATAGRAMS {
                intake.received(Source::DaemonUdp, 1);
                let body = split_datagram(&datagram).expect("valid datagram");
                let Body::Segment(document) = classify_body(body) else {
                    unreachable!("a JSON document")
                };
                let document = std::str::from_utf8(document).expect("UTF-8");
                assert_eq!(intake.offer(document.to_owned()), Offer::Accepted);
            }
            runtime.block_on(async {
                while !intake.buffer().is_empty() {
                    let taken = intake.buffer().next_batch(50).await;
                    intake.buffer().release(taken.charge());
                    std::hint::black_box(taken);
                }
            });
        });
    });
    group.finish();
}

criterion_group!(benches, intake);
criterion_main!(benches);
