use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::*;

const NO_ENV: [(&str, &str); 0] = [];

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let file = dir.join("config.toml");
    fs::write(&file, text).unwrap();
    file
}

fn load_env(file: &Path, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::load_with_env(file, env.iter().copied())
}

fn parse_err(text: &str) -> String {
    Config::from_toml_str(text).unwrap_err().to_string()
}

/// Dotted names of all leaves of a TOML table (a table that is empty is a
/// leaf too, so `privacy.extra_patterns` counts).
fn leaf_keys(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) if !t.is_empty() => leaf_keys(t, &name, out),
            _ => {
                out.insert(name);
            }
        }
    }
}

fn default_table() -> toml::Table {
    overrides::to_table(&Config::default()).unwrap()
}

// ---------------------------------------------------------------- defaults

#[test]
fn defaults_match_the_spec() {
    let c = Config::default();
    assert_eq!(c.capture.max_field_bytes, 16384);
    assert_eq!(c.capture.max_event_bytes, 262144);
    assert_eq!(c.capture.max_stdin_bytes, 67108864);
    assert_eq!(c.capture.dedupe_window_secs, 10);
    assert!(c.capture.skip_tools.is_empty());
    assert!(c.capture.exclude_projects.is_empty());
    assert!(c.privacy.extra_patterns.is_empty());
    assert!(c.privacy.secret_files.is_empty());
    assert_eq!(c.store.busy_timeout_ms, 2000);
    assert_eq!(c.store.synchronous, Synchronous::Normal);
    assert_eq!(c.log.level, LogLevel::Info);
    assert_eq!(c.log.max_bytes, 1048576);
    assert_eq!(c.log.keep, 3);
}

#[test]
fn documented_defaults_parse_to_exactly_the_defaults() {
    assert_eq!(
        Config::from_toml_str(DOCUMENTED_DEFAULTS).unwrap(),
        Config::default()
    );
}

#[test]
fn every_key_is_documented() {
    let mut expected = BTreeSet::new();
    leaf_keys(&default_table(), "", &mut expected);
    let documented_table: toml::Table = DOCUMENTED_DEFAULTS.parse().unwrap();
    let mut documented = BTreeSet::new();
    leaf_keys(&documented_table, "", &mut documented);
    assert_eq!(documented, expected, "config.example.toml keys differ");
    assert!(expected.contains("privacy.extra_patterns"));
}

#[test]
fn every_documented_key_has_a_comment_and_its_env_var() {
    let lines: Vec<&str> = DOCUMENTED_DEFAULTS.lines().collect();
    let mut section = "";
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[') {
            section = name.trim_end_matches(']');
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        assert!(
            i > 0 && lines[i - 1].starts_with('#'),
            "line {}: `{line}` has no comment above it",
            i + 1
        );
        if line.starts_with('[') {
            continue;
        }
        let key = line.split('=').next().unwrap().trim();
        let var = overrides::env_var_name(section, key);
        assert_eq!(
            lines[i - 1].trim(),
            format!("# env: {var}"),
            "line {}: {section}.{key} should name its variable",
            i + 1
        );
    }
}

#[test]
fn to_toml_round_trips() {
    let mut c = Config::default();
    assert_eq!(Config::from_toml_str(&c.to_toml()).unwrap(), c);

    c.capture.max_field_bytes = 1;
    c.capture.skip_tools = vec!["TodoWrite".into(), "mcp__*".into()];
    c.capture.exclude_projects = vec!["~/secret/*".into()];
    c.privacy
        .extra_patterns
        .insert("tok".into(), r#"tok_[a-z"\\]+"#.into());
    c.privacy.secret_files = vec!["*.kdbx".into()];
    c.store.synchronous = Synchronous::Full;
    c.store.busy_timeout_ms = 0;
    c.log.level = LogLevel::Trace;
    c.log.keep = 0;
    let text = c.to_toml();
    assert_eq!(Config::from_toml_str(&text).unwrap(), c, "{text}");
}

#[test]
fn enums_display_as_in_the_file() {
    assert_eq!(Synchronous::Full.to_string(), "full");
    assert_eq!(Synchronous::Normal.as_str(), "normal");
    assert_eq!(LogLevel::Warn.to_string(), "warn");
    assert!(LogLevel::Error < LogLevel::Trace);
}

// ---------------------------------------------------------------- file loading

#[test]
fn missing_file_gives_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    assert_eq!(load_env(&file, &[]).unwrap(), Config::default());
    let (c, err) = Config::load_or_default_with_env(&file, NO_ENV);
    assert_eq!(c, Config::default());
    assert!(err.is_none());
}

