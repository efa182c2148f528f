//! Secrets placed by structure: every config dialect, values with dots,
//! passwords as command-line flags and positional arguments, secrets wrapped
//! in base64 or split over pieces; and the references to secrets that must
//! stay.

use super::providers::b64;
use super::{ALNUM, alnum, gen_from, redactor};

/// Assert each input loses `secret` (and any 12-byte piece of it).
#[track_caller]
fn all_redacted(cases: &[String], secret: &str) {
    let r = redactor();
    let mut missed = Vec::new();
    for input in cases {
        let out = r.clean_text(input);
        let piece_left =
            secret.len() >= 16 && (0..=secret.len() - 12).any(|i| out.contains(&secret[i..i + 12]));
        if out.contains(secret) || piece_left || !out.contains("[REDACTED:") {
            missed.push(format!("{input:?}\n  -> {out:?}"));
        }
    }
    assert!(missed.is_empty(), "leaked:\n{}", missed.join("\n"));
}

/// Assert each input comes out unchanged.
#[track_caller]
pub(crate) fn all_unchanged<S: AsRef<str>>(cases: &[S]) {
    let r = redactor();
    let changed: Vec<String> = cases
        .iter()
        .filter_map(|s| {
            let s = s.as_ref();
            let out = r.clean_text(s);
            (out != s).then(|| format!("{s:?}\n  -> {out:?}"))
        })
        .collect();
    assert!(changed.is_empty(), "changed:\n{}", changed.join("\n"));
}

#[test]
fn config_dialects() {
    let v = alnum(22, 1);
    let dotted = format!("{}.{}.{}", alnum(8, 2), alnum(6, 3), alnum(10, 4));
    let cases: Vec<String> = [
        "password: {v}",
        "  db_password: {v}\n  user: app",
        "api_key = \"{v}\"",
        "[database]\npassword={v}\n",
        "password = \"{v}\"\n",
        "db.password={v}",
        "spring.datasource.password: {v}",
        "<password>{v}</password>",
        "<Password>{v}</Password>",
        "<add key=\"ApiKey\" value=\"{v}\" />",
        "$env:API_TOKEN = \"{v}\"",
        "ENV API_TOKEN={v}",
        "ENV API_TOKEN {v}",
        "DOCKER_PASSWORD ?= {v}",
        "API_TOKEN := {v}",
        "ARG NPM_TOKEN={v}",
        "export SMTP_PASS={v}",
        "DB_PASS={v}",
        "machine api.example.com login bob password {v}",
        "machine api.example.com\n  login bob\n  password {v}\n",
        "Server=db;Database=shop;User Id=sa;Password={v};",
        "Server=db;Uid=sa;Pwd={v};",
        "jdbc:mysql://db:3306/shop?user=app&password={v}&useSSL=true",
        "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey={v}==;EndpointSuffix=core.windows.net",
        "DD_API_KEY: {v}",
        "DD_APPLICATION_KEY={v}",
        "curl -H \"DD-API-KEY: {v}\" https://api.datadoghq.com",
        "OPENAI_KEY={v}",
        "STRIPE_KEY: {v}",
        "SENTRY_AUTH={v}",
        "AZURE_DEVOPS_EXT_PAT={v}",
        "git clone https://{v}@github.com/shop/app.git",
    ]
    .iter()
    .map(|c| c.replace("{v}", &v))
    .collect();
    all_redacted(&cases, &v);
    let cases: Vec<String> = [
        "password: {d}",
        "  token: {d}",
        "API_TOKEN: \"{d}\"",
        "export TOKEN={d}",
        "secret = {d}",
        "<password>{d}</password>",
    ]
    .iter()
    .map(|c| c.replace("{d}", &dotted))
    .collect();
    all_redacted(&cases, &dotted);
}

