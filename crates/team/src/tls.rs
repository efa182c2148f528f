//! rustls for the PostgreSQL driver, verifying as libpq's `sslmode` says.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::connection::TlsMode;

/// The driver's TLS connector for `mode` (never [`TlsMode::Disable`]).
/// `root_certificates` is `sslrootcert`: the CA file to trust instead of
/// the public web roots.
pub(crate) fn connector(
    mode: TlsMode,
    root_certificates: Option<&Path>,
) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    // libpq's rules: prefer and require encrypt without checking who answers,
    // unless require is given a root file, which makes it verify-ca.
    let verify = match mode {
        TlsMode::Prefer => None,
        TlsMode::Require if root_certificates.is_none() => None,
        TlsMode::VerifyFull => Some(true),
        _ => Some(false),
    };
    let chain = match verify {
        None => None,
        Some(check_name) => {
            let roots = Arc::new(roots(root_certificates)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| e.to_string())?;
            Some((webpki, check_name))
        }
    };
    let config = match chain {
        Some((webpki, true)) => builder.with_webpki_verifier(webpki).with_no_client_auth(),
        chain => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier {
                chain: chain.map(|(webpki, _)| webpki),
                algorithms,
            }))
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

fn roots(file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    let Some(file) = file else {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(store);
    };
    let certificates = CertificateDer::pem_file_iter(file)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("sslrootcert {}: {e}", file.display()))?;
    let (added, _) = store.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(format!(
            "sslrootcert {} holds no usable certificate",
            file.display()
        ));
    }
    Ok(store)
}

/// The verifier of the modes that do not check the host name: `prefer`
/// and `require` (no `chain`: any certificate) and `verify-ca` (the chain
/// must lead to a trusted root, whatever name the certificate gives). The
/// handshake's signatures are checked in every mode.
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            // The name is checked after the chain: this error means the chain held.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
