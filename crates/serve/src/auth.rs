//! Who may talk to the server, and the headers every answer carries.
//!
//! - **Token.** A random 256-bit secret in `$MNEMO_HOME/serve.token`
//!   (0600), made on first start and kept, so a bookmarked viewer keeps
//!   working. The printed URL carries it once, in the fragment (never sent
//!   to the server, never logged); the page exchanges it for a session
//!   cookie at `POST /api/session` and drops it from the address bar.
//! - **Session cookie.** HttpOnly, SameSite=Strict, named after the port
//!   (cookies are not port-scoped, so two servers must not overwrite each
//!   other's), its value derived from the token (`sha256`), so the cookie
//!   is not the token itself.
//! - **Every `/api` request** needs `Authorization: Bearer <token>` or the
//!   cookie (401 otherwise).
//! - **Host** must be `127.0.0.1`, `localhost` or `[::1]` with the server's
//!   port (403 otherwise): a DNS-rebinding page sends its own host name.
//!   Exactly one `Host` header (400 for none or two); an absolute-form
//!   target (`GET http://host:port/…`) is checked the same way, and 400 if
//!   it names another host than `Host`, so no two parts of the stack can
//!   read a different host from one request.
//! - **State-changing methods** must come from the viewer's own origin: a
//!   foreign `Origin` is refused (403), and a cookie without an `Origin`
//!   too (only non-browser clients, with the bearer token, send none).
//! - No CORS headers at all, so other origins cannot read answers; a
//!   strict Content-Security-Policy (scripts only from the server's own
//!   files, no inline script, Trusted Types required, so no HTML sink can
//!   take a string) and the usual hardening headers on everything.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The token file, in `$MNEMO_HOME`.
pub const TOKEN_FILE: &str = "serve.token";

/// The policy every response carries. Scripts and styles only from the
/// server's own files; nothing else loads; Trusted Types make every
/// string-to-HTML sink (`innerHTML`, …) throw.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

/// The server's token, read from `path` or made there (0600) on first use.
/// A token file others could read is replaced: the old token may have leaked.
pub fn load_or_create_token(path: &Path) -> io::Result<String> {
    if let Ok(meta) = fs::metadata(path) {
        let private =
            mnemo_platform::fs::permission_bits(&meta).is_none_or(|bits| bits & 0o077 == 0);
        let token = fs::read_to_string(path)?.trim().to_string();
        if private && token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(token);
        }
        tracing::warn!(
            "{} was readable by others or malformed; made a new token",
            path.display()
        );
        fs::remove_file(path)?;
    }
    let mut secret = [0u8; 32];
    mnemo_platform::random::fill(&mut secret)?;
    let token = hex(&secret);
    let tmp = path.with_extension("token.tmp");
    let _ = fs::remove_file(&tmp);
    let mut file =
        mnemo_platform::fs::owner_only(fs::OpenOptions::new().write(true).create_new(true))
            .open(&tmp)?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(token)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the guard checks requests against.
#[derive(Clone)]
pub struct Guard {
    port: u16,
    token: String,
    cookie_name: String,
    cookie_value: String,
}

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    Bearer,
    Cookie,
}

impl Guard {
    /// A guard for a server on `port` with `token`.
    pub fn new(port: u16, token: String) -> Guard {
        let cookie_value = hex(&Sha256::digest(format!("mnemo-session-v1:{token}")));
        Guard {
            port,
            cookie_name: format!("mnemo_session_{port}"),
            cookie_value,
            token,
        }
    }

    /// The `Set-Cookie` value that logs a browser in.
    pub fn session_cookie(&self) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000",
            self.cookie_name, self.cookie_value
        )
    }

    /// Whether `host` (a `Host` or the authority of an `Origin`) names this
    /// server on the loopback interface.
    fn is_own_host(&self, host: &str) -> bool {
        ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .any(|name| host.eq_ignore_ascii_case(&format!("{name}:{}", self.port)))
    }

    /// The host a request names must be this server: one `Host` header,
    /// and an absolute-form target (`GET http://host/…`) naming the same.
    fn check_host(&self, uri: &Uri, headers: &HeaderMap) -> Result<(), ApiError> {
        let mut hosts = headers.get_all(header::HOST).iter();
        let host = hosts.next();
        if hosts.next().is_some() {
            return Err(ApiError::bad_request("more than one Host header"));
        }
        let host = match host.map(|h| h.to_str()) {
            Some(Ok(host)) => Some(host),
            Some(Err(_)) => return Err(ApiError::bad_request("a Host header that is not text")),
            None => None,
        };
        let target = uri.authority().map(|a| a.as_str());
        let named = match (host, target) {
            (None, None) => return Err(ApiError::bad_request("a request needs a Host header")),
            (Some(host), Some(target)) if !host.eq_ignore_ascii_case(target) => {
                return Err(ApiError::bad_request(
                    "the Host header and the request target name different hosts",
                ));
            }
            (_, Some(named)) | (Some(named), None) => named,
        };
        if self.is_own_host(named) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this server answers only to localhost / 127.0.0.1 with its own port",
            ))
        }
    }

    fn credential(&self, headers: &HeaderMap) -> Option<Credential> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if bearer.is_some_and(|b| same(b, &self.token)) {
            return Some(Credential::Bearer);
        }
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| name == self.cookie_name && same(value, &self.cookie_value));
        cookie.then_some(Credential::Cookie)
    }

    /// Why `request` must be refused, if it must.
    fn refusal(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<ApiError> {
        if let Err(why) = self.check_host(uri, headers) {
            return Some(why);
        }
        let path = uri.path();
        let changes_state = !matches!(*method, Method::GET | Method::HEAD);
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        if changes_state
            && let Some(origin) = origin
            && !origin
                .strip_prefix("http://")
                .is_some_and(|h| self.is_own_host(h))
        {
            return Some(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross-origin requests are refused",
            ));
        }
        if !path.starts_with("/api/") {
            return None;
        }
        match self.credential(headers) {
            None => Some(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong token: open the URL `mnemo serve` printed, or send Authorization: Bearer <token from $MNEMO_HOME/serve.token>",
            )),
            Some(Credential::Cookie) if changes_state && origin.is_none() => Some(ApiError::new(
                StatusCode::FORBIDDEN,
                "a cookie-authenticated change must carry an Origin header",
            )),
            Some(_) => None,
        }
    }
}