#[test]
fn missing_home_dir_gives_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("not-yet"));
    assert_eq!(
        Config::load_with_env(&paths.config_file, NO_ENV).unwrap(),
        Config::default()
    );
}

#[test]
fn empty_file_gives_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "");
    assert_eq!(load_env(&file, &[]).unwrap(), Config::default());
    let file = write_config(dir.path(), "# nothing\n\n[capture]\n");
    assert_eq!(load_env(&file, &[]).unwrap(), Config::default());
}

#[test]
fn valid_file_overrides_defaults_key_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        dir.path(),
        r#"
[capture]
max_field_bytes = 4096
skip_tools = ["TodoWrite", "mcp__*"]
exclude_projects = ["~/work/secret-*"]

[privacy]
secret_files = ["*.kdbx"]
[privacy.extra_patterns]
internal_token = "itk_[A-Za-z0-9]{32}"

[store]
synchronous = "full"

[log]
level = "debug"
keep = 5
"#,
    );
    let c = load_env(&file, &[]).unwrap();
    let mut expected = Config::default();
    expected.capture.max_field_bytes = 4096;
    expected.capture.skip_tools = vec!["TodoWrite".into(), "mcp__*".into()];
    expected.capture.exclude_projects = vec!["~/work/secret-*".into()];
    expected.privacy.secret_files = vec!["*.kdbx".into()];
    expected
        .privacy
        .extra_patterns
        .insert("internal_token".into(), "itk_[A-Za-z0-9]{32}".into());
    expected.store.synchronous = Synchronous::Full;
    expected.log.level = LogLevel::Debug;
    expected.log.keep = 5;
    assert_eq!(c, expected);
}

#[test]
fn load_reads_paths_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path());
    write_config(dir.path(), "[log]\nkeep = 7\n");
    // The process environment of the test runner has no MNEMO_* overrides
    // (unless someone sets them); only check the file's key.
    if std::env::vars().all(|(k, _)| !k.starts_with("MNEMO_LOG_")) {
        assert_eq!(Config::load(&paths).unwrap().log.keep, 7);
        assert_eq!(Config::load_or_default(&paths).0.log.keep, 7);
    }
}

#[test]
fn wrong_type_names_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "[capture]\n\nmax_field_bytes = \"big\"\n");
    let err = load_env(&file, &[]).unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        msg,
        format!(
            "{}: capture.max_field_bytes: invalid type: string \"big\", expected usize (line 3)",
            file.display()
        )
    );
    assert!(
        matches!(err, ConfigError::InvalidValue { ref key, line: Some(3), .. } if key == "capture.max_field_bytes")
    );
}

#[test]
fn bad_values_name_the_key() {
    let msg = parse_err("[capture]\nmax_field_bytes = -1\n");
    assert!(
        msg.starts_with("<config>: capture.max_field_bytes: "),
        "{msg}"
    );
    let msg = parse_err("[store]\nsynchronous = \"fulll\"\n");
    assert!(
        msg.starts_with("<config>: store.synchronous: unknown variant `fulll`"),
        "{msg}"
    );
    assert!(msg.contains("(line 2)"), "{msg}");
    let msg = parse_err("[capture]\nskip_tools = [\"a\", 3]\n");
    assert!(
        msg.starts_with("<config>: capture.skip_tools[1]: invalid type: integer `3`"),
        "{msg}"
    );
    let msg = parse_err("[privacy.extra_patterns]\ntok = 5\n");
    assert!(
        msg.starts_with("<config>: privacy.extra_patterns.tok: invalid type"),
        "{msg}"
    );
    let msg = parse_err("capture = 5\n");
    assert!(
        msg.starts_with("<config>: capture: invalid type: integer `5`"),
        "{msg}"
    );
    let msg = parse_err("[log]\nkeep = 4294967296\n");
    assert!(msg.starts_with("<config>: log.keep: "), "{msg}");
}

