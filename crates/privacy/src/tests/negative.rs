//! Things that look a bit like secrets but are not, and must come out
//! unchanged.

use super::{ALNUM, gen_from, redactor};

#[track_caller]
fn unchanged(s: &str) {
    let r = redactor();
    assert_eq!(r.clean_text(s), s, "mangled: {s}");
}

#[test]
fn counts_and_limits() {
    for s in [
        "MAX_TOKENS=4096",
        "max_tokens: 1024",
        "{\"max_tokens\": 4096, \"temperature\": 0.7}",
        "{\"input_tokens\": 1234, \"output_tokens\": 56, \"cache_read_input_tokens\": 7}",
        "token_count = 5",
        "let n_tokens = tokens.len();",
        "MAX_TOKEN=512",
        "\"token\": 42",
        "PASSWORD_MIN_LEN: 8",
        "PWD=/home/user/project",
        "OLDPWD=/tmp",
        "primary_key = 1",
        "cache_key = \"x\"",
    ] {
        unchanged(s);
    }
}

#[test]
fn empty_and_references() {
    for s in [
        "API_KEY=",
        "PASSWORD=\"\"",
        "export GITHUB_TOKEN=$(gh auth token)",
        "TOKEN=${TOKEN:-}",
        "password: ${DB_PASSWORD}",
        "token: ${{ secrets.GITHUB_TOKEN }}",
        "api_key = \"${API_KEY}\"",
        "set SECRET=%SECRET%",
        "password: {{ vault_password }}",
        "token = None",
        "secret: null",
        "use_token: true",
    ] {
        unchanged(s);
    }
}

#[test]
fn ordinary_code() {
    let rust = r#"
pub struct Client {
    token: String,
    api_key: Option<String>,
    password: &'static str,
    secret: SecretString,
}

impl Client {
    pub fn new(token: &str, api_key: Option<String>) -> Self {
        let token = token.to_string();
        let secret = SecretString::from(token.clone());
        Client { token, api_key, password: "", secret }
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.lexer.next()?;
        match token {
            Token::Ident(name) => Some(Token::Ident(name)),
            other => Some(other),
        }
    }
}

fn check(token: Token) -> bool {
    if token == Token::Eof { return false; }
    let api_key = env::var("API_KEY").ok();
    let password = prompt_password("pw: ")?;
    true
}
"#;
    unchanged(rust);

    let python = r#"
import os
from openai import OpenAI

def main(api_key: str = None, token: str | None = None) -> None:
    api_key = api_key or os.environ["OPENAI_API_KEY"]
    client = OpenAI(api_key=api_key)
    token = self.tokenizer.encode(text)
    password = getpass.getpass()
    secret = os.getenv("SECRET")
    tokens = [t for t in text.split()]
    for token in tokens:
        print(token)
    credentials = load_credentials(path)
    return client
"#;
    unchanged(python);

    let ts = r#"
interface Config {
  token?: string;
  apiKey: string | undefined;
  password: string;
}
export function login(password: string, token: Token): Promise<void> {
  const secret = process.env.SECRET;
  const token2 = await getToken();
  return api.post('/login', { password, token: this.token });
}
"#;
    unchanged(ts);

    let go = r#"
type Config struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}
func New(cfg Config) *Client {
	token := cfg.Token
	return &Client{Token: token, Password: cfg.Password}
}
"#;
    unchanged(go);
}

/// Seen in real code (a sweep over the cargo registry and Python's
/// standard library): none of these are secrets.
#[test]
fn real_world_code() {
    for s in [
        "rusqlite::hooks::Authorization::Deny",
        "authorization = self.headers.get(\"authorization\")",
        "def load_cert_chain(self, certfile, keyfile=None, password=None):",
        "permissions:\n  contents: read\n  id-token: write\n",
        "Input: StreamIsPartial + Stream<Token = u8>,",
        "pub const SYS_memfd_secret: c_long = 447;",
        "pub const FS_IOC_ADD_ENCRYPTION_KEY: u32 = 3226494487;",
        "pub const DEVCONF_STABLE_SECRET: _bindgen_ty_3 = _bindgen_ty_3::DEVCONF_STABLE_SECRET;",
        "pub const SYS_memfd_secret: c_long = __X32_SYSCALL_BIT + 447;",
        "NL80211_ATTR_SAE_PASSWORD = 277,",
        "pub log_passwd: __u32,",
        "semi_token: semi,",
        "pub eq_token: Token![=],",
        "let unsafe_token: Token![unsafe] = input.parse()?;",
        "pub fn peek<T: Peek>(&self, token: T) -> bool {",
        "($token:ident) => {",
        "($($token:tt)*) => {};",
        "type Token = Self;",
        "let arg_names: Punctuated<&syn::Ident, syn::token::Comma> = method",
        "let current_token = loop {",
        "password: typing.Optional[bytes],",
        "creds = \" --username=%s --password=%s\" % (user, pw)",
        "log.info(\"Valid token: %s\", valid_resource_owner)",
        "password = b\"\"",
        "x_auth = authorizer",
        "self.passwd = password_mgr",
        "previous_token = token",
        "urllib.request.HTTPBasicAuthHandler(password_mgr=auth)",
        "proxy_password=self._socks_options[\"password\"],",
        "itoken = grammar.opmap[value] # Fails if unknown token",
    ] {
        unchanged(s);
    }
}

