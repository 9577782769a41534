//! TLS termination: calls over HTTPS (HTTP/1.1 and HTTP/2 by ALPN), and certificate files
//! replaced while running: the next connection gets the new certificate, connections already
//! open keep working, a broken file keeps the old certificate.

mod common;

use common::*;
use http_body_util::BodyExt;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A private CA, and a function issuing certificates for 127.0.0.1 signed by it.
struct Ca {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name.push(DnType::CommonName, "gateway test CA");
        let cert_pem = params.self_signed(&key).unwrap().pem();
        Ca { cert_pem, issuer: Issuer::new(params, key) }
    }

    /// Writes a new certificate and key to `dir` (via rename, as deployment tools do) and
    /// returns the certificate's DER.
    fn issue(&self, dir: &Path, name: &str) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        std::fs::write(dir.join("cert.tmp"), cert.pem()).unwrap();
        std::fs::write(dir.join("key.tmp"), key.serialize_pem()).unwrap();
        std::fs::rename(dir.join("key.tmp"), dir.join("key.pem")).unwrap();
        std::fs::rename(dir.join("cert.tmp"), dir.join("cert.pem")).unwrap();
        cert.der().to_vec()
    }

    fn connector(&self, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        let ca: CertificateDer =
            rustls::pki_types::pem::PemObject::from_pem_slice(self.cert_pem.as_bytes()).unwrap();
        roots.add(ca).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}

async fn connect(ca: &Ca, addr: std::net::SocketAddr, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    ca.connector(alpn).connect(name, tcp).await.unwrap()
}

fn served_cert(stream: &TlsStream<TcpStream>) -> Vec<u8> {
    stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// One GET over an HTTP/1.1 connection already open; returns the echoed scheme.
async fn get_over(sender: &mut hyper::client::conn::http1::SendRequest<Body>) -> serde_json::Value {
    let req = http::Request::get("/over-tls").header("host", "127.0.0.1").body(full("")).unwrap();
    let response = sender.send_request(req).await.unwrap();
    assert_eq!(response.status(), 200);
    json(&response.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn a_replaced_certificate_is_served_to_the_next_connection() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let first = ca.issue(dir.path(), "first");
    let up = upstream("api").await;
    let yaml = format!(
        "listeners: [{{address: '127.0.0.1:0', tls: {{cert: '{d}/cert.pem', key: '{d}/key.pem'}}}}]
upstreams: [{{name: api, targets: ['{}']}}]
tls_reload_check_interval: 100ms
",
        up.url(),
        d = dir.path().display()
    );
    let hooks = Recorder::new();
    let gw = gateway(&yaml, hooks.clone()).await;
    let addr = gw.local_addrs()[0];

    let stream = connect(&ca, addr, &[b"http/1.1"]).await;
    assert_eq!(served_cert(&stream), first);
    let (mut old, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let echo = get_over(&mut old).await;
    assert_eq!(echo["headers"]["x-forwarded-proto"], "https");
    assert_eq!(hooks.wait_for(1).await[0].scheme, "https");

    // HTTP/2 is chosen by ALPN.
    let h2 = connect(&ca, addr, &[b"h2", b"http/1.1"]).await;
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    let second = ca.issue(dir.path(), "second");
    let mut served = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        served = served_cert(&connect(&ca, addr, &[b"http/1.1"]).await);
        if served == second {
            break;
        }
    }
    assert_eq!(served, second, "the new certificate was not served");
    assert_eq!(gw.stats().tls_reloads, 1);
    // The connection opened before the change still works.
    get_over(&mut old).await;

    // A broken file is refused; the certificate in use stays.
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    assert!(gw.reload_tls().is_err());
    assert_eq!(served_cert(&connect(&ca, addr, &[b"http/1.1"]).await), second);
}