#[test]
fn unknown_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "[capture]\nmax_feild_bytes = 1\n");
    let err = load_env(&file, &[]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "{}: unknown key capture.max_feild_bytes (line 2); expected one of `max_field_bytes`",
            file.display()
        )),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
    assert!(
        matches!(err, ConfigError::UnknownKey { ref key, .. } if key == "capture.max_feild_bytes")
    );

    let msg = parse_err("[captrue]\n");
    assert!(msg.starts_with("<config>: unknown key captrue"), "{msg}");
    assert!(msg.contains("`capture`"), "{msg}");
    let msg = parse_err("top = 1\n");
    assert!(msg.starts_with("<config>: unknown key top"), "{msg}");
}

#[test]
fn syntax_error_gives_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        dir.path(),
        "[capture]\nmax_field_bytes = 1\nskip_tools = [\n",
    );
    let err = load_env(&file, &[]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{msg}");
    assert!(
        msg.starts_with(&format!("{}:3:", file.display()))
            || msg.starts_with(&format!("{}:4:", file.display())),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");

    let msg = parse_err("[log]\nlevel = \"debug\"\nkeep = = 3\n");
    assert!(
        msg.starts_with("<config>:3:8: TOML syntax error: "),
        "{msg}"
    );
    let msg = parse_err("[log]\nkeep = 1\nkeep = 2\n");
    assert!(msg.starts_with("<config>:3:"), "{msg}");
}

#[test]
fn unreadable_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    fs::create_dir(&file).unwrap();
    let err = load_env(&file, &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }), "{err}");
    assert!(err.to_string().starts_with(&file.display().to_string()));
    let (c, err) = Config::load_or_default_with_env(&file, [("MNEMO_LOG_KEEP", "9")]);
    assert!(err.is_some());
    assert_eq!(c.log.keep, 9);
}

#[test]
fn non_utf8_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    fs::write(&file, b"[log]\nlevel = \"\xff\"\n").unwrap();
    assert!(load_env(&file, &[]).is_err());
}

// ---------------------------------------------------------------- environment

#[test]
fn env_overrides_integer() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "[capture]\nmax_field_bytes = 4096\n");
    let c = load_env(&file, &[("MNEMO_CAPTURE_MAX_FIELD_BYTES", "8192")]).unwrap();
    assert_eq!(c.capture.max_field_bytes, 8192);
    let c = load_env(&file, &[("MNEMO_LOG_MAX_BYTES", " 2_000_000 ")]).unwrap();
    assert_eq!(c.log.max_bytes, 2_000_000);
    assert_eq!(c.capture.max_field_bytes, 4096, "file value kept");
}

#[test]
fn env_overrides_enum() {
    let c = load_env(
        Path::new("/nonexistent/config.toml"),
        &[
            ("MNEMO_STORE_SYNCHRONOUS", "full"),
            ("MNEMO_LOG_LEVEL", "debug"),
        ],
    )
    .unwrap();
    assert_eq!(c.store.synchronous, Synchronous::Full);
    assert_eq!(c.log.level, LogLevel::Debug);
}

#[test]
fn env_overrides_list() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "[capture]\nskip_tools = [\"Bash\"]\n");
    let c = load_env(&file, &[("MNEMO_CAPTURE_SKIP_TOOLS", "TodoWrite,mcp__*")]).unwrap();
    assert_eq!(c.capture.skip_tools, ["TodoWrite", "mcp__*"]);
    let c = load_env(&file, &[("MNEMO_CAPTURE_SKIP_TOOLS", " a , ,b,")]).unwrap();
    assert_eq!(c.capture.skip_tools, ["a", "b"]);
    let c = load_env(&file, &[("MNEMO_CAPTURE_SKIP_TOOLS", "")]).unwrap();
    assert!(c.capture.skip_tools.is_empty(), "empty value = empty list");
    let c = load_env(&file, &[("MNEMO_PRIVACY_SECRET_FILES", "*.kdbx")]).unwrap();
    assert_eq!(c.privacy.secret_files, ["*.kdbx"]);
    assert_eq!(c.capture.skip_tools, ["Bash"]);
}

