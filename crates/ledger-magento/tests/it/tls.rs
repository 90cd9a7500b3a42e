//! A TLS failure against an in-process rustls server with a self-signed certificate.
use std::net::SocketAddr;
use std::sync::Arc;

use ledger_domain::error_class::ErrorClass;
use ledger_magento::client::{PairRequest, pair};
use ledger_magento::ssrf::{HttpError, TokioResolver};
use ledger_magento::{ApiKey, MagentoClient, MagentoError};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use url::Url;

use crate::support::*;

/// Serves TLS with a certificate no trust store knows; handshakes fail on the client side.
async fn self_signed_server() -> SocketAddr {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn untrusted_certificate_is_a_tls_error() {
    let addr = self_signed_server().await;
    let http = http(loopback_policy(), Arc::new(TokioResolver));
    let base = Url::parse(&format!("https://{addr}")).unwrap();
    let err = MagentoClient::new(http.clone(), base.clone(), TENANT, &keys()).ping().await.unwrap_err();
    assert!(matches!(err, MagentoError::Http(HttpError::Tls(_))), "{err:?}");
    assert!(err.is_tls());
    assert_eq!(err.class(), ErrorClass::Permission, "TLS failures are not retried");

    let req = PairRequest {
        pairing_code: "c0de".into(),
        tenant_id: TENANT.into(),
        api_key: ApiKey::generate(),
        ledger_base_url: Url::parse("https://ledger.example").unwrap(),
    };
    let err = pair(&http, &base, &req).await.unwrap_err();
    assert_eq!(err.code(), "store_tls_error", "{err}");
}
