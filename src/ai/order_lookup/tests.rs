//! Against a loopback HTTPS server with a certificate of its own (trusted by the test's client
//! only), playing a shop's order endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::*;

struct Shop {
    port: u16,
    cert: CertificateDer<'static>,
    requests: Arc<AtomicUsize>,
}

/// What the endpoint answers for each order number.
fn answer(path: &str) -> (u16, &'static str, String) {
    let json = "application/json";
    match path.rsplit('/').next().unwrap_or_default() {
        "A1" => (
            200,
            json,
            json!({"status": "shipped", "eta": "2026-12-09", "paid": true, "total": 129.5,
                   "note": "x".repeat(201), "items": [{"sku": "TENT-2"}],
                   "customer": {"email": "a@example.com"}})
            .to_string(),
        ),
        "GONE" => (404, json, "{}".into()),
        "BIG" => (
            200,
            json,
            format!("{{\"status\": \"{}\"}}", "y".repeat(70 * 1024)),
        ),
        "MOVED" => (302, json, String::new()),
        "HTML" => (200, "text/html", "<html>status: shipped</html>".into()),
        _ => (500, json, "{}".into()),
    }
}

async fn shop() -> Shop {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let der = cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pair.serialize_der()));
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let count = count.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                count.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                if path.ends_with("/SLOW") {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                let (status, kind, body) = answer(&path);
                let location = if status == 302 {
                    "Location: https://localhost/elsewhere\r\n"
                } else {
                    ""
                };
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{location}Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Shop {
        port,
        cert: der,
        requests,
    }
}

impl Shop {
    fn lookup(&self) -> OrderLookup {
        OrderLookup {
            url: format!("https://localhost:{}/orders/{{order_number}}", self.port),
            allowed_hosts: vec!["localhost".into()],
            timeout_ms: 500,
        }
    }

    async fn ask(&self, lookup: &OrderLookup, number: &str) -> Result<Value, LookupError> {
        let ca = reqwest::Certificate::from_der(&self.cert).unwrap();
        order_status_with(
            reqwest::Client::builder().add_root_certificate(ca),
            lookup,
            number,
        )
        .await
    }
}

#[tokio::test]
async fn an_order_is_told_with_its_short_plain_fields_only() {
    let shop = shop().await;
    let found = shop.ask(&shop.lookup(), "A1").await.unwrap();
    // Long text, lists and objects from the endpoint never reach the model.
    assert_eq!(
        found,
        json!({"found": true, "status": "shipped", "eta": "2026-12-09", "paid": true, "total": 129.5})
    );
    assert_eq!(
        shop.ask(&shop.lookup(), "GONE").await,
        Ok(json!({"found": false}))
    );
}

#[tokio::test]
async fn what_goes_wrong_is_an_error_never_a_status() {
    let shop = shop().await;
    let lookup = shop.lookup();
    assert_eq!(shop.ask(&lookup, "BIG").await, Err(LookupError::TooLarge));
    assert_eq!(shop.ask(&lookup, "HTML").await, Err(LookupError::NotJson));
    assert_eq!(
        shop.ask(&lookup, "OOPS").await,
        Err(LookupError::Status(500))
    );
    // A redirect is not followed: the allow-list is about where the answer comes from.
    assert_eq!(
        shop.ask(&lookup, "MOVED").await,
        Err(LookupError::Status(302))
    );
    assert_eq!(shop.ask(&lookup, "SLOW").await, Err(LookupError::TimedOut));
}

#[tokio::test]
async fn only_https_to_an_allowed_host_is_called() {
    let shop = shop().await;
    let elsewhere = OrderLookup {
        allowed_hosts: vec!["shop.example".into()],
        ..shop.lookup()
    };
    assert_eq!(
        shop.ask(&elsewhere, "A1").await,
        Err(LookupError::HostNotAllowed)
    );
    let plain = OrderLookup {
        url: format!("http://localhost:{}/orders/{{order_number}}", shop.port),
        ..shop.lookup()
    };
    assert_eq!(
        shop.ask(&plain, "A1").await,
        Err(LookupError::HostNotAllowed)
    );
    // A number that would reach another path or add a query is never sent.
    for sneaky in [
        "../admin",
        "A1?all=1",
        "A1#x",
        "A1/../../",
        "",
        &"9".repeat(41),
    ] {
        assert_eq!(
            shop.ask(&shop.lookup(), sneaky).await,
            Err(LookupError::BadNumber),
            "{sneaky}"
        );
    }
    assert_eq!(
        shop.requests.load(Ordering::SeqCst),
        0,
        "nothing was sent to the shop"
    );
    // The real client trusts the public roots only: our test certificate is refused.
    assert_eq!(
        order_status(&shop.lookup(), "A1").await,
        Err(LookupError::Unreachable)
    );
}