#[test]
fn env_string_keeps_spaces_and_empty_scalar_is_unset() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "[log]\nlevel = \"warn\"\nkeep = 5\n");
    let c = load_env(&file, &[("MNEMO_LOG_LEVEL", ""), ("MNEMO_LOG_KEEP", "  ")]).unwrap();
    assert_eq!(c.log.level, LogLevel::Warn);
    assert_eq!(c.log.keep, 5);
}

#[test]
fn precedence_is_defaults_file_env() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        dir.path(),
        "[store]\nbusy_timeout_ms = 500\nsynchronous = \"full\"\n",
    );
    let c = load_env(&file, &[("MNEMO_STORE_BUSY_TIMEOUT_MS", "750")]).unwrap();
    assert_eq!(c.store.busy_timeout_ms, 750); // env beats file
    assert_eq!(c.store.synchronous, Synchronous::Full); // file beats default
    assert_eq!(c.log, LogConfig::default()); // defaults elsewhere
}

#[test]
fn every_scalar_and_list_key_has_an_env_override() {
    // Set every overridable key from the environment to a non-default value
    // and check each one changed: a new key gets its override for free.
    let table = default_table();
    for (section, keys) in &table {
        for (key, value) in keys.as_table().unwrap() {
            let var = overrides::env_var_name(section, key);
            let raw = match value {
                toml::Value::Integer(i) => (i + 1).to_string(),
                toml::Value::Array(_) => "x,y".to_owned(),
                toml::Value::Boolean(b) => (!b).to_string(),
                toml::Value::String(s) if s.is_empty() || s == "claude" => "x".to_owned(),
                toml::Value::String(_) => continue, // enums: covered above
                toml::Value::Table(_) => {
                    let err = load_env(Path::new("/nonexistent"), &[(&var, "x")]).unwrap_err();
                    assert!(
                        matches!(err, ConfigError::UnknownEnv { .. }),
                        "{var}: {err}"
                    );
                    assert!(err.to_string().contains("no environment override"), "{err}");
                    continue;
                }
                other => panic!("{section}.{key}: add a test value for {other:?}"),
            };
            let c = load_env(Path::new("/nonexistent"), &[(&var, &raw)]).unwrap();
            let got = &overrides::to_table(&c).unwrap()[section.as_str()][key.as_str()];
            assert_ne!(got, value, "{var} had no effect");
        }
    }
}

#[test]
fn invalid_env_value_names_the_variable() {
    let none = Path::new("/nonexistent/config.toml");
    let err = load_env(none, &[("MNEMO_CAPTURE_MAX_FIELD_BYTES", "big")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "$MNEMO_CAPTURE_MAX_FIELD_BYTES=\"big\": capture.max_field_bytes: expected an integer"
    );
    let err = load_env(none, &[("MNEMO_CAPTURE_MAX_FIELD_BYTES", "-3")]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "$MNEMO_CAPTURE_MAX_FIELD_BYTES=\"-3\": capture.max_field_bytes: invalid value"
        ),
        "{msg}"
    );
    let err = load_env(none, &[("MNEMO_STORE_SYNCHRONOUS", "sometimes")]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "$MNEMO_STORE_SYNCHRONOUS=\"sometimes\": store.synchronous: unknown variant `sometimes`"
        ),
        "{msg}"
    );
    assert!(
        matches!(err, ConfigError::InvalidEnv { ref var, .. } if var == "MNEMO_STORE_SYNCHRONOUS")
    );
    let err = load_env(none, &[("MNEMO_LOG_KEEP", "99999999999")]).unwrap_err();
    assert!(err.to_string().starts_with("$MNEMO_LOG_KEEP="), "{err}");
}