#[test]
fn command_line_passwords() {
    let v = alnum(18, 5);
    let cases: Vec<String> = [
        "mysql -u root -p{v} shop",
        "mysqldump -u root -p'{v}' shop > dump.sql",
        "mysql -uroot -p\"{v}\" -h db",
        "mysql --password={v} shop",
        "psql --password {v}",
        "docker login -u bob -p {v} registry.example.com",
        "echo {v} | docker login --username bob --password-stdin",
        "echo \"{v}\" | podman login -u bob --password-stdin quay.io",
        "printf '%s' '{v}' | helm registry login -u bob --password-stdin r.io",
        "sshpass -p {v} ssh deploy@host",
        "sshpass -p'{v}' scp a b:",
        "helm install shop ./chart --set auth.apiKey={v}",
        "helm upgrade x . --set-string secrets.token={v} --set image.tag=1",
        "nuget push pkg.nupkg -k {v} -s https://api.nuget.org/v3/index.json",
        "dotnet nuget push pkg.nupkg --api-key {v} --source nuget.org",
        "curl -H 'PRIVATE-TOKEN: {v}' https://gitlab.example.com/api/v4/projects",
        "curl -H \"X-API-Key: {v}\" https://api.example.com",
        "npm config set //registry.npmjs.org/:_authToken {v}",
        "vault login {v}",
        "gh auth login --with-token <<< {v}",
        "redis-cli -h cache -a {v} ping",
        "ldapsearch -x -D cn=admin -w {v} -b dc=x",
        "openssl pkcs12 -export -passout pass:{v} -out a.p12",
        "keytool -list -keystore k.jks -storepass {v}",
        "az login --service-principal -u app-id -p {v} --tenant t",
        "zip -P {v} secrets.zip a.txt",
        "twine upload -u user -p {v} dist/*",
        "ssh-keygen -t ed25519 -N {v} -f key",
        "gh secret set API_TOKEN --body {v}",
        "aws configure set aws_secret_access_key {v}",
        "git config --global github.token {v}",
        "ngrok config add-authtoken {v}",
        "smbclient //srv/share -U bob%{v}",
        "rclone config create r2 s3 provider Cloudflare access_key_id {v} secret_access_key x",
        "composer config --global http-basic.repo.example.com bob {v}",
        "poetry config pypi-token.pypi {v}",
        "echo -n {v} | gcloud secrets create db-pass --data-file=-",
        "openssl enc -aes-256-cbc -k {v} -in a -out b",
        "sqlcmd -S db -U sa -P {v} -Q 'select 1'",
        "security add-generic-password -a bob -s api -w {v}",
        "az keyvault secret set --vault-name v --name db --value {v}",
        "aws secretsmanager create-secret --name db --secret-string {v}",
        "curl -u {v}: https://api.example.com/v1/charges",
        "DEBUG using API key {v} for the request",
        "sqlplus scott/{v}@prod",
        "net use \\\\fs01\\share /user:SHOP\\deploy {v} /persistent:no",
        "--pass {v}",
    ]
    .iter()
    .map(|c| c.replace("{v}", &v))
    .collect();
    all_redacted(&cases, &v);
}

