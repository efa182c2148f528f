//! Passwords on command lines: flags whose meaning depends on the program
//! (`mysql -pX`, `sshpass -p X`, `docker login -p X`, `redis-cli -a X`),
//! positional arguments (`vault login X`, `npm config set …:_authToken X`),
//! here-strings (`gh auth login --with-token <<< X`) and values piped into
//! `--password-stdin` (`echo X | docker login …`).
//!
//! A trigger (a program name, `<<<`, `-stdin`, …) makes the scanner read
//! its whole line once, split into commands at `|`, `;` and `&&`, and each
//! command into words.

use super::*;

/// How far around a trigger a command line is read.
const LINE_REACH: usize = 4096;

/// A word of a command: its bytes and, quotes stripped, its value.
#[derive(Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
    /// The value without surrounding quotes.
    vs: usize,
    ve: usize,
}

/// Split `b[lo..hi]` into commands (at unquoted `|`, `;`, `&`) of words.
fn commands(b: &[u8], lo: usize, hi: usize) -> Vec<Vec<Word>> {
    let mut cmds = vec![Vec::new()];
    let mut i = lo;
    while i < hi {
        let c = b[i];
        if c == b' ' || c == b'\t' {
            i += 1;
            continue;
        }
        if matches!(c, b'|' | b';' | b'&' | b'(' | b')') {
            if cmds.last().is_some_and(|c| !c.is_empty()) {
                cmds.push(Vec::new());
            }
            i += 1;
            continue;
        }
        let start = i;
        let mut quote = None;
        let (mut vs, mut ve) = (i, i);
        while i < hi {
            let c = b[i];
            match quote {
                Some(q) if c == q => {
                    ve = i;
                    quote = None;
                }
                Some(_) => {}
                None if c == b'"' || c == b'\'' => {
                    quote = Some(c);
                    if vs == start || i == start {
                        vs = i + 1;
                    }
                }
                None if c == b' ' || c == b'\t' || matches!(c, b'|' | b';' | b'&' | b')') => break,
                None => {}
            }
            i += 1;
        }
        if ve <= vs {
            ve = i;
        }
        if let Some(cmd) = cmds.last_mut() {
            cmd.push(Word {
                start,
                end: i,
                vs,
                ve,
            });
        }
    }
    cmds
}

/// The program of a command: its first word's file name, after `sudo`,
/// `env` and `NAME=value` prefixes.
fn program<'a>(b: &'a [u8], cmd: &[Word]) -> (usize, &'a [u8]) {
    for (k, w) in cmd.iter().enumerate() {
        let word = &b[w.start..w.end];
        let prompt = word.last().is_some_and(|c| b"$#>%".contains(c));
        // `NAME=value` before the program sets its environment.
        let env_var = memchr::memchr(b'=', word)
            .is_some_and(|e| e > 0 && word[..e].iter().all(|&c| is_word(c)));
        if prompt || word == b"sudo" || word == b"env" || word == b"exec" || env_var {
            continue;
        }
        // A word holding an earlier pass's marker is a value, not a program
        // (`[REDACTED:private-key]://mysql`).
        if memchr::memmem::find(word, MARKER_OPEN).is_some() {
            return (k, b"");
        }
        let word = &word[line_prefix_len(word, 0).min(word.len())..];
        let name = word.rsplit(|&c| c == b'/').next().unwrap_or(word);
        return (k, name);
    }
    (cmd.len(), b"")
}

/// Flags whose next word (or attached rest, for `attached`) is a password,
/// per program family.
struct FlagRule {
    programs: &'static [&'static [u8]],
    /// Only when one of the words is this (`login`), if set.
    needs: Option<&'static [u8]>,
    separate: &'static [&'static [u8]],
    attached: &'static [&'static [u8]],
}