#[cfg(unix)]
#[test]
fn non_utf8_env_value_names_the_variable() {
    use std::os::unix::ffi::OsStringExt;
    let env = [(
        OsString::from("MNEMO_LOG_LEVEL"),
        OsString::from_vec(b"de\xffbug".to_vec()),
    )];
    let err = Config::load_with_env(Path::new("/nonexistent"), env).unwrap_err();
    assert!(err.to_string().starts_with("$MNEMO_LOG_LEVEL="), "{err}");
    assert!(err.to_string().contains("UTF-8"), "{err}");
}

#[test]
fn unknown_override_in_a_known_section_is_an_error() {
    let none = Path::new("/nonexistent/config.toml");
    let err = load_env(none, &[("MNEMO_CAPTURE_MAX_FEILD_BYTES", "1")]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("$MNEMO_CAPTURE_MAX_FEILD_BYTES: no such config key in [capture]"),
        "{msg}"
    );
    assert!(msg.contains("MNEMO_CAPTURE_MAX_FIELD_BYTES"), "{msg}");
}

#[test]
fn other_mnemo_variables_are_ignored() {
    let c = load_env(
        Path::new("/nonexistent"),
        &[
            ("MNEMO_HOME", "/somewhere"),
            ("MNEMO_DISABLE_HOOKS", "1"),
            ("MNEMO_LOG", "whatever"),
            ("MNEMO_SOMETHING_ELSE", "x"),
            ("HOME", "/home/x"),
            ("mnemo_log_level", "debug"),
        ],
    )
    .unwrap();
    assert_eq!(c, Config::default());
}

// ---------------------------------------------------------------- load_or_default

#[test]
fn load_or_default_keeps_valid_keys_of_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        dir.path(),
        "[capture]\nexclude_projects = [\"/secret/*\"]\nmax_field_bytes = \"big\"\n\
         typo = 1\n[log]\nkeep = 5\nlevel = \"loud\"\n[nonsense]\nx = 1\n",
    );
    let strict = load_env(&file, &[]).unwrap_err().to_string();
    let (c, err) = Config::load_or_default_with_env(&file, [("MNEMO_LOG_MAX_BYTES", "10")]);
    assert_eq!(err.unwrap().to_string(), strict);
    let mut expected = Config::default();
    expected.capture.exclude_projects = vec!["/secret/*".into()];
    expected.log.keep = 5;
    expected.log.max_bytes = 10;
    assert_eq!(c, expected);
}

#[test]
fn load_or_default_falls_back_to_defaults_on_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "[log]\nkeep = 5\nlevel = \n");
    let (c, err) = Config::load_or_default_with_env(
        &file,
        [
            ("MNEMO_STORE_SYNCHRONOUS", "full"),
            ("MNEMO_LOG_LEVEL", "nope"),
        ],
    );
    assert!(
        matches!(err, Some(ConfigError::Syntax { line: 3, .. })),
        "{err:?}"
    );
    let mut expected = Config::default();
    expected.store.synchronous = Synchronous::Full;
    assert_eq!(c, expected);
}

#[test]
fn load_or_default_skips_only_invalid_env() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "[capture]\nskip_tools = [\"Bash\"]\n");
    let (c, err) = Config::load_or_default_with_env(
        &file,
        [
            ("MNEMO_LOG_LEVEL", "verbose"),
            ("MNEMO_LOG_KEEP", "1"),
            ("MNEMO_STORE_FOO", "1"),
        ],
    );
    let err = err.unwrap();
    // Variables are applied in name order; the first error is reported.
    assert!(err.to_string().starts_with("$MNEMO_LOG_LEVEL="), "{err}");
    let mut expected = Config::default();
    expected.capture.skip_tools = vec!["Bash".into()];
    expected.log.keep = 1;
    assert_eq!(c, expected);
}

// ---------------------------------------------------------------- hooks switch

