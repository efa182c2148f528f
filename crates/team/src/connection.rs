//! From a [`ServerConfig`] to an open `postgres::Client`: the URL and its
//! TLS options, the password's sources, the connect deadline, and errors
//! sorted into [`Error`]'s kinds with every known secret blanked out.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use postgres::config::{Host, SslMode};

use crate::{Error, Result, ServerConfig, pgpass, tls};

/// How long a link may stay silent while data waits to be acknowledged, or
/// while keepalive probes go unanswered, before a connection is given up
/// as dead: the client's `TCP_USER_TIMEOUT`, and the server's for its end.
/// A partition drops packets without a word to either side; without this,
/// Linux retransmits for about 15 minutes.
const DEAD_LINK: Duration = Duration::from_secs(20);
/// Silence before the first keepalive probe. With [`KEEPALIVE_INTERVAL`]
/// and [`DEAD_LINK`], a connection with nothing in flight (waiting for the
/// answer to a question the server acknowledged, or listening for
/// notifications) is known dead [`DEAD_LINK`] after it fell silent, not
/// after the system's probe interval (75 s) on top of the idle time.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
/// Between two keepalive probes.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// Unanswered probes before the connection is dropped, where
/// `TCP_USER_TIMEOUT` is not available to decide it.
const KEEPALIVE_PROBES: u32 = 3;
/// The longest the server lets a transaction of ours sit idle. A push
/// never pauses between its statements, so only a client gone mute (a
/// stopped process, a link still up) meets it.
const IDLE_TRANSACTION_LIMIT: Duration = Duration::from_secs(60);

/// The same deadlines for the server's end of the session, so a backend
/// whose client vanished mid-transaction is ended, and its transaction
/// rolled back, within seconds: left open, it would hold row locks the
/// client's next push waits on, and its transaction id would hold every
/// pull's horizon back, until the server's own TCP gave up (up to two
/// hours by default). Through `set_config`, since a pooler may refuse
/// startup options; a stricter value the server already has is kept.
fn server_session_deadlines() -> String {
    let seconds = |d: Duration| d.as_secs();
    let millis = |d: Duration| d.as_millis();
    format!(
        "SELECT set_config(name, wanted.setting::text, false)
         FROM (VALUES ('tcp_keepalives_idle', {}), ('tcp_keepalives_interval', {}),
                      ('tcp_keepalives_count', {KEEPALIVE_PROBES}), ('tcp_user_timeout', {}),
                      ('idle_in_transaction_session_timeout', {}))
                  AS wanted (name, setting)
             JOIN pg_settings AS current USING (name)
         WHERE current.setting::bigint = 0 OR current.setting::bigint > wanted.setting",
        seconds(KEEPALIVE_IDLE),
        seconds(KEEPALIVE_INTERVAL),
        millis(DEAD_LINK),
        millis(IDLE_TRANSACTION_LIMIT),
    )
}

/// What the URL's `sslmode` asks for (libpq's names and meanings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, unverified; plain otherwise (the default).
    Prefer,
    /// TLS or nothing; verified against `sslrootcert` when one is given.
    Require,
    /// TLS with the certificate chain verified, any host name.
    VerifyCa,
    /// TLS with the chain and the host name verified.
    VerifyFull,
}

/// A parsed configuration, ready to connect.
pub(crate) struct Target {
    pub(crate) config: postgres::Config,
    pub(crate) tls_mode: TlsMode,
    /// `sslrootcert`: the CA certificates (PEM) to verify the server against;
    /// `None` means the public web roots.
    pub(crate) root_certificates: Option<PathBuf>,
    /// Every password this configuration carries, to blank out of messages.
    pub(crate) scrub: Scrub,
    /// `user@host:port/database`, for people to read.
    pub(crate) description: String,
}