const RULES: &[FlagRule] = &[
    FlagRule {
        programs: &[
            b"mysql",
            b"mysqldump",
            b"mysqladmin",
            b"mysqlimport",
            b"mysqlcheck",
            b"mysqlsh",
            b"mariadb",
            b"mariadb-dump",
            b"mariadb-admin",
        ],
        needs: None,
        separate: &[],
        attached: &[b"-p"],
    },
    FlagRule {
        programs: &[b"sshpass"],
        needs: None,
        separate: &[b"-p"],
        attached: &[b"-p"],
    },
    FlagRule {
        programs: &[
            b"docker", b"podman", b"buildah", b"skopeo", b"nerdctl", b"helm", b"oras", b"crane",
            b"az", b"cf", b"argocd", b"oc",
        ],
        needs: Some(b"login"),
        separate: &[b"-p"],
        attached: &[],
    },
    FlagRule {
        programs: &[b"redis-cli", b"keydb-cli"],
        needs: None,
        separate: &[b"-a", b"--pass"],
        attached: &[],
    },
    FlagRule {
        programs: &[
            b"mongo",
            b"mongosh",
            b"mongodump",
            b"mongorestore",
            b"mongoexport",
            b"mongoimport",
            b"twine",
        ],
        needs: None,
        separate: &[b"-p"],
        attached: &[],
    },
    FlagRule {
        programs: &[
            b"ldapsearch",
            b"ldapmodify",
            b"ldapadd",
            b"ldapdelete",
            b"ldappasswd",
        ],
        needs: None,
        separate: &[b"-w"],
        attached: &[],
    },
    FlagRule {
        programs: &[b"zip", b"unzip"],
        needs: None,
        separate: &[b"-P"],
        attached: &[],
    },
    FlagRule {
        programs: &[b"7z", b"7za", b"rar", b"unrar"],
        needs: None,
        separate: &[],
        attached: &[b"-p"],
    },
    FlagRule {
        programs: &[b"ssh-keygen"],
        needs: None,
        separate: &[b"-N", b"-P"],
        attached: &[],
    },
    FlagRule {
        programs: &[b"nuget", b"dotnet"],
        needs: None,
        separate: &[b"-k", b"-ApiKey"],
        attached: &[],
    },
    FlagRule {
        programs: &[b"gh"],
        needs: Some(b"secret"),
        separate: &[b"--body", b"-b"],
        attached: &[],
    },
    FlagRule {
        programs: &[b"curl"],
        needs: None,
        separate: &[b"--oauth2-bearer"],
        attached: &[],
    },
    FlagRule {
        programs: &[b"openssl"],
        needs: None,
        separate: &[b"-k"],
        attached: &[],
    },
    FlagRule {
        programs: &[b"sqlcmd", b"bcp", b"osql"],
        needs: None,
        separate: &[b"-P"],
        attached: &[],
    },
    FlagRule {
        programs: &[b"security"],
        needs: None,
        separate: &[b"-w"],
        attached: &[],
    },
    FlagRule {
        programs: &[b"az"],
        needs: Some(b"secret"),
        separate: &[b"--value"],
        attached: &[],
    },
    FlagRule {
        programs: &[b"aws"],
        needs: None,
        separate: &[b"--secret-string"],
        attached: &[],
    },
];

/// Programs whose words `<verb…> NAME VALUE` set a setting: the value is a
/// secret when the name looks secret.
const SETTERS: &[(&[u8], &[u8])] = &[
    (b"npm", b"set"),
    (b"yarn", b"set"),
    (b"pnpm", b"set"),
    (b"aws", b"set"),
    (b"git", b"config"),
    (b"composer", b"config"),
    (b"poetry", b"config"),
    (b"bundle", b"set"),
    (b"pip", b"set"),
    (b"rclone", b"create"),
    (b"rclone", b"update"),
    (b"doppler", b"set"),
    (b"infisical", b"set"),
];

/// Programs that take a secret as a positional argument after a verb:
/// (program, verb, index of the secret among the arguments after it).
const POSITIONAL: &[(&[u8], &[u8], usize)] = &[
    (b"vault", b"login", 0),
    (b"ngrok", b"add-authtoken", 0),
    (b"ngrok", b"authtoken", 0),
    (b"rabbitmqctl", b"add_user", 1),
    (b"rabbitmqctl", b"change_password", 1),
    (b"mc", b"set", 2),
    (b"mc", b"set", 3),
    (b"htpasswd", b"-b", 2),
    (b"htpasswd", b"-bc", 2),
    (b"htpasswd", b"-cb", 2),
    (b"htpasswd", b"-nb", 1),
    (b"htpasswd", b"-bn", 1),
];