#[test]
fn disable_hooks_values() {
    assert!(!disables_hooks(None));
    assert!(!disables_hooks(Some(OsStr::new(""))));
    assert!(!disables_hooks(Some(OsStr::new("0"))));
    assert!(disables_hooks(Some(OsStr::new("1"))));
    assert!(disables_hooks(Some(OsStr::new("yes"))));
}

// ---------------------------------------------------------------- paths

#[test]
fn paths_layout() {
    let p = Paths::new("/data/m");
    assert_eq!(p.home, Path::new("/data/m"));
    assert_eq!(p.db, Path::new("/data/m/mnemo.db"));
    assert_eq!(p.config_file, Path::new("/data/m/config.toml"));
    assert_eq!(p.spool_dir, Path::new("/data/m/spool"));
    assert_eq!(p.log_dir, Path::new("/data/m/logs"));
}

#[test]
fn paths_from_vars() {
    let os = |s: &str| Some(OsString::from(s));
    assert_eq!(
        Paths::from_vars(os("/x/m"), os("/home/u")).unwrap().home,
        Path::new("/x/m")
    );
    assert_eq!(
        Paths::from_vars(None, os("/home/u")).unwrap().home,
        Path::new("/home/u/.mnemo")
    );
    assert_eq!(
        Paths::from_vars(os(""), os("/home/u")).unwrap().home,
        Path::new("/home/u/.mnemo")
    );
    assert_eq!(
        Paths::from_vars(os("~/m"), os("/home/u")).unwrap().home,
        Path::new("/home/u/m")
    );
    assert_eq!(
        Paths::from_vars(os("~"), os("/home/u")).unwrap().home,
        Path::new("/home/u")
    );
    let err = Paths::from_vars(os("rel/m"), os("/home/u")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "$MNEMO_HOME must be an absolute path, got \"rel/m\""
    );
    assert!(matches!(
        Paths::from_vars(os("~/m"), None),
        Err(ConfigError::NoHome)
    ));
    assert!(matches!(
        Paths::from_vars(None, None),
        Err(ConfigError::NoHome)
    ));
    assert!(matches!(
        Paths::from_vars(None, os("")),
        Err(ConfigError::NoHome)
    ));
    assert!(matches!(
        Paths::from_vars(None, os("rel")),
        Err(ConfigError::NoHome)
    ));
    assert_eq!(
        Paths::from_vars(os("/x/m"), None).unwrap().home,
        Path::new("/x/m")
    );
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn ensure_dirs_creates_private_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("a/b/home"));
    paths.ensure_dirs().unwrap();
    for d in [&paths.home, &paths.spool_dir, &paths.log_dir] {
        assert!(d.is_dir());
        assert_eq!(mode(d), 0o700, "{}", d.display());
    }
    assert!(!paths.db.exists());
    assert!(!paths.config_file.exists());
}

#[cfg(unix)]
#[test]
fn ensure_dirs_tightens_existing_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("home"));
    fs::create_dir(&paths.home).unwrap();
    set_mode(&paths.home, 0o755);
    fs::write(&paths.config_file, "").unwrap();
    paths.ensure_dirs().unwrap();
    assert_eq!(mode(&paths.home), 0o700);
    assert_eq!(mode(&paths.spool_dir), 0o700);
    assert_eq!(mode(&paths.log_dir), 0o700);
    assert!(paths.config_file.exists(), "contents untouched");

    // Loosened again later, subdirectory included.
    set_mode(&paths.home, 0o755);
    set_mode(&paths.log_dir, 0o777);
    paths.ensure_dirs().unwrap();
    assert_eq!(mode(&paths.home), 0o700);
    assert_eq!(mode(&paths.log_dir), 0o700);
}

