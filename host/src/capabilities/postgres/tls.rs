//! TLS to PostgreSQL on rustls, verifying as Spin's native-tls connector does: the server's
//! certificate chain against the system's roots (which `SSL_CERT_FILE` and `SSL_CERT_DIR`
//! replace, as with OpenSSL) plus a root the guest added with
//! `connection-builder.set-ca-root`, and its name (or IP address) against the connection
//! string's host. There is no way to skip verification, in Spin either.

use futures::future::BoxFuture;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// The system's trusted roots, read once, at the first TLS connection.
static SYSTEM_ROOTS: LazyLock<RootCertStore> = LazyLock::new(|| {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!("reading the system's root certificates: {error}");
    }
    let mut roots = RootCertStore::empty();
    let (_, unusable) = roots.add_parsable_certificates(found.certs);
    if unusable > 0 {
        tracing::debug!("{unusable} system root certificates are not usable by rustls");
    }
    if roots.is_empty() {
        tracing::warn!(
            "no trusted root certificates found: TLS to PostgreSQL can only verify a root the guest sets"
        );
    }
    roots
});

/// A root certificate a guest added to a connection (`set-ca-root`).
#[derive(Clone)]
pub struct CaRoot {
    /// The PEM text as the guest gave it: connections with different roots do not share
    /// a pool.
    pub pem: String,
    root: RootCertStore,
}

impl CaRoot {
    /// Reads the first certificate of `pem` (as Spin does), refusing one that cannot be a
    /// trust anchor.
    pub fn from_pem(pem: String) -> Result<Self, String> {
        let certificate =
            CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| e.to_string())?;
        let mut root = RootCertStore::empty();
        root.add(certificate).map_err(|e| e.to_string())?;
        Ok(Self { pem, root })
    }
}

/// tokio-postgres' TLS connector: one per pool, shared by its connections.
#[derive(Clone)]
pub struct RustlsConnect(Arc<ClientConfig>);

impl RustlsConnect {
    pub fn new(ca_root: Option<&CaRoot>) -> Result<Self, rustls::Error> {
        let mut roots = SYSTEM_ROOTS.clone();
        if let Some(ca_root) = ca_root {
            roots.roots.extend(ca_root.root.roots.iter().cloned());
        }
        // The provider is named: rustls has no process default when features of both its
        // providers are on somewhere in the build.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // PostgreSQL 17 requires this ALPN for `sslnegotiation=direct`; older servers ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(Self(Arc::new(config)))
    }
}

impl<S> MakeTlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = Handshake;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> io::Result<Handshake> {
        // The name is checked at the handshake: with `sslmode=prefer`, a server without TLS
        // is still reached by a name rustls would refuse.
        Ok(Handshake {
            config: self.0.clone(),
            host: host.to_owned(),
        })
    }
}

/// One connection's TLS handshake with the server named `host`.
pub struct Handshake {
    config: Arc<ClientConfig>,
    host: String,
}

impl<S> TlsConnect<S> for Handshake
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = BoxFuture<'static, io::Result<RustlsStream<S>>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let server = ServerName::try_from(self.host)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let stream = tokio_rustls::TlsConnector::from(self.config)
                .connect(server, stream)
                .await?;
            Ok(RustlsStream(stream))
        })
    }
}

/// A TLS session with the server.
pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    /// No `tls-server-end-point` binding: SCRAM authenticates without it (the server's
    /// certificate is verified in any case).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