/// Read the command line around `i` once and add its secret arguments.
pub(super) fn command_line(b: &[u8], i: usize, st: &mut State, out: &mut Vec<Span>) {
    if i < st.commands_done {
        return;
    }
    let lo = b[i.saturating_sub(LINE_REACH)..i]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(i.saturating_sub(LINE_REACH), |p| {
            i.saturating_sub(LINE_REACH) + p + 1
        });
    let hi_limit = b.len().min(i + LINE_REACH);
    let hi = b[i..hi_limit]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(hi_limit, |p| i + p);
    st.commands_done = hi;
    let cmds = commands(b, lo, hi);
    for (n, cmd) in cmds.iter().enumerate() {
        flags_of(b, cmd, out);
        // `echo X | docker login --password-stdin`: the echoed value.
        let stdin_secret = cmd.iter().any(|w| {
            let word = &b[w.start..w.end];
            word.ends_with(b"-stdin") || word == b"--with-token" || word == b"--data-file=-"
        });
        if stdin_secret && n > 0 {
            echoed(b, &cmds[n - 1], out);
        }
        // `<<< X` after a command about logins or tokens.
        if let Some(k) = cmd.iter().position(|w| &b[w.start..w.end] == b"<<<") {
            let about_secrets = cmd[..k].iter().any(|w| {
                let word = b[w.start..w.end].to_ascii_lowercase();
                [&b"login"[..], b"token", b"password", b"secret", b"auth"]
                    .iter()
                    .any(|s| memchr::memmem::find(&word, s).is_some())
            });
            if about_secrets && let Some(w) = cmd.get(k + 1) {
                push_value(b, w, out);
            }
        }
    }
}

/// The flags of one command.
fn flags_of(b: &[u8], cmd: &[Word], out: &mut Vec<Span>) {
    let (p, prog) = program(b, cmd);
    let args = cmd.get(p + 1..).unwrap_or(&[]);
    let word = |w: &Word| &b[w.start..w.end];
    for rule in RULES {
        if !rule.programs.contains(&prog) {
            continue;
        }
        if let Some(needed) = rule.needs
            && !args.iter().any(|w| word(w) == needed)
        {
            continue;
        }
        for (k, w) in args.iter().enumerate() {
            let text = word(w);
            if rule.separate.contains(&text) {
                if let Some(next) = args.get(k + 1) {
                    push_value(b, next, out);
                }
            } else if let Some(flag) = rule
                .attached
                .iter()
                .find(|f| text.len() > f.len() && text.starts_with(f))
            {
                let vs = (w.start + flag.len()).max(w.vs);
                let ve = if w.ve > vs { w.ve } else { w.end };
                push_range(b, vs, ve, out);
            }
        }
    }
    // `smbclient -U user%password`.
    if prog == b"smbclient"
        && let Some(k) = args.iter().position(|w| word(w) == b"-U")
        && let Some(w) = args.get(k + 1)
        && let Some(pct) = memchr::memchr(b'%', &b[w.vs..w.ve])
    {
        push_range(b, w.vs + pct + 1, w.ve, out);
    }
    // `sqlplus scott/tiger@db`: the password between `/` and `@`.
    if matches!(prog, b"sqlplus" | b"rman" | b"expdp" | b"impdp" | b"sqlldr")
        && let Some(w) = args.iter().find(|w| !b[w.start..w.end].starts_with(b"-"))
        && let Some(slash) = memchr::memchr(b'/', &b[w.vs..w.ve])
    {
        let pw_start = w.vs + slash + 1;
        let pw_end = memchr::memchr(b'@', &b[pw_start..w.ve]).map_or(w.ve, |a| pw_start + a);
        push_range(b, pw_start, pw_end, out);
    }
    // `net use \\srv\share /user:DOMAIN\bob PASSWORD`.
    if prog == b"net"
        && let Some(k) = args.iter().position(|w| {
            b[w.start..w.end].len() > 6 && b[w.start..w.start + 6].eq_ignore_ascii_case(b"/user:")
        })
        && let Some(w) = args.get(k + 1)
        && !b[w.start..w.end].starts_with(b"/")
    {
        push_value(b, w, out);
    }
    // `openssl … -passout pass:X`, anywhere.
    for w in args {
        if b[w.vs..w.ve].starts_with(b"pass:") {
            push_range(b, w.vs + 5, w.ve, out);
        }
    }
    for (p_name, verb) in SETTERS {
        if prog != *p_name {
            continue;
        }
        if let Some(k) = args.iter().position(|w| word(w) == *verb) {
            let rest: Vec<&Word> = args[k + 1..]
                .iter()
                .filter(|w| !b[w.start..w.end].starts_with(b"-"))
                .collect();
            // `NAME VALUE` pairs (`rclone config create r s3 access_key_id
            // X secret_access_key Y`); `http-basic.HOST USER PASSWORD`.
            for (k, name) in rest.iter().enumerate() {
                let name = &b[name.vs..name.ve];
                let skip = usize::from(name.starts_with(b"http-basic"));
                if (skip == 1 || setting_is_secret(name))
                    && let Some(value) = rest.get(k + 1 + skip)
                {
                    push_value(b, value, out);
                }
            }
        }
    }
    for (p_name, verb, index) in POSITIONAL {
        if prog != *p_name {
            continue;
        }
        if let Some(k) = args.iter().position(|w| word(w) == *verb)
            && let Some(w) = args[k + 1..]
                .iter()
                .filter(|w| !b[w.start..w.end].starts_with(b"-"))
                .nth(*index)
            && !b[w.vs..w.ve].contains(&b'=')
        {
            push_value(b, w, out);
        }
    }
}