/// Constant-time string equality (no early exit on the first difference).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Middleware: refuse what [`Guard`] refuses, then add the security headers
/// to whatever the handler answered.
pub async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = match guard.refusal(request.method(), request.uri(), request.headers()) {
        Some(refusal) => {
            let mut response = refusal.into_response();
            if response.status() == StatusCode::UNAUTHORIZED {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            response
        }
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if is_api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn status(guard: &Guard, method: Method, path: &str, pairs: &[(&'static str, &str)]) -> u16 {
        guard
            .refusal(&method, &path.parse().unwrap(), &headers(pairs))
            .map_or(200, |e| e.status.as_u16())
    }

    #[test]
    fn hosts_tokens_cookies_and_origins() {
        let token = "ab".repeat(32);
        let guard = Guard::new(4000, token.clone());
        let bearer = format!("Bearer {token}");
        let cookie = guard.session_cookie();
        let cookie = cookie.split(';').next().unwrap();
        let host = ("host", "127.0.0.1:4000");
        assert_eq!(
            status(&guard, Method::GET, "/", &[host]),
            200,
            "assets are public"
        );
        assert_eq!(status(&guard, Method::GET, "/api/stats", &[host]), 401);
        assert_eq!(
            status(
                &guard,
                Method::GET,
                "/api/stats",
                &[host, ("authorization", "Bearer nope")]
            ),
            401
        );
        assert_eq!(
            status(
                &guard,
                Method::GET,
                "/api/stats",
                &[host, ("authorization", &bearer)]
            ),
            200
        );
        assert_eq!(
            status(
                &guard,
                Method::GET,
                "/api/stats",
                &[host, ("cookie", &format!("a=b; {cookie}"))]
            ),
            200
        );
        for foreign in [
            "evil.example:4000",
            "127.0.0.1:4001",
            "localhost",
            "127.0.0.1.nip.io:4000",
        ] {
            assert_eq!(
                status(
                    &guard,
                    Method::GET,
                    "/api/stats",
                    &[("host", foreign), ("authorization", &bearer)]
                ),
                403,
                "{foreign}"
            );
        }
        assert_eq!(status(&guard, Method::GET, "/", &[]), 400, "no Host");
        assert_eq!(
            status(
                &guard,
                Method::GET,
                "/",
                &[host, ("host", "127.0.0.1:4000")]
            ),
            400,
            "two Host headers"
        );
        let absolute = |target: &str, pairs: &[(&'static str, &str)]| {
            let mut pairs = pairs.to_vec();
            pairs.push(("authorization", &bearer));
            status(&guard, Method::GET, target, &pairs)
        };
        let own = "http://127.0.0.1:4000/api/stats";
        assert_eq!(absolute(own, &[host]), 200, "absolute form, same host");
        assert_eq!(absolute(own, &[]), 200, "absolute form names the host");
        assert_eq!(
            absolute("http://evil.example:4000/api/stats", &[host]),
            400,
            "target and Host disagree"
        );
        assert_eq!(
            absolute(
                "http://evil.example:4000/api/stats",
                &[("host", "evil.example:4000")]
            ),
            403,
            "absolute form checked like Host"
        );
        let post = |origin: Option<&str>, credential: (&'static str, &str)| {
            let mut pairs = vec![("host", "localhost:4000"), credential];
            pairs.extend(origin.map(|o| ("origin", o)));
            status(&guard, Method::POST, "/api/remember", &pairs)
        };
        assert_eq!(post(Some("http://localhost:4000"), ("cookie", cookie)), 200);
        assert_eq!(
            post(Some("http://127.0.0.1:4000"), ("authorization", &bearer)),
            200
        );
        assert_eq!(
            post(None, ("authorization", &bearer)),
            200,
            "curl sends no Origin"
        );
        assert_eq!(post(None, ("cookie", cookie)), 403);
        assert_eq!(
            post(Some("http://evil.example"), ("authorization", &bearer)),
            403
        );
        assert_eq!(post(Some("null"), ("cookie", cookie)), 403);
        assert_eq!(
            post(Some("https://localhost:4000"), ("cookie", cookie)),
            403
        );
    }

    #[test]
    fn token_file_is_private_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKEN_FILE);
        let token = load_or_create_token(&path).unwrap();
        assert_eq!(token.len(), 64);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create_token(&path).unwrap(), token, "kept");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let replaced = load_or_create_token(&path).unwrap();
        assert_ne!(replaced, token, "a readable token is replaced");
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