impl Target {
    /// Parse the URL, then find the password where libpq would.
    pub(crate) fn from_config(server: &ServerConfig) -> Result<Target> {
        let mut scrub = Scrub::default();
        // Known before parsing, so even a URL the parser rejects never shows it.
        if let Some(password) = url_password(&server.url) {
            scrub.add(&password);
        }
        let (url, ours) = take_tls_parameters(&server.url);
        let mut tls_mode = TlsMode::Prefer;
        let mut root_certificates = None;
        for (key, value) in ours {
            match key.as_str() {
                "sslmode" => tls_mode = parse_tls_mode(&value).map_err(|e| scrub.config(e))?,
                _ => root_certificates = (value != "system").then(|| PathBuf::from(value)),
            }
        }
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            scrub.config(format!("the URL cannot be read: {}", chain(&e)))
        })?;
        if let Some(password) = config.get_password() {
            scrub.add(&String::from_utf8_lossy(password));
        }
        config.ssl_mode(match tls_mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        });
        if config.get_hosts().is_empty() {
            return Err(scrub.config("the URL names no host".to_owned()));
        }
        if config.get_password().is_none()
            && let Some(password) = find_password(server, &config)?
        {
            scrub.add(&password);
            config.password(password);
        }
        let mut target = Target {
            config,
            tls_mode,
            root_certificates,
            scrub,
            description: String::new(),
        };
        target.description = target.describe();
        Ok(target)
    }

    /// `user@host:port/database`, for people to read.
    fn describe(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(name)) => name.clone(),
            Some(Host::Unix(path)) => path.display().to_string(),
            None => String::new(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let user = self.config.get_user().unwrap_or("");
        let database = self.config.get_dbname().unwrap_or(user);
        format!("{user}@{host}:{port}/{database}")
    }

    /// Open a connection within `timeout`: socket, TLS handshake and login.
    pub(crate) fn connect(&self, timeout: Duration) -> Result<postgres::Client> {
        let mut config = self.config.clone();
        config
            .connect_timeout(timeout)
            // A server that vanishes mid-session (partition, crash) turns
            // into an error instead of a query that waits forever.
            .keepalives(true)
            .keepalives_idle(KEEPALIVE_IDLE)
            .keepalives_interval(KEEPALIVE_INTERVAL)
            .keepalives_retries(KEEPALIVE_PROBES)
            .tcp_user_timeout(timeout.max(DEAD_LINK))
            .application_name("mnemo");
        let tls = match self.tls_mode {
            TlsMode::Disable => None,
            mode => Some(
                tls::connector(mode, self.root_certificates.as_deref())
                    .map_err(|e| Error::Tls(self.scrub.clean(&e)))?,
            ),
        };
        // The driver bounds the socket's connect only; a server that accepts
        // and then says nothing would hold the login forever. The attempt
        // runs on a thread of its own, abandoned when the deadline passes.
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let result = match tls {
                None => config.connect(postgres::NoTls),
                Some(tls) => config.connect(tls),
            };
            let result = result.and_then(|mut client| {
                client.batch_execute(&server_session_deadlines())?;
                Ok(client)
            });
            let _ = sender.send(result);
        });
        match receiver.recv_timeout(timeout) {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(self.scrub.error(&e)),
            Err(_) => Err(Error::Unreachable(format!(
                "{} did not answer within {timeout:?}",
                self.description
            ))),
        }
    }
}

/// Secrets to blank out of every message this crate makes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scrub {
    secrets: Vec<String>,
}

impl Scrub {
    fn add(&mut self, secret: &str) {
        if !secret.is_empty() {
            self.secrets.push(secret.to_owned());
        }
    }

    /// `text` with every secret replaced by `***`.
    pub(crate) fn clean(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret.as_str(), "***")
        })
    }

    fn config(&self, message: String) -> Error {
        Error::Config(self.clean(&message))
    }

    /// A driver error as one of [`Error`]'s kinds.
    pub(crate) fn error(&self, error: &postgres::Error) -> Error {
        // The server's own words for its errors (the driver's Display says
        // only "db error"), on one line.
        let text = match error.as_db_error() {
            Some(db) => match db.detail() {
                Some(detail) => format!("{} ({detail})", db.message()),
                None => db.message().to_owned(),
            },
            None => chain(error),
        };
        let message = self.clean(&text.replace('\n', " "));
        if let Some(db) = error.as_db_error() {
            let code = db.code().code();
            // Class 28 is invalid authorization; 3D000 a database that does not
            // exist; 42501 a role without the CONNECT privilege. Class 08 is a
            // broken connection, 57P a server shutting down or starting, 53300
            // a server out of connection slots: all a later round may pass.
            return if code.starts_with("28")
                || code == "3D000"
                || code == "42501" && is_connect_refusal(db)
            {
                Error::Auth(message)
            } else if code.starts_with("08") || code.starts_with("57P") || code == "53300" {
                Error::Unreachable(message)
            } else {
                Error::Server(message)
            };
        }
        let text = error.to_string();
        if text == "error performing TLS handshake" || has_source::<rustls::Error>(error) {
            Error::Tls(message)
        } else if text == "authentication error" || text == "invalid configuration" {
            Error::Auth(message)
        } else {
            Error::Unreachable(message)
        }
    }
}