#[test]
fn wrapped_in_base64() {
    let pem_body: String = (0..8)
        .map(|i| gen_from(&format!("{ALNUM}+/"), 64, 10 + i) + "\n")
        .collect();
    let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{pem_body}-----END RSA PRIVATE KEY-----\n");
    let pat = format!("{}{}", "dckr_pat_", alnum(27, 20));
    let pw = alnum(16, 21);
    let sa = format!(
        "{{\"type\": \"service_account\", \"project_id\": \"p\", \"private_key\": \"{}\"}}",
        pem.replace('\n', "\\n")
    );
    let env = format!("DB_HOST=db\nDB_PASSWORD={pw}\n");
    let cases = [
        (
            format!(
                "users:\n- name: admin\n  user:\n    client-key-data: {}\n",
                b64(&pem)
            ),
            b64(&pem),
        ),
        (
            format!(
                "{{\"auths\": {{\"https://index.docker.io/v1/\": {{\"auth\": \"{}\"}}}}}}",
                b64(&format!("bob:{pat}"))
            ),
            b64(&format!("bob:{pat}")),
        ),
        (
            format!(
                "{{\"auths\": {{\"r.io\": {{\"auth\": \"{}\"}}}}}}",
                b64(&format!("bob:{pw}"))
            ),
            b64(&format!("bob:{pw}")),
        ),
        (format!("GOOGLE_CREDENTIALS_B64={}", b64(&sa)), b64(&sa)),
        (
            format!(
                "apiVersion: v1\nkind: Secret\ndata:\n  env: {}\n",
                b64(&env)
            ),
            b64(&env),
        ),
    ];
    let r = redactor();
    let mut missed = Vec::new();
    for (input, encoded) in &cases {
        let out = r.clean_text(input);
        if out.contains(&encoded[..40.min(encoded.len())]) {
            missed.push(format!("{input:?}\n  -> {out:?}"));
        }
    }
    assert!(missed.is_empty(), "leaked:\n{}", missed.join("\n"));
    // Base64 of ordinary text stays.
    let plain = b64("hello world, this is a plain note about the weather");
    all_unchanged(&[&format!("note: {plain}")]);
}

