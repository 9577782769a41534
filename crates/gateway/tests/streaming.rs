//! 50 MB each way through the gateway: bodies stream (the process's peak memory grows by a few
//! MB at most), and the record holds only the prefix with the full byte counts. Its own test
//! binary, so no other test's memory is measured.

mod common;

use common::*;
use http::Request;
use http_body_util::BodyExt;
use std::sync::atomic::Ordering;

const BODY_BYTES: u64 = 50 * 1024 * 1024;
/// Peak memory growth allowed for 100 MB through client, gateway and upstream together.
const GROWTH_BYTES_MAX: u64 = 8 * 1024 * 1024;

/// Peak resident memory of this process (VmHWM), bytes.
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

async fn upload_and_download(gw: &apiwatch_gateway::RunningGateway, bytes: u64) -> (String, u64) {
    let c = client();
    let addr = gw.local_addrs()[0];
    let req = Request::post(format!("http://{addr}/upload")).body(generated(bytes)).unwrap();
    let (status, _, body) = send(&c, req).await;
    assert_eq!(status, 200);
    let uploaded = String::from_utf8(body.to_vec()).unwrap();
    let req = Request::get(format!("http://{addr}/download?bytes={bytes}")).body(full("")).unwrap();
    let mut body = c.request(req).await.unwrap().into_body();
    let mut downloaded = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            downloaded += data.len() as u64;
        }
    }
    (uploaded, downloaded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_megabytes_stream_through_both_ways() {
    let up = upstream("api").await;
    let hooks = Recorder::new();
    let yaml = format!(
        "listeners: [{{address: '127.0.0.1:0'}}]\nupstreams: [{{name: api, targets: ['{}']}}]\nbody_inspect_bytes_max: 1000",
        up.url()
    );
    let gw = gateway(&yaml, hooks.clone()).await;
    // Warm up: pools, buffers and allocator arenas at their working size.
    upload_and_download(&gw, 4 * 1024 * 1024).await;
    hooks.wait_for(2).await;
    let before = peak_rss_bytes();

    let (uploaded, downloaded) = upload_and_download(&gw, BODY_BYTES).await;
    assert_eq!(uploaded, BODY_BYTES.to_string());
    assert_eq!(up.uploaded.load(Ordering::SeqCst), BODY_BYTES);
    assert_eq!(downloaded, BODY_BYTES);
    let growth = peak_rss_bytes().saturating_sub(before);
    assert!(growth < GROWTH_BYTES_MAX, "peak memory grew by {growth} bytes");

    let records = hooks.wait_for(4).await;
    let (up_record, down_record) = (&records[2], &records[3]);
    assert_eq!(up_record.request_bytes, BODY_BYTES);
    assert_eq!(up_record.request_body.bytes.len(), 1000);
    assert!(up_record.request_body.truncated);
    assert_eq!(down_record.response_bytes, BODY_BYTES);
    assert_eq!(down_record.response_body.bytes.len(), 1000);
    assert!(down_record.response_body.bytes.iter().all(|&b| b == b'x'));
    assert!(down_record.response_body.truncated);
    assert_eq!(down_record.response_content_type.as_deref(), Some("application/octet-stream"));
    eprintln!("peak memory growth for 2 x 50 MB: {} KiB", growth / 1024);
}
