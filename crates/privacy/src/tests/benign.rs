//! Ordinary developer text that the new shape, flag, base64 and join
//! detectors must leave exactly as it is.

use super::structure::all_unchanged;
use super::{ALNUM, gen_from, redactor};

#[test]
fn developer_text_survives() {
    let b64 = |n, seed| gen_from(&format!("{ALNUM}+/"), n, seed);
    let hex = |n, seed| gen_from("0123456789abcdef", n, seed);
    let cases = [
        format!(
            "\"node_modules/left-pad\": {{\n  \"version\": \"1.3.0\",\n  \"resolved\": \"https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz\",\n  \"integrity\": \"sha512-{}==\"\n}}",
            b64(86, 1)
        ),
        format!(
            "golang.org/x/text v0.14.0 h1:{}=\ngolang.org/x/text v0.14.0/go.mod h1:{}=",
            b64(43, 2),
            b64(43, 3)
        ),
        format!(
            "[[package]]\nname = \"serde\"\nversion = \"1.0.200\"\nchecksum = \"{}\"",
            hex(64, 4)
        ),
        format!(
            "commit {}\nMerge: {} {}\nAuthor: Dev <dev@example.com>\n\n    Fix the login page token refresh\n",
            hex(40, 5),
            hex(7, 6),
            hex(7, 7)
        ),
        "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: shop-db\n        key: password\n".to_string(),
        "- run: npm publish\n  env:\n    NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n".to_string(),
        "FROM node:20-alpine\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci --omit=dev\nENV NODE_ENV production\nEXPOSE 3000\nCMD [\"node\", \"server.js\"]\n".to_string(),
        "   Compiling mnemo-privacy v0.1.0 (/repo/crates/privacy)\n    Finished `dev` profile [unoptimized + debuginfo] target(s) in 4.21s\n     Running unittests src/lib.rs (target/debug/deps/mnemo_privacy-3f2b1c0d9e8a7b6c)\n".to_string(),
        "def test_login_rejects_bad_password(client):\n    resp = client.post(\"/login\", data={\"user\": \"bob\", \"password\": \"\"})\n    assert resp.status_code == 401\n".to_string(),
        "const handleLogin = async () => {\n  const res = await fetch('/api/login', { method: 'POST' });\n  setToken(res.headers.get('x-token'));\n};".to_string(),
        "!function(e,t){\"object\"==typeof exports?module.exports=t():e.lib=t()}(this,function(){return{a:1}});".to_string(),
        "mysql -u root -p\nEnter password:\nmysql> SHOW DATABASES;".to_string(),
        "docker login ghcr.io -u octocat --password-stdin < token.txt".to_string(),
        "git config --global user.name \"Dev\" && git config --global pull.rebase true".to_string(),
        "npm config set registry https://registry.npmjs.org/".to_string(),
        "The Discord bot and the Telegram bot now both log in. Nothing else changed.".to_string(),
        "See https://docs.example.com/guide#login for the OAuth flow and SSO setup.".to_string(),
        format!("const logo = \"data:image/png;base64,iVBORw0KGgo{}\";", b64(3000, 8)),
        "thread 'main' panicked at src/main.rs:12:5:\ncalled `Result::unwrap()` on an `Err` value: Os { code: 2, kind: NotFound }".to_string(),
        "let client = reqwest::Client::new();\nlet api = Api::new(\"https://api.example.com\");\nlet s = Session::connect(\"localhost:6379\");".to_string(),
        "SELECT id, email FROM users WHERE password_reset_token IS NULL;".to_string(),
        "INFO  request_id=3f2504e0-4f89-11d3-9a0c-0305e82c3301 path=/api/v1/items status=200 took=12ms".to_string(),
        "uses: actions/checkout@8e5e7e5ab8b370d6c329ec480221332ada57f0ab".to_string(),
        "image: ghcr.io/org/app@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9".to_string(),
        "echo \"Build finished\" && printf '%s\\n' done".to_string(),
        "  \"dependencies\": {\n    \"@octokit/auth-token\": \"^5.1.1\"\n  }".to_string(),
        "headers = {\"Authorization\": f\"Bearer {token}\"}".to_string(),
        "client_secret_version: 2.4.1".to_string(),
        format!("deploy/authorized_keys-1-ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{} deploy@ci", gen_from(ALNUM, 43, 12)),
        "SESSION_TIMEOUT=30\nsession_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301".to_string(),
        "password_hash: \"pbkdf2_sha256$260000$c2FsdA$aGFzaGhhc2hoYXNo\"".to_string(),
        "hashed_password = \"5f4dcc3b5aa765d61d8327deb882cf99\"".to_string(),
        "{\"user\": \"test\", \"passwordDigest\": \"W6ph5Mm5Pz8GgiULbPgzG37mj9g=\"}".to_string(),
    ];
    all_unchanged(&cases);
}

/// Names that mention a secret word hold a secret only when the value looks
/// generated.
#[test]
fn chosen_values_under_key_names_survive() {
    all_unchanged(&[
        "sort_key: created_at_desc_v2",
        "partition_key = \"tenant_42_orders\"",
        "cache_key: user_profile_v2_2024",
        "KEY_PREFIX=shop-prod-eu-west-1",
        "session.get(\"https://api.example.com/v1/items\")",
        "api.fetch(\"user_12345_profile\")",
    ]);
}

/// A token ending a line does not continue into the next line's first
/// word (only lines holding nothing but pieces are read as one folded
/// token).
#[test]
fn next_line_after_a_token_survives() {
    let r = redactor();
    let gh = format!("{}{}", "ghp_", gen_from(ALNUM, 36, 9));
    for next in [
        "shop-api-7deolsz2i0-e683v   1/1     Running   0   3h",
        "finished",
    ] {
        let input = format!("export GITHUB_TOKEN={gh}\n{next}");
        let out = r.clean_text(&input);
        assert_eq!(
            out,
            format!("export GITHUB_TOKEN=[REDACTED:github-token]\n{next}")
        );
    }
}

/// Calls and lists that mention secrets by name, not value.
#[test]
fn names_in_calls_and_lists_survive() {
    all_unchanged(&[
        "assert!(f.is_secret(\"x/vault-01.txt\"));",
        "let about = [\"key\", \"secret\", \"password\", \"token\"];",
        "/// `{\"key\": \"apiKey\", \"value\": …}` (Postman)",
        "if verify_password(\"hunter2\", &hash) {",
    ]);
}
