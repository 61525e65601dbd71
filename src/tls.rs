//! TLS for a cloud, and the HTTP client built on it.

use std::sync::Arc;
use std::time::Duration;

use crate::clouds::CloudConfig;
use crate::error::{Error, Result};

/// How long an idle connection is kept for reuse.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_millis(1500);

/// The HTTP client for a cloud: rustls with the ring provider, the platform's roots plus
/// `cacert`, an optional client certificate, and no verification when `verify` is false.
pub(crate) fn http_client(
    cloud: &CloudConfig,
    connect_timeout: Duration,
) -> Result<reqwest::Client> {
    let tls = tls_config(cloud)?;
    reqwest::Client::builder()
        .user_agent(concat!("openstack-images/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect_timeout)
        // Shorter than the shortest keep-alive a server commonly keeps (gunicorn's 2 s,
        // under which Glance and Keystone often run): a pooled connection the server is
        // closing just as a request goes out fails that request with "connection closed
        // before message completed", which cannot safely be retried for a POST.
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .tcp_nodelay(true)
        .tls_backend_preconfigured(tls)
        // Redirects are the pipeline's to follow (`http::redirect`): reqwest's own policy
        // would re-send `X-Auth-Token` and request bodies to any host.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

fn tls_config(cloud: &CloudConfig) -> Result<rustls::ClientConfig> {
    // rustls 0.23.48 deprecates ring's provider (ring has no post-quantum key exchange),
    // with no ring replacement; this lockfile's 0.23.46 does not, but a dependent crate
    // resolves the newest 0.23 and would see the warning in every build. Same provider,
    // same behaviour; the allow goes when the TLS choice becomes a feature.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_err = |what: &str, e: &dyn std::fmt::Display| Error::Config(format!("TLS {what}: {e}"));
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("versions", &e))?;
    let builder = if cloud.verify {
        let extra = match &cloud.cacert {
            Some(path) => read_certs(path)?,
            None => Vec::new(),
        };
        let verifier = if extra.is_empty() {
            rustls_platform_verifier::Verifier::new(provider)
        } else {
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
        }
        .map_err(|e| tls_err("verifier", &e))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    } else {
        tracing::warn!(
            cloud = cloud.cloud_name.as_deref().unwrap_or("(unnamed)"),
            "TLS certificate verification is disabled (verify: false / OS_INSECURE)"
        );
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerifier(provider)))
    };
    let mut config = match &cloud.cert {
        Some(cert) => {
            let certs = read_certs(cert)?;
            let key = read_key(cloud.key.as_deref().unwrap_or(cert))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| tls_err("client certificate", &e))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn read_certs(path: &std::path::Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Config(format!("{}: bad PEM certificate: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "{}: no PEM certificate found",
            path.display()
        )));
    }
    Ok(certs)
}

fn read_key(path: &std::path::Path) -> Result<rustls::pki_types::PrivateKeyDer<'static>> {
    use rustls::pki_types::{PrivateKeyDer, pem::PemObject};
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
    // The error names the file only: a key must never end up in a message.
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|_| Error::Config(format!("{}: no PEM private key found", path.display())))
}

/// Accepts any server certificate (but still checks handshake signatures), for `verify: false`.
#[derive(Debug)]
struct NoVerifier(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The HTTP client for image sources and checksum files (image catalogs): the platform's
/// roots, certificates verified, redirects followed (mirrors redirect), no credential of
/// any cloud, a user agent of its own; `read_timeout` bounds the wait for each read.
pub(crate) fn source_client(
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Result<reqwest::Client> {
    let cloud = CloudConfig {
        verify: true,
        ..CloudConfig::default()
    };
    let tls = tls_config(&cloud)?;
    reqwest::Client::builder()
        .user_agent(concat!("osimg/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect_timeout)
        .read_timeout(read_timeout)
        .tcp_nodelay(true)
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}