#[test]
fn split_secrets() {
    let gh = format!("{}{}", "ghp_", alnum(36, 30));
    let (a, b) = gh.split_at(18);
    let header = format!("{}{}", "eyJ", "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
    let payload = format!("{}{}", "eyJ", "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ");
    let jwt = format!(
        "{header}.{payload}.{}",
        gen_from(&format!("{ALNUM}-_"), 43, 31)
    );
    let (j1, j2) = jwt.split_at(50);
    let pw = alnum(20, 32);
    let (p1, p2) = pw.split_at(10);
    let r = redactor();
    for (input, pieces) in [
        (format!("token = \"{a}\" + \"{b}\""), vec![a, b]),
        (format!("TOKEN = (\"{a}\"\n         \"{b}\")"), vec![a, b]),
        (format!("const t = '{a}' +\n  '{b}';"), vec![a, b]),
        (
            format!("curl -H \"Authorization: token {a}\\\n{b}\" https://api.github.com"),
            vec![a, b],
        ),
        (format!("id_token: |\n  {j1}\n  {j2}\n"), vec![j1, j2]),
        (format!("password = \"{p1}\" + \"{p2}\""), vec![p1, p2]),
    ] {
        let out = r.clean_text(&input);
        for p in pieces {
            assert!(!out.contains(p), "{input:?}\n  -> {out:?}");
        }
    }
    // Two values, not one string in pieces: a blank line parts them, or the
    // second is a key.
    all_unchanged(&[
        "api_key: \"<redacted>\"\n\"Env\": [\"PATH=/usr/bin\"]",
        "api_key: \"<redacted>\"\n\n\"note\"",
    ]);
}

#[test]
fn references_to_secrets_stay() {
    all_unchanged(&[
        "passwordSecretName: shop-db-credentials",
        "existingSecret: shop-db-credentials",
        "api_key: !vault prod/shop/api_key",
        "password: !secret db_password",
        "valueFrom:\n  secretKeyRef:\n    name: shop-db\n    key: password\n",
        "token: ${{ secrets.DEPLOY_TOKEN }}",
        "password: ${DB_PASSWORD}",
        "API_KEY=$(cat /run/secrets/api_key)",
        "api_key: <your-api-key-here>",
        "API_KEY=your-api-key-here",
        "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxx",
        "password: changeme",
        "TOKEN=xxxxxxxxxxxxxxxx",
        "password: \"********\"",
        "key = os.environ[\"API_KEY\"]",
        "const token = process.env.GITHUB_TOKEN;",
        "password_hash: \"$2b$12$abcdefghijklmnopqrstuuE5mQpD3cN6Gv7Y1Q0q3yJ0n2m1uXyZa\"",
        "secretName: tls-cert",
        "passwordFile: /run/secrets/db_password",
        "tokenUrl: https://auth.example.com/oauth/token",
        "mkdir -p build/out && ssh -p 2222 host && docker run -p 8080:80 img",
        "mysql -u root -p shop",
        "echo hello | grep -c hello",
        "auth_method: password",
        "mapboxgl.accessToken = 'pk.eyJ1Ijoic2hvcCIsImEiOiJjbHh5In0.KnPOjX2bES9Z1MTcv8ZJ';",
        "STRIPE_PUBLISHABLE_KEY=pk_live_51H8xyzABCdef123456",
        "token += chunk",
    ]);
}

#[test]
fn more_shapes_by_context() {
    let v = alnum(20, 40);
    let uuid = "6ef8da6f-1343-476a-afa0-2d6840ed6819";
    let legacy_vault = format!("s.{}", alnum(24, 41));
    for (input, secret) in [
        (
            format!("-H 'Authorization: Splunk {uuid}'"),
            uuid.to_string(),
        ),
        (
            format!("-H \"Authorization: GenieKey {uuid}\""),
            uuid.to_string(),
        ),
        (format!("db.internal:5432:shop:shop_app:{v}"), v.clone()),
        (format!("*:*:*:postgres:{v}"), v.clone()),
        (
            format!("  - name: VAULT_TOKEN\n    value: {legacy_vault}"),
            legacy_vault.clone(),
        ),
        (
            format!("[{{\"name\": \"DB_PASSWORD\", \"value\": \"{v}\"}}]"),
            v.clone(),
        ),
        (
            format!("htpasswd -b -c /etc/nginx/.htpasswd admin {v}"),
            v.clone(),
        ),
        (
            format!("rabbitmqctl add_user shop {v} && rabbitmqctl set_user_tags shop admin"),
            v.clone(),
        ),
        (
            format!("kubectl create secret generic db --from-literal=password={v}!x# -n prod"),
            format!("{v}!x#"),
        ),
        (format!("define('AUTH_KEY', '{v}');"), v.clone()),
        (
            format!(
                "\"private_key_id\": \"{}\",",
                "e0610ec79e06bc71b7fb50de73d7a427c8f3d72e"
            ),
            "e0610ec79e06bc71b7fb50de73d7a427c8f3d72e".to_string(),
        ),
        (
            format!("KEY_PART_1={v}\nexport DEPLOY_KEY=\"$KEY_PART_1$KEY_PART_2\""),
            v.clone(),
        ),
        (
            format!("{{\"api_keys\": {{\"{v}\": \"partner-acme\"}}}}"),
            v.clone(),
        ),
        (format!("sshpass -p '-{v}' ssh host"), format!("-{v}")),
    ] {
        all_redacted(&[input], &secret);
    }
    all_unchanged(&[
        "  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db\n",
        "12:30:45 started",
        "Authorization: Required for this endpoint",
        "define('WP_DEBUG', true);",
    ]);
}

#[test]
fn secrets_in_prose() {
    let v = alnum(16, 50);
    for input in [
        format!("my password is {v}, please use it"),
        format!("The API key is {v}."),
        format!("set the token to {v} and retry"),
        format!("Your new password was '{v}'"),
    ] {
        all_redacted(&[input], &v);
    }
    all_unchanged(&[
        "The token is expired, so the password is required again.",
        "Set the password to Something else later.",
        "the key is to keep it simple",
    ]);
}

/// What tools put before each line (a diff's `+`, `grep -n`'s `path:12:`)
/// does not hide a command or a multi-line secret.
#[test]
fn diff_and_grep_prefixes() {
    let v = alnum(18, 70);
    let body: String = (0..4)
        .map(|i| format!("+{}\n", alnum(64, 71 + i)))
        .collect();
    let header = format!("{}{}", "eyJ", "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
    let payload = format!("{}{}", "eyJ", "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ");
    let sig = gen_from(&format!("{ALNUM}-_"), 43, 75);
    let cases = [
        (format!("+mysql -h db -u root -p{v} shop"), v.clone()),
        (
            format!("scripts/db.sh:12:mysql -h db -u root -p{v} shop"),
            v.clone(),
        ),
        (
            format!("scripts/cache.sh-3-redis-cli -h cache -a {v} FLUSHDB"),
            v.clone(),
        ),
        (format!("-docker login r.io -u bot -p '{v}'"), v.clone()),
        (
            format!(
                "+-----BEGIN PGP PRIVATE KEY BLOCK-----\n+\n{body}+-----END PGP PRIVATE KEY BLOCK-----\n"
            ),
            body[1..30].to_string(),
        ),
        (
            format!("+token: >-\n+  {header}.\n+  {payload}.\n+  {sig}\n"),
            sig.clone(),
        ),
    ];
    for (input, secret) in cases {
        all_redacted(&[input], &secret);
    }
}

/// Command outputs and HTTP traffic: tables, cookies, listings.
#[test]
fn outputs_and_traffic() {
    let v = alnum(32, 80);
    for (input, secret) in [
        (
            format!("Key         Value\n---         -----\npassword    {v}\nusername    shop_app"),
            v.clone(),
        ),
        (
            format!("curl -H 'Cookie: sessionid={v}; theme=dark' https://x.example/"),
            v.clone(),
        ),
        (
            format!("Set-Cookie: connect.sid=s%3A{v}.sig; Path=/; HttpOnly"),
            format!("s%3A{v}.sig"),
        ),
        (
            format!("{{\"key\": \"apiKey\", \"value\": \"{v}\", \"enabled\": true}}"),
            v.clone(),
        ),
        (
            format!("\"keyName\": \"key1\",\n\"permissions\": \"FULL\",\n\"value\": \"{v}==\""),
            v.clone(),
        ),
        (format!("ENV[\"PAYMENT_TOKEN\"] ||= \"{v}\""), v.clone()),
        (format!("os.environ[\"API_KEY\"] = \"{v}\""), v.clone()),
        (
            format!("401 Client Error for url: https://api.example/forecast?q=Berlin&appid={v}"),
            v.clone(),
        ),
    ] {
        all_redacted(&[input], &secret);
    }
    let key = format!("QX7K2M9P{}", alnum(8, 82).to_uppercase());
    let secret = format!("{}/{}", alnum(30, 83), alnum(33, 84));
    all_redacted(
        &[format!(
            "+--------+----+\n| API Key    | {key} |\n| API Secret | {secret} |\n+--------+----+"
        )],
        &secret,
    );
    all_redacted(
        &[format!(
            "┌──────┬──────┐\n│ NAME       │ VALUE │\n│ API_TOKEN  │ {secret} │\n└──────┴──────┘"
        )],
        &secret,
    );
    let sf = format!("00D5g000004YO3G!{}", alnum(96, 81));
    all_redacted(
        &[format!(
            "=== Org Description\nKEY              VALUE\nAccess Token     {sf}\nAlias            shop"
        )],
        &sf,
    );
    all_unchanged(&[
        "const SHOP_SESSION: &str = \"7d3e2a10-5b4c-4f1e-9a2d-0c8b6e4f1a21\";",
        "Cookie: theme=dark; lang=en",
        "{\"key\": \"theme\", \"value\": \"dark-mode-v2-2024\"}",
        "key = os.environ[\"API_KEY\"]",
    ]);
}

#[test]
fn yaml_blocks_xml_entries_and_setters() {
    let v = format!("{}!x", alnum(14, 90));
    for input in [
        format!("db:\n  password: |\n    {v}\n  user: app\n"),
        format!("<entry key=\"password\">{v}</entry>"),
        format!("<property name=\"password\" value=\"{v}\"/>"),
        format!("DataSource ds = builder.username(\"app\").password(\"{v}\").build();"),
        format!("client.setApiKey(\"{v}\");"),
    ] {
        all_redacted(&[input], &v);
    }
    all_unchanged(&[
        "String t = config.getToken(\"refresh\");",
        "secrets.withSecretName(\"db-credentials\")",
        "description: |\n  The token is refreshed hourly.\n",
    ]);
}

#[test]
fn wrapped_literals_and_variable_defaults() {
    let v = alnum(40, 95);
    for input in [
        format!("variable \"api_token\" {{\n  type    = string\n  default = \"{v}\"\n}}"),
        format!("HMAC_KEY = bytes.fromhex(\"{v}\")"),
        format!("password = SecretStr(\"{v}\")"),
        format!("const key = Buffer.from(\"{v}\", \"hex\");"),
    ] {
        all_redacted(&[input], &v);
    }
    all_unchanged(&[
        "Send the header `Authorization: Bearer <token>` with every request.",
        "variable \"api_token\" {\n  type      = string\n  sensitive = true\n}",
        "key = bytes.fromhex(\"00ff\")",
    ]);
}

#[test]
fn sql_redis_sessions_and_auth_tuples() {
    let v = format!("{}!x", alnum(14, 96));
    for input in [
        format!("CREATE USER app WITH PASSWORD '{v}';"),
        format!("ALTER USER 'app'@'%' IDENTIFIED BY '{v}';"),
        format!("# redis.conf\nrequirepass {v}\n"),
        format!("resp = requests.get(url, auth=(\"bob\", \"{v}\"))"),
        format!("auth = HTTPBasicAuth(\"bob\", \"{v}\")"),
        format!("cmdkey /generic:srv /user:bob /pass:{v}"),
    ] {
        all_redacted(&[input], &v);
    }
    let s = alnum(40, 97);
    all_redacted(&[format!("export BW_SESSION=\"{s}\"")], &s);
    all_unchanged(&["SESSION_TIMEOUT=30", "session: default", "Password reset"]);
}

#[test]
fn transcripts_of_commands_that_print_a_secret() {
    let v = format!("{}#x", alnum(18, 99));
    all_redacted(
        &[format!(
            "$ kubectl get secret db -o jsonpath='{{.data.password}}' | base64 -d\n{v}\n$ ls\nMakefile"
        )],
        &v,
    );
    all_unchanged(&["$ ls -la\ntotal 8\n-rw-r--r-- 1 u u 12 Makefile"]);
    // In a diff or grep output, a line holding only its prefix ends the
    // output: what follows stays.
    for (before, blank) in [("+", "+"), ("notes.txt:4:", "notes.txt-5-")] {
        let text = format!(
            "{before}$ kubectl get secret db -o jsonpath='{{.data.password}}' | base64 -d\n\
             {before}{v}\n{blank}\n{before}docker build --build-arg VERSION=1.4.0 -t api ."
        );
        let clean = redactor().clean_text(&text);
        assert!(!clean.contains(&v), "{clean}");
        assert!(
            clean.contains("docker build --build-arg VERSION=1.4.0 -t api ."),
            "{clean}"
        );
    }
}

/// Found by the property tests: a generated value that holds a secret word
/// by chance (`…kEY…`, `…Pwd…`) is not a variable named after a secret.
#[test]
fn generated_values_holding_a_secret_word() {
    for word in ["kEY", "Pwd", "ToKen", "auth", "Secret", "PASS"] {
        let v = format!("Q7k{word}A0AaaAaaA0aaaaa");
        let cases = [
            format!("client_secret: {v}\n"),
            format!("password: {v}"),
            format!("token = {v}"),
        ];
        all_redacted(&cases, &v);
    }
    // Variables named after a secret still stay.
    let r = redactor();
    for s in [
        "password = password_mgr",
        "x_auth = authorizer",
        "signing_key = key",
    ] {
        assert_eq!(r.clean_text(s), s);
    }
}
