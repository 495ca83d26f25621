//! Where the PostgreSQL store connects, read as libpq reads it: a URL
//! (`postgres://user@host:port/db?...`, the host percent-encoded when it is
//! a socket folder) or `key=value` pairs (`host=/var/run/postgresql
//! dbname=team`); host lists; a Unix-domain socket wherever a host starts
//! with `/`; and every `sslmode`:
//!
//! | sslmode | over TCP | over a socket |
//! |---|---|---|
//! | `disable` | no TLS | no TLS |
//! | `prefer` (the default) | TLS when the database offers it | no TLS (as libpq: PostgreSQL never offers it there) |
//! | `require` | TLS or no connection | no TLS (as libpq) |
//! | `verify-ca` | TLS, its certificate signed by a trusted CA | no TLS |
//! | `verify-full` | as `verify-ca`, and issued for the host's name | no TLS |
//!
//! Trusted CAs: `sslrootcert=FILE` in the URL, else the file
//! `FYNCALL_DATABASE_CA` names, with the OS store (`sslrootcert=system`: the
//! OS store alone). With a CA given, `prefer` and `require` check the
//! certificate fully as `verify-full` does; without one they accept it
//! unchecked as libpq does (encrypted, whoever's it is).

use std::sync::Arc;

use postgres::config::{Host, SslMode};
use postgres::tls::MakeTlsConnect;
use postgres::{Client, Config, Socket};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreResult;

use super::db_err;

/// How the database's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Accepted unchecked (libpq's `prefer` and `require` with no CA).
    Unchecked,
    /// Signed by a trusted CA, for any name (`verify-ca`).
    Ca,
    /// Signed by a trusted CA and issued for the host (`verify-full`).
    Full,
}

/// A PostgreSQL connection string, parsed, with the TLS it asks for.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) config: Config,
    tls: PgTls,
    check: Check,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("database", &describe(&self.config))
            .field("check", &self.check)
            .finish()
    }
}

/// The parameters this module reads itself, out of the string handed to
/// the driver (which knows neither): the `sslmode` as written and the
/// `sslrootcert`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Taken {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

impl Target {
    /// Reads a connection string as libpq does; a clear error otherwise.
    pub(crate) fn parse(url: &str) -> StoreResult<Target> {
        let (rest, taken) = take_params(url).map_err(|e| {
            db_err(format!(
                "{e}: write the database as postgres://USER@HOST:PORT/DATABASE or as host=... dbname=..."
            ))
        })?;
        let mut config: Config = rest.parse().map_err(|e| {
            db_err(format!(
                "the database URL is not one PostgreSQL reads ({e}): write it as postgres://USER@HOST:PORT/DATABASE or as host=... dbname=..."
            ))
        })?;
        let check = match taken.sslmode.as_deref() {
            None | Some("prefer") => {
                config.ssl_mode(SslMode::Prefer);
                Check::Unchecked
            }
            Some("disable") | Some("allow") => {
                // `allow` tries without TLS first: it always gets that.
                config.ssl_mode(SslMode::Disable);
                Check::Unchecked
            }
            Some("require") => {
                config.ssl_mode(SslMode::Require);
                Check::Unchecked
            }
            Some("verify-ca") => {
                config.ssl_mode(SslMode::Require);
                Check::Ca
            }
            Some("verify-full") => {
                config.ssl_mode(SslMode::Require);
                Check::Full
            }
            Some(other) => {
                return Err(db_err(format!(
                    "sslmode={other} is not one PostgreSQL knows: use disable, prefer, require, verify-ca or verify-full"
                )));
            }
        };
        // As libpq: TLS is never asked for over a Unix-domain socket.
        let hosts = config.get_hosts();
        if !hosts.is_empty() && hosts.iter().all(is_socket) {
            config.ssl_mode(SslMode::Disable);
        }
        let roots = match taken.sslrootcert.as_deref() {
            Some("system") => Roots::System,
            Some(file) => Roots::File(file.into()),
            None => match std::env::var_os("FYNCALL_DATABASE_CA") {
                Some(file) => Roots::File(file.into()),
                None => Roots::None,
            },
        };
        let check = match (check, &roots) {
            (Check::Unchecked, Roots::None) => Check::Unchecked,
            (Check::Unchecked, _) => Check::Full,
            (c, _) => c,
        };
        let tls = PgTls(MakeRustlsConnect::new(client_config(check, &roots)?));
        Ok(Target { config, tls, check })
    }

    /// A connection, or an error that says where and why.
    pub(crate) fn connect(&self) -> StoreResult<Client> {
        self.connect_raw().map_err(|e| {
            db_err(format!(
                "cannot reach PostgreSQL at {}: {}; check --database-url and that the server is running",
                describe(&self.config),
                with_causes(&e)
            ))
        })
    }