/// A setting's name looks secret: `//registry/:_authToken`, `github.token`,
/// `aws_secret_access_key`.
fn setting_is_secret(name: &[u8]) -> bool {
    let last = name
        .rsplit(|&c| c == b':' || c == b'/' || c == b'.')
        .next()
        .unwrap_or(name);
    is_secret_name(last)
        || is_secret_name(name)
        || mentions_secret(name)
        || name.starts_with(b"github-oauth")
}

/// The last argument of `echo X` / `printf '%s' X`.
fn echoed(b: &[u8], cmd: &[Word], out: &mut Vec<Span>) {
    let (p, prog) = program(b, cmd);
    if (prog == b"echo" || prog == b"printf")
        && cmd.len() > p + 1
        && let Some(w) = cmd.last()
    {
        push_value(b, w, out);
    }
}

fn push_value(b: &[u8], w: &Word, out: &mut Vec<Span>) {
    push_range(b, w.vs, w.ve, out);
}

/// Redact `b[vs..ve]` unless it is a reference (`$TOKEN`, `$(cat f)`), a
/// placeholder, or an unquoted next flag.
fn push_range(b: &[u8], vs: usize, ve: usize, out: &mut Vec<Span>) {
    let v = &b[vs..ve];
    let quoted = vs > 0 && matches!(b[vs - 1], b'"' | b'\'');
    if ve > vs && plain_value_ok(v) && !is_placeholder(v) && (quoted || !v.starts_with(b"-")) {
        out.push(span(vs, ve, K_PASSWORD_FLAG, P_CONTEXT));
    }
}