#[cfg(unix)]
#[test]
fn ensure_dirs_is_idempotent_and_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("home"));
    for _ in 0..3 {
        paths.ensure_dirs().unwrap();
        assert_eq!(mode(&paths.home), 0o700);
        assert!(paths.spool_dir.is_dir() && paths.log_dir.is_dir());
    }
    // A hand-made 0700 home without subdirectories is completed (on file
    // systems that count subdirectory links, i.e. not btrfs).
    let bare = Paths::new(dir.path().join("bare"));
    fs::create_dir(&bare.home).unwrap();
    set_mode(&bare.home, 0o700);
    bare.ensure_dirs().unwrap();
    use std::os::unix::fs::MetadataExt;
    if fs::metadata(&bare.home).unwrap().nlink() != 1 {
        assert!(bare.spool_dir.is_dir() && bare.log_dir.is_dir());
    }
    // A subdirectory of a home that is not yet 0700 is always restored.
    fs::remove_dir(&bare.log_dir).ok();
    set_mode(&bare.home, 0o750);
    bare.ensure_dirs().unwrap();
    assert!(bare.log_dir.is_dir());
}

#[cfg(unix)]
#[test]
fn ensure_dirs_rejects_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("home"));
    fs::write(&paths.home, "").unwrap();
    let err = paths.ensure_dirs().unwrap_err();
    assert!(matches!(err, ConfigError::NotADirectory { .. }), "{err}");

    let paths = Paths::new(dir.path().join("home2"));
    fs::create_dir(&paths.home).unwrap();
    fs::write(&paths.spool_dir, "").unwrap();
    let err = paths.ensure_dirs().unwrap_err();
    assert!(matches!(err, ConfigError::NotADirectory { .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn ensure_dirs_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("home"));
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| paths.ensure_dirs().unwrap());
        }
    });
    assert_eq!(mode(&paths.home), 0o700);
    assert!(paths.spool_dir.is_dir() && paths.log_dir.is_dir());
}

// ---------------------------------------------------------------- misc

#[test]
fn errors_are_one_line() {
    let msgs = [
        parse_err("[log]\nlevel = \n"),
        parse_err("[log\n"),
        parse_err("a = \"\n"),
        parse_err("[capture]\nnope = 1\n"),
    ];
    for m in msgs {
        assert!(!m.contains('\n'), "{m:?}");
    }
}

#[test]
fn line_col_counts_chars() {
    assert_eq!(line_col("ab\ncdé\nf", 0), (1, 1));
    assert_eq!(line_col("ab\ncdé\nf", 3), (2, 1));
    assert_eq!(line_col("ab\ncdé\nf", 7), (2, 4));
    assert_eq!(line_col("ab\ncdé\nf", 8), (3, 1));
    assert_eq!(line_col("ab", 99), (1, 3));
}

#[test]
fn a_team_url_is_shown_without_its_password() {
    assert_eq!(
        mask_url_password("postgresql://ana:s3cret@db.example.com:5432/mnemo?sslmode=require"),
        "postgresql://ana:***@db.example.com:5432/mnemo?sslmode=require"
    );
    assert_eq!(
        mask_url_password("postgres://db/mnemo?user=ana&password=s3cret"),
        "postgres://db/mnemo?user=ana&password=***"
    );
    assert_eq!(
        mask_url_password("postgresql://ana@db/mnemo"),
        "postgresql://ana@db/mnemo"
    );
    assert_eq!(
        mask_url_password("host=db user=ana PASSWORD=s3cret dbname=mnemo"),
        "host=db user=ana PASSWORD=*** dbname=mnemo"
    );
    assert_eq!(
        mask_url_password("postgres://db/x?old_password=a&password=b"),
        "postgres://db/x?old_password=a&password=***"
    );
    let config = Config {
        team: TeamConfig {
            url: "postgresql://ana:s3cret@db/mnemo".into(),
            ..TeamConfig::default()
        },
        ..Config::default()
    };
    assert!(!config.to_toml().contains("s3cret"));
}

#[test]
fn team_keys_have_environment_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let config = load_env(
        &dir.path().join("config.toml"),
        &[
            ("MNEMO_TEAM_URL", "postgresql://db/team"),
            ("MNEMO_TEAM_AUTHOR", "Ana"),
        ],
    )
    .unwrap();
    assert_eq!(config.team.url, "postgresql://db/team");
    assert_eq!(config.team.author, "Ana");
}