    /// A connection, with the driver's own error (for the pool).
    pub(crate) fn connect_raw(&self) -> Result<Client, postgres::Error> {
        self.config.connect(self.tls.clone())
    }

    pub(crate) fn describe(&self) -> String {
        describe(&self.config)
    }

    #[cfg(test)]
    fn check(&self) -> Check {
        self.check
    }
}

fn is_socket(host: &Host) -> bool {
    match host {
        Host::Tcp(_) => false,
        #[cfg(unix)]
        Host::Unix(_) => true,
    }
}

/// Where a database is, without its password, for messages and logs.
pub fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let host = if hosts.is_empty() {
        "localhost".to_owned()
    } else {
        hosts.join(",")
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// An error with its causes ("error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer").
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Splits `sslmode` and `sslrootcert` off a connection string in either
/// form; the rest goes to the driver as written.
fn take_params(url: &str) -> Result<(String, Taken), String> {
    let mut taken = Taken::default();
    let trimmed = url.trim();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        let Some((base, query)) = trimmed.split_once('?') else {
            return Ok((trimmed.to_owned(), taken));
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value)
                .ok_or_else(|| format!("the URL's {key} is not valid percent-encoded UTF-8"))?;
            match key {
                "sslmode" => taken.sslmode = Some(value),
                "sslrootcert" => taken.sslrootcert = Some(value),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return Ok((rest, taken));
    }
    let mut kept = Vec::new();
    for (key, value) in key_values(trimmed)? {
        match key.as_str() {
            "sslmode" => taken.sslmode = Some(value),
            "sslrootcert" => taken.sslrootcert = Some(value),
            _ => kept.push(format!(
                "{key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            )),
        }
    }
    Ok((kept.join(" "), taken))
}

/// libpq's `key = value` pairs: spaces around `=` allowed, a value in single
/// quotes may hold spaces, `\'` and `\\`.
fn key_values(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!("\"{key}\" has no value (write {key}=...)"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return Err(format!("the value of {key} ends inside a quote")),
                    },
                    Some(c) => value.push(c),
                    None => return Err(format!("the value of {key} ends inside a quote")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        value.push(next);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        out.push((key, value));
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The CAs a certificate is checked against.
enum Roots {
    None,
    System,
    File(std::path::PathBuf),
}

fn client_config(check: Check, roots: &Roots) -> StoreResult<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(db_err)?;
    let webpki = match check {
        Check::Unchecked => None,
        Check::Ca | Check::Full => Some(webpki(roots, &provider)?),
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Checker {
            provider,
            webpki,
            any_name: check == Check::Ca,
        }))
        .with_no_client_auth())
}

/// The standard check of a certificate against the trusted CAs.
fn webpki(
    roots: &Roots,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> StoreResult<Arc<rustls::client::WebPkiServerVerifier>> {
    let mut store = rustls::RootCertStore::empty();
    store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Roots::File(path) = roots {
        use rustls::pki_types::pem::PemObject;
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|c| c.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                db_err(format!(
                    "cannot read the database's CA {}: {e}",
                    path.display()
                ))
            })?;
        let (added, _) = store.add_parsable_certificates(certs);
        if added == 0 {
            return Err(db_err(format!(
                "the database's CA {} holds no usable certificate",
                path.display()
            )));
        }
    }
    if store.is_empty() {
        return Err(db_err(
            "sslmode=verify-ca and verify-full need a CA to check the database's certificate against: \
             add sslrootcert=FILE to the URL or set FYNCALL_DATABASE_CA",
        ));
    }
    rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(db_err)
}

/// The driver's TLS for the store. It asks for a TLS connector for every
/// host, a socket's too (with an empty name, which no certificate can be
/// checked against): a socket is given one under a placeholder name that is
/// never used, since the driver makes no handshake without a host name and
/// the socket's TLS is off anyway (`Target::parse`).
#[derive(Clone)]
struct PgTls(MakeRustlsConnect);

impl MakeTlsConnect<Socket> for PgTls {
    type Stream = <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream;
    type TlsConnect = <MakeRustlsConnect as MakeTlsConnect<Socket>>::TlsConnect;
    type Error = <MakeRustlsConnect as MakeTlsConnect<Socket>>::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, Self::Error> {
        let name = if domain.is_empty() {
            "localhost"
        } else {
            domain
        };
        MakeTlsConnect::<Socket>::make_tls_connect(&mut self.0, name)
    }
}

/// How the database's certificate is checked. With no CAs (`webpki` none)
/// it is accepted unchecked, as libpq's `prefer` and `require` do: the
/// connection is encrypted and the handshake's signatures are verified, but
/// whose certificate it is is not (a database with its packaged self-signed
/// certificate connects). With CAs, the chain is checked in full, and the
/// name it was issued for too unless `any_name` (`verify-ca`).
#[derive(Debug)]
struct Checker {
    provider: Arc<rustls::crypto::CryptoProvider>,
    webpki: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    any_name: bool,
}

impl ServerCertVerifier for Checker {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) if self.any_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(url: &str) -> (String, Taken) {
        take_params(url).expect("parses")
    }

    #[test]
    fn every_form_of_a_socket_connects_without_tls() {
        for url in [
            "postgres://root@%2Fvar%2Frun%2Fpostgresql/team",
            "postgres://root@%2Fvar%2Frun%2Fpostgresql/team?sslmode=disable",
            "postgres://root@%2Fvar%2Frun%2Fpostgresql/team?sslmode=require",
            "host=/var/run/postgresql user=root dbname=team",
            "host=/var/run/postgresql user=root dbname=team sslmode=disable",
            "host = '/var/run/postgresql' user=root dbname=team sslmode = verify-full",
            "postgresql:///team?host=/var/run/postgresql&user=root&sslmode=disable",
            "postgresql:///team?host=%2Fvar%2Frun%2Fpostgresql&user=root",
        ] {
            let target = Target::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(target.config.get_ssl_mode(), SslMode::Disable, "{url}");
            assert!(
                target.config.get_hosts().iter().all(is_socket),
                "{url}: {:?}",
                target.config.get_hosts()
            );
            assert_eq!(target.config.get_dbname(), Some("team"), "{url}");
            assert_eq!(target.config.get_user(), Some("root"), "{url}");
        }
    }

    #[test]
    fn sslmode_is_read_as_libpq_reads_it() {
        let tcp = "postgres://u@db.example.com:5433/team";
        for (mode, ssl, check) in [
            ("", SslMode::Prefer, Check::Unchecked),
            ("?sslmode=prefer", SslMode::Prefer, Check::Unchecked),
            ("?sslmode=disable", SslMode::Disable, Check::Unchecked),
            ("?sslmode=allow", SslMode::Disable, Check::Unchecked),
            ("?sslmode=require", SslMode::Require, Check::Unchecked),
            (
                "?sslmode=verify-full&sslrootcert=system",
                SslMode::Require,
                Check::Full,
            ),
            (
                "?sslrootcert=system&sslmode=verify-ca&connect_timeout=3",
                SslMode::Require,
                Check::Ca,
            ),
            (
                "?sslmode=require&sslrootcert=system",
                SslMode::Require,
                Check::Full,
            ),
        ] {
            let url = format!("{tcp}{mode}");
            match Target::parse(&url) {
                Ok(target) => {
                    assert_eq!(target.config.get_ssl_mode(), ssl, "{url}");
                    assert_eq!(target.check(), check, "{url}");
                    assert_eq!(target.config.get_ports(), &[5433], "{url}");
                }
                // A machine with no CA in its store cannot check anything.
                Err(e) => assert!(
                    check != Check::Unchecked && e.to_string().contains("need a CA"),
                    "{url}: {e}"
                ),
            }
        }
        let e = Target::parse("postgres://u@h/team?sslmode=verify").expect_err("unknown mode");
        assert!(e.to_string().contains("sslmode=verify is not one"), "{e}");
        let e = Target::parse("postgres://u@h/team?sslmode=verify-full&sslrootcert=/nowhere.pem")
            .expect_err("missing CA file");
        assert!(e.to_string().contains("/nowhere.pem"), "{e}");
    }

    #[test]
    fn key_values_keep_quotes_and_spaces() {
        let (rest, t) = taken(r"host=h dbname='my team' password='it\'s' sslmode = 'verify-ca'");
        assert_eq!(t.sslmode.as_deref(), Some("verify-ca"));
        let config: Config = rest.parse().expect("driver reads the rest");
        assert_eq!(config.get_dbname(), Some("my team"));
        assert_eq!(config.get_password(), Some(&b"it's"[..]));
        assert!(take_params("host=h dbname").is_err());
        assert!(take_params("host='h").is_err());
    }

    #[test]
    fn host_lists_mix_sockets_and_names() {
        let target = Target::parse("host=/run/postgresql,db.example.com port=5432,5433 dbname=t")
            .expect("parses");
        assert_eq!(target.config.get_hosts().len(), 2);
        // Not all sockets: the TCP host keeps TLS as asked (prefer).
        assert_eq!(target.config.get_ssl_mode(), SslMode::Prefer);
        assert_eq!(
            describe(&target.config),
            "postgres://@/run/postgresql,db.example.com:5432/t"
        );
    }
}