/// Whether a permission error is the server refusing the connection itself.
fn is_connect_refusal(db: &postgres::error::DbError) -> bool {
    db.message().starts_with("permission denied for database")
}

/// An error and its causes, `outer: inner: innermost`: the driver's own
/// Display names only the kind ("error connecting to server").
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn has_source<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.is::<E>()
            || cause
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.is::<E>())
        {
            return true;
        }
        source = cause.source();
    }
    false
}

fn parse_tls_mode(value: &str) -> Result<TlsMode, String> {
    Ok(match value {
        "disable" => TlsMode::Disable,
        "prefer" | "allow" => TlsMode::Prefer,
        "require" => TlsMode::Require,
        "verify-ca" => TlsMode::VerifyCa,
        "verify-full" => TlsMode::VerifyFull,
        other => {
            return Err(format!(
                "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
            ));
        }
    })
}

/// The URL without `sslmode` and `sslrootcert` (the driver knows fewer
/// modes and no root file), and those two, decoded.
fn take_tls_parameters(url: &str) -> (String, Vec<(String, String)>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), Vec::new());
    };
    let mut kept = Vec::new();
    let mut ours = Vec::new();
    for parameter in query.split('&') {
        let (key, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        if key == "sslmode" || key == "sslrootcert" {
            ours.push((
                key.to_owned(),
                percent_decode_str(value).decode_utf8_lossy().into_owned(),
            ));
        } else {
            kept.push(parameter);
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, ours)
}

/// The password in a URL's user information, as written (still
/// percent-encoded; the decoded form comes from the parsed configuration).
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let user_info = authority.rsplit_once('@')?.0;
    let written = user_info.split_once(':')?.1;
    Some(written.to_owned())
}

/// The password from `password_file`, `PGPASSWORD`, then the pgpass file.
fn find_password(server: &ServerConfig, config: &postgres::Config) -> Result<Option<String>> {
    if let Some(path) = &server.password_file {
        return read_password_file(path).map(Some);
    }
    if let Ok(password) = std::env::var("PGPASSWORD") {
        return Ok(Some(password));
    }
    let Some(file) = pgpass::location() else {
        return Ok(None);
    };
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        // libpq matches a socket directory as "localhost".
        _ => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("");
    let database = config.get_dbname().unwrap_or(user);
    Ok(pgpass::lookup(&file, &host, port, database, user))
}

fn read_password_file(path: &Path) -> Result<String> {
    let text = pgpass::read_small_file(path)
        .map_err(|e| Error::Config(format!("password_file {}: {e}", path.display())))?;
    let first = text.lines().next().unwrap_or("");
    if first.is_empty() {
        return Err(Error::Config(format!(
            "password_file {} is empty",
            path.display()
        )));
    }
    Ok(first.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_the_url_and_decoded() {
        let (url, ours) = take_tls_parameters(
            "postgresql://u@h/db?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        );
        assert_eq!(url, "postgresql://u@h/db?application_name=x");
        assert_eq!(
            ours,
            vec![
                ("sslmode".to_owned(), "verify-full".to_owned()),
                ("sslrootcert".to_owned(), "/etc/ca.pem".to_owned())
            ]
        );
    }

    #[test]
    fn the_password_is_found_in_a_url_the_driver_rejects() {
        assert_eq!(
            url_password("postgresql://ann:s3cr%40t@host:notaport/db").as_deref(),
            Some("s3cr%40t")
        );
        assert_eq!(url_password("postgresql://ann@host/db"), None);
    }
}