/// The code heuristics must not let real values through.
#[test]
fn values_that_look_like_code_are_still_caught() {
    let r = redactor();
    for (input, out) in [
        (
            "password = hunter2",
            "password = [REDACTED:secret-assignment]",
        ),
        ("PASSWORD=123456", "PASSWORD=[REDACTED:secret-assignment]"),
        (
            "password = b\"s3cr3t\"",
            "password = b\"[REDACTED:secret-assignment]\"",
        ),
        (
            "export TOKEN=abc123; ./run",
            "export TOKEN=[REDACTED:secret-assignment]; ./run",
        ),
        (
            "API_KEY=abc123 ./run.sh",
            "API_KEY=[REDACTED:secret-assignment] ./run.sh",
        ),
        (
            "token: str = \"abc123\"",
            "token: str = \"[REDACTED:secret-assignment]\"",
        ),
        (
            "password: Hunter2",
            "password: [REDACTED:secret-assignment]",
        ),
        (
            "db.password=my.secret.pw",
            "db.password=[REDACTED:secret-assignment]",
        ),
    ] {
        assert_eq!(r.clean_text(input), out);
    }
}

#[test]
fn prose() {
    for s in [
        "The tokenizer splits text into tokens; each token maps to an id.",
        "Set the password policy in settings, then rotate the secret regularly.",
        "Use an API key from the dashboard (never commit secrets).",
        "This task-oriented risk-assessment disk-usage report ask-me-anything",
        "We use sk-learn style estimators and a task-runner-with-long-name-here.",
        "Bearer tokens expire after an hour.",
        "AKIA prefixes identify AWS access key ids.",
        "Passwords must be at least 12 characters.",
    ] {
        unchanged(s);
    }
}

#[test]
fn identifiers_hashes_and_data() {
    let sha = gen_from("0123456789abcdef", 40, 1);
    let uuid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    let b64 = gen_from(&format!("{ALNUM}+/"), 8000, 2);
    for s in [
        format!("commit {sha}\nAuthor: A <a@example.com>"),
        format!(
            "{{\"session_id\": \"{uuid}\", \"tool_use_id\": \"toolu_01{}\"}}",
            gen_from(ALNUM, 22, 3)
        ),
        format!("git checkout {}", &sha[..12]),
        format!("data:image/png;base64,iVBORw0KGgo{b64}=="),
        format!("{{\"type\": \"image\", \"data\": \"{b64}\"}}"),
        "https://github.com/org/repo and git@github.com:org/repo.git".to_string(),
        "http://localhost:8080/path?x=1&y=2 and https://example.com:443/a@b".to_string(),
        "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9".to_string(),
        "ghp_ is the prefix of a classic GitHub token".to_string(),
        "npm_config_cache=/tmp/npm npm_package_version=1.2.3".to_string(),
        "hf_hub_download(repo_id='x')".to_string(),
        "xoxo hugs".to_string(),
        "-----BEGIN PUBLIC KEY-----".to_string(),
        "const BEGIN: &str = \"-----BEGIN RSA PRIVATE KEY-----\";".to_string(),
    ] {
        unchanged(&s);
    }
}

#[test]
fn html_and_tags() {
    unchanged("<div class=\"private\">a</div> <privacy-policy/> Vec<private::T>");
}

/// Deliberate over-redactions, documented here so a change is a decision.
#[test]
fn documented_over_redactions() {
    let r = redactor();
    // A bare identifier assigned to a secret-looking name is taken as a value.
    assert_eq!(
        r.clean_text("token = tok"),
        "token = [REDACTED:secret-assignment]"
    );
    // Prose with `password:` loses the next word.
    assert_eq!(
        r.clean_text("Password: must be long"),
        "Password: [REDACTED:secret-assignment] be long"
    );
    // A capitalised word assigned in code is taken as a value too.
    assert_eq!(
        r.clean_text("token = Error"),
        "token = [REDACTED:secret-assignment]"
    );
    // Quoted values are always taken as secrets.
    assert_eq!(
        r.clean_text("Token: '#dddddd',"),
        "Token: '[REDACTED:secret-assignment]',"
    );
    // `PASSWORD*` names redact even innocent values...
    assert_eq!(
        r.clean_text("PASSWORD_SOURCE_DB=primary"),
        "PASSWORD_SOURCE_DB=[REDACTED:secret-assignment]"
    );
    // ...unless the name's last word says it refers to a secret.
    assert_eq!(
        r.clean_text("PASSWORD_FILE=/run/secrets/db"),
        "PASSWORD_FILE=/run/secrets/db"
    );
}