/// Commands whose output is a secret: (program, words that must all
/// follow it).
const PRINTERS: &[(&[u8], &[&[u8]])] = &[
    (b"heroku", &[b"auth:token"]),
    (b"heroku", &[b"authorizations:create"]),
    (b"fly", &[b"auth", b"token"]),
    (b"flyctl", &[b"auth", b"token"]),
    (b"fly", &[b"tokens", b"create"]),
    (b"gh", &[b"auth", b"token"]),
    (b"gh", &[b"--show-token"]),
    (b"gcloud", &[b"print-access-token"]),
    (b"gcloud", &[b"print-identity-token"]),
    (b"aws", &[b"get-login-password"]),
    (b"aws", &[b"get-session-token"]),
    (b"aws", &[b"export-credentials"]),
    (b"aws", &[b"configure", b"get"]),
    (b"az", &[b"get-access-token"]),
    (b"vault", &[b"print", b"token"]),
    (b"vault", &[b"kv", b"get"]),
    (b"vault", &[b"read"]),
    (b"kubectl", &[b"get", b"secret"]),
    (b"kubectl", &[b"get", b"secrets"]),
    (b"kubectl", &[b"create", b"token"]),
    (b"doctl", &[b"auth", b"token"]),
    (b"op", &[b"read"]),
    (b"op", &[b"--reveal"]),
    (b"bw", &[b"get", b"password"]),
    (b"pass", &[b"show"]),
    (b"gopass", &[b"show"]),
    (b"security", &[b"-w"]),
    (b"secret-tool", &[b"lookup"]),
    (b"npm", &[b"token", b"create"]),
    (b"doppler", &[b"secrets", b"get"]),
    (b"infisical", &[b"secrets", b"get"]),
    (b"openssl", &[b"rand"]),
    (b"aws", &[b"get-parameter", b"--with-decryption"]),
    (b"aws", &[b"get-parameters", b"--with-decryption"]),
    (b"aws", &[b"get-secret-value"]),
    (b"gcloud", &[b"secrets", b"access"]),
    (b"az", &[b"secret", b"show"]),
    (b"heroku", &[b"config:get"]),
    (b"kubectl", &[b"view", b"--raw"]),
];

/// Does a shell command print a secret: a token printer (`gh auth token`,
/// `aws ecr get-login-password`, `vault kv get`), or `echo`/`printenv` of a
/// secret-named variable (`echo $GITHUB_TOKEN`)?
pub(crate) fn prints_secret(command: &str) -> bool {
    let b = command.as_bytes();
    let mut start = 0;
    for line in b.split(|&c| c == b'\n') {
        let lo = start;
        start += line.len() + 1;
        if line.len() > LINE_REACH {
            continue;
        }
        for cmd in commands(b, lo, lo + line.len()) {
            let (p, prog) = program(b, &cmd);
            let args: Vec<&[u8]> = cmd
                .get(p + 1..)
                .unwrap_or(&[])
                .iter()
                .map(|w| &b[w.vs..w.ve])
                .collect();
            let printer = PRINTERS
                .iter()
                .any(|(name, words)| prog == *name && words.iter().all(|w| args.contains(w)));
            let echoes_secret = (prog == b"echo" || prog == b"printenv")
                && args.iter().any(|a| {
                    let var = a.strip_prefix(b"$").unwrap_or(a);
                    let var = var
                        .strip_prefix(b"{")
                        .and_then(|v| v.strip_suffix(b"}"))
                        .unwrap_or(var);
                    (prog == b"printenv" || a.starts_with(b"$")) && is_secret_name(var)
                });
            if printer || echoes_secret {
                return true;
            }
        }
    }
    false
}

/// A shell transcript in text, `$ gh auth token` then its output: when the
/// command prints a secret, the output lines up to the next prompt or blank
/// line (the trigger is `$ ` at a line start). In a diff or grep output a
/// line holding only its prefix (`+`, `notes.txt-12-`) is blank.
pub(super) fn transcript(b: &[u8], i: usize) -> Option<Span> {
    let ls = line_start(b, i);
    let ls = (ls + line_prefix_len(b, ls)).min(i);
    if !b[ls..i].iter().all(|c| c.is_ascii_whitespace()) {
        return None;
    }
    let cmd_end = line_end(b, i);
    let command = std::str::from_utf8(&b[i + 2..cmd_end]).ok()?;
    if cmd_end >= b.len() || !prints_secret(command) {
        return None;
    }
    let start = cmd_end + 1;
    let limit = b.len().min(start + LINE_REACH);
    let mut end = start;
    while end < limit {
        let le = line_end(b, end).min(limit);
        let body = (end + line_prefix_len(b, end)).min(le);
        let line = b[body..le].trim_ascii();
        if line.is_empty() || line.starts_with(b"$ ") {
            break;
        }
        end = le + 1;
    }
    let end = end.min(b.len());
    let out_end = if end > start && b[end - 1] == b'\n' {
        end - 1
    } else {
        end
    };
    (out_end > start).then(|| span(start, out_end, K_SECRET_OUTPUT, P_CONTEXT))
}
