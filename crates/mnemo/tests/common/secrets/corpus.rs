//! The secrets corpus: fake secrets with the real shape of each provider's
//! documented format (prefix, length, alphabet), each in the context it is
//! met in during a coding session, plus benign look-alikes that must survive.
//!
//! Every value is generated at run time from a fixed seed, so the corpus is
//! the same on every run and no secret-shaped literal sits in the repository.

/// One corpus item: a snippet as a session would show it.
pub struct Item {
    /// What the item is ("datadog-app-key", "git-sha", …).
    pub kind: &'static str,
    /// The family it is counted under ("cloud", "ai", …; "benign" for look-alikes).
    pub family: &'static str,
    /// Where such text lives (a file name; carriers that read or write files use it).
    pub file: &'static str,
    /// The snippet.
    pub text: String,
    /// Secret items: the values that must not survive, each as it appears in
    /// `text`. Benign items: the values that must survive untouched.
    pub values: Vec<String>,
}

impl Item {
    pub fn is_benign(&self) -> bool {
        self.family == BENIGN
    }
}

/// The family of the look-alikes.
pub const BENIGN: &str = "benign";

/// Families in the order reports list them.
pub const FAMILIES: &[&str] = &[
    "cloud",
    "source-hosting",
    "registries",
    "ci",
    "chat",
    "payments",
    "observability",
    "databases",
    "secret-managers",
    "ai",
    "mail",
    "cli-passwords",
    "config-assignments",
    "base64-wrapped",
    "split",
    "json-keys",
    "private-keys",
    "outputs-and-traffic",
];

/// A small deterministic generator (splitmix64): the same corpus every run.
pub struct Gen(u64);

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `n` characters drawn from `alphabet`.
    pub fn from(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }

    fn concat_from(&mut self, parts: &[&[u8]], n: usize) -> String {
        let alphabet: Vec<u8> = parts.concat();
        self.from(&alphabet, n)
    }

    /// Mixed-case letters and digits.
    pub fn alnum(&mut self, n: usize) -> String {
        self.concat_from(&[UPPER, LOWER, DIGITS], n)
    }
    /// Lower-case hex.
    pub fn hex(&mut self, n: usize) -> String {
        self.from(b"0123456789abcdef", n)
    }
    /// Upper-case letters and digits.
    pub fn upper(&mut self, n: usize) -> String {
        self.concat_from(&[UPPER, DIGITS], n)
    }
    /// Lower-case letters and digits.
    pub fn lower(&mut self, n: usize) -> String {
        self.concat_from(&[LOWER, DIGITS], n)
    }
    /// Letters only, mixed case.
    pub fn alpha(&mut self, n: usize) -> String {
        self.concat_from(&[UPPER, LOWER], n)
    }
    /// The base64url alphabet.
    pub fn url(&mut self, n: usize) -> String {
        self.concat_from(&[UPPER, LOWER, DIGITS, b"_-"], n)
    }
    /// The base64 alphabet.
    pub fn b64(&mut self, n: usize) -> String {
        self.concat_from(&[UPPER, LOWER, DIGITS, b"+/"], n)
    }
    pub fn digits(&mut self, n: usize) -> String {
        let first = self.from(b"123456789", 1);
        first + &self.from(DIGITS, n - 1)
    }
    /// A password a person picks: letters, digits and shell-safe punctuation.
    pub fn password(&mut self, n: usize) -> String {
        self.concat_from(&[UPPER, LOWER, DIGITS, b"!@#%^*_-+"], n)
    }
    pub fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-a{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(3),
            self.hex(12)
        )
    }
    /// Random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Unpadded base64url, as JWTs use.
pub fn base64url(data: &[u8]) -> String {
    base64(data)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// A PEM block of `label` with `lines` lines of 64 base64 characters; the
/// lines are the values that must vanish.
fn pem(g: &mut Gen, label: &str, lines: usize) -> (String, Vec<String>) {
    let body: Vec<String> = (0..lines).map(|_| g.b64(64)).collect();
    let text = format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----",
        body.join("\n")
    );
    (text, body)
}

fn jwt(g: &mut Gen) -> String {
    let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = format!(
        r#"{{"sub":"{}","role":"service_role","iat":{}}}"#,
        g.uuid(),
        g.digits(10)
    );
    format!("{header}.{}.{}", base64url(claims.as_bytes()), g.url(43))
}

struct Builder {
    g: Gen,
    items: Vec<Item>,
}

impl Builder {
    /// A secret item: `make` gets the generator and returns the secret
    /// values and the snippet.
    fn secret(
        &mut self,
        kind: &'static str,
        family: &'static str,
        file: &'static str,
        make: impl FnOnce(&mut Gen) -> (Vec<String>, String),
    ) {
        let (values, text) = make(&mut self.g);
        for v in &values {
            assert!(text.contains(v.as_str()), "{kind}: value not in its text");
        }
        self.items.push(Item {
            kind,
            family,
            file,
            text,
            values,
        });
    }

    /// A secret item with one value, built first and then placed by `place`.
    fn one(
        &mut self,
        kind: &'static str,
        family: &'static str,
        file: &'static str,
        value: impl FnOnce(&mut Gen) -> String,
        place: impl FnOnce(&str) -> String,
    ) {
        self.secret(kind, family, file, |g| {
            let v = value(g);
            let text = place(&v);
            (vec![v], text)
        });
    }

    /// A benign look-alike whose `values` must survive.
    fn benign(
        &mut self,
        kind: &'static str,
        file: &'static str,
        make: impl FnOnce(&mut Gen) -> (Vec<String>, String),
    ) {
        self.secret(kind, BENIGN, file, make);
    }
}

/// The whole corpus: secret items of every family, then benign ones.
pub fn corpus() -> Vec<Item> {
    let mut b = Builder {
        g: Gen::new(0x6d6e_656d_6f21),
        items: Vec::new(),
    };
    cloud(&mut b);
    source_hosting(&mut b);
    registries(&mut b);
    ci(&mut b);
    chat(&mut b);
    payments(&mut b);
    observability(&mut b);
    databases(&mut b);
    secret_managers(&mut b);
    ai(&mut b);
    mail(&mut b);
    cli_passwords(&mut b);
    config_assignments(&mut b);
    wrapped(&mut b);
    split(&mut b);
    json_keys(&mut b);
    private_keys(&mut b);
    outputs_and_traffic(&mut b);
    variations(&mut b);
    services_and_ops(&mut b);
    tools_and_clis(&mut b);
    benign(&mut b);
    more_benign(&mut b);
    even_more_benign(&mut b);
    ops_benign(&mut b);
    tool_benign(&mut b);
    b.items
}

fn cloud(b: &mut Builder) {
    const F: &str = "cloud";
    b.secret("aws-access-key-pair", F, "aws/credentials.ini", |g| {
        let id = format!("AKIA{}", g.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
        let secret = g.b64(40);
        let text = format!(
            "[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\nregion = eu-west-1"
        );
        (vec![id, secret], text)
    });
    b.secret("aws-session-token", F, "scripts/assume-role.sh", |g| {
        let id = format!("ASIA{}", g.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
        let secret = g.b64(40);
        let token = format!("IQoJb3JpZ2luX2VjE{}", g.b64(340));
        let text = format!(
            "{{\n    \"Credentials\": {{\n        \"AccessKeyId\": \"{id}\",\n        \"SecretAccessKey\": \"{secret}\",\n        \"SessionToken\": \"{token}\",\n        \"Expiration\": \"2026-12-06T05:12:44+00:00\"\n    }}\n}}"
        );
        (vec![id, secret, token], text)
    });
    b.secret("aws-env-export", F, "scripts/deploy.sh", |g| {
        let secret = g.b64(40);
        let text = format!(
            "export AWS_ACCESS_KEY_ID=AKIA{}\nexport AWS_SECRET_ACCESS_KEY={secret}\naws s3 sync ./dist s3://shop-static --delete",
            g.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
        );
        (vec![secret], text)
    });
    b.one(
        "gcp-api-key-firebase",
        F,
        "src/firebase.ts",
        |g| format!("AIza{}", g.url(35)),
        |v| format!("const firebaseConfig = {{\n  apiKey: \"{v}\",\n  authDomain: \"shop-prod.firebaseapp.com\",\n  projectId: \"shop-prod\",\n}};"),
    );
    b.one(
        "gcp-oauth-client-secret",
        F,
        "config/oauth.json",
        |g| format!("GOCSPX-{}", g.url(28)),
        |v| format!("{{\"web\":{{\"client_id\":\"4815162342-abc.apps.googleusercontent.com\",\"client_secret\":\"{v}\",\"redirect_uris\":[\"http://localhost:8080/callback\"]}}}}"),
    );
    b.one(
        "google-oauth-access-token",
        F,
        "scripts/deploy.sh",
        |g| format!("ya29.a0{}", g.url(150)),
        |v| format!("curl -s -H \"Authorization: Bearer {v}\" https://storage.googleapis.com/storage/v1/b/shop-assets/o"),
    );
    b.one(
        "google-refresh-token",
        F,
        "config/token.json",
        |g| format!("1//0{}", g.url(99)),
        |v| format!("{{\"token_uri\": \"https://oauth2.googleapis.com/token\", \"refresh_token\": \"{v}\", \"scopes\": [\"https://www.googleapis.com/auth/drive\"]}}"),
    );
    b.one(
        "azure-storage-connection-string",
        F,
        "appsettings.json",
        |g| format!("{}==", g.b64(86)),
        |v| format!("\"AzureWebJobsStorage\": \"DefaultEndpointsProtocol=https;AccountName=shopstorage01;AccountKey={v};EndpointSuffix=core.windows.net\""),
    );
    b.one(
        "azure-sas-token",
        F,
        "scripts/upload.sh",
        |g| format!("{}%2B{}%3D", g.alnum(20), g.alnum(21)),
        |v| format!("azcopy copy ./build 'https://shopstorage01.blob.core.windows.net/site?sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&se=2026-12-31T00:00:00Z&st=2026-12-01T00:00:00Z&spr=https&sig={v}' --recursive"),
    );
    b.one(
        "azure-client-secret",
        F,
        ".github/workflows/deploy.yml",
        |g| format!("{}{}Q~{}", g.alnum(3), g.digits(1), g.url(34)),
        |v| format!("      - run: az login --service-principal -u 0f8e2b7c-1d3a-4c5e-9f60-7a8b9c0d1e2f -p {v} --tenant 72f988bf-86f1-41af-91ab-2d7cd011db47"),
    );
    b.one(
        "digitalocean-token",
        F,
        "terraform/provider.tf",
        |g| format!("dop_v1_{}", g.hex(64)),
        |v| format!("provider \"digitalocean\" {{\n  token = \"{v}\"\n}}"),
    );
    b.one(
        "alibaba-access-key",
        F,
        "config/oss.yaml",
        |g| format!("LTAI{}", g.alnum(20)),
        |v| format!("oss:\n  endpoint: oss-cn-hangzhou.aliyuncs.com\n  accessKeyId: {v}\n  bucket: shop-assets"),
    );
    b.one(
        "ibm-cloud-api-key",
        F,
        "notes.txt",
        |g| g.url(44),
        |v| format!("ibmcloud login --apikey {v} -r us-south"),
    );
    b.one(
        "heroku-api-key",
        F,
        "scripts/deploy.sh",
        |g| format!("HRKU-AA{}", g.url(58)),
        |v| format!("HEROKU_API_KEY={v} git push heroku main"),
    );
    b.one(
        "cloudflare-api-token",
        F,
        ".github/workflows/deploy.yml",
        |g| g.url(40),
        |v| format!("    env:\n      CLOUDFLARE_API_TOKEN: {v}\n      CLOUDFLARE_ACCOUNT_ID: 023e105f4ecef8ad9ca31a8372d0c353"),
    );
    b.one(
        "cloudflare-global-key",
        F,
        "scripts/purge.sh",
        |g| g.hex(37),
        |v| format!("curl -X POST https://api.cloudflare.com/client/v4/zones/$ZONE/purge_cache -H 'X-Auth-Email: ops@shop.example' -H 'X-Auth-Key: {v}' --data '{{\"purge_everything\":true}}'"),
    );
    b.one(
        "linode-token",
        F,
        "terraform.tfvars",
        |g| g.hex(64),
        |v| format!("linode_token = \"{v}\"\nregion       = \"eu-central\""),
    );
    b.one(
        "fly-token",
        F,
        "notes.txt",
        |g| format!("fo1_{}", g.url(43)),
        |v| format!("FLY_API_TOKEN={v} flyctl deploy --remote-only"),
    );
    b.one(
        "vercel-token",
        F,
        ".github/workflows/deploy.yml",
        |g| g.alnum(24),
        |v| format!("      - run: vercel deploy --prod --token={v}"),
    );
    b.one(
        "netlify-token",
        F,
        "netlify.toml",
        |g| format!("nfp_{}", g.alnum(36)),
        |v| format!("NETLIFY_AUTH_TOKEN: \"{v}\""),
    );
    b.one(
        "supabase-access-token",
        F,
        "notes.txt",
        |g| format!("sbp_{}", g.hex(40)),
        |v| format!("supabase login --token {v}"),
    );
    b.one(
        "terraform-cloud-token",
        F,
        "terraform/.terraformrc",
        |g| format!("{}.atlasv1.{}", g.alnum(14), g.alnum(67)),
        |v| format!("credentials \"app.terraform.io\" {{\n  token = \"{v}\"\n}}"),
    );
    b.one(
        "pulumi-token",
        F,
        "scripts/deploy.sh",
        |g| format!("pul-{}", g.hex(40)),
        |v| format!("export PULUMI_ACCESS_TOKEN={v}\npulumi up --yes --stack prod"),
    );
}

fn source_hosting(b: &mut Builder) {
    const F: &str = "source-hosting";
    b.one(
        "github-pat-classic",
        F,
        "notes.txt",
        |g| format!("ghp_{}", g.alnum(36)),
        |v| format!("echo {v} | gh auth login --with-token"),
    );
    b.one(
        "github-pat-fine-grained",
        F,
        ".envrc",
        |g| format!("github_pat_11{}_{}", g.upper(20), g.alnum(59)),
        |v| format!("export GITHUB_TOKEN={v}"),
    );
    b.one(
        "github-oauth-token",
        F,
        "config/hosts.yml",
        |g| format!("gho_{}", g.alnum(36)),
        |v| {
            format!(
                "github.com:\n    user: shop-bot\n    oauth_token: {v}\n    git_protocol: https"
            )
        },
    );
    b.one(
        "github-app-token-in-remote",
        F,
        "scripts/mirror.sh",
        |g| format!("ghs_{}", g.alnum(36)),
        |v| format!("git remote set-url origin https://x-access-token:{v}@github.com/shop/api.git"),
    );
    b.secret("github-user-and-refresh-token", F, "config/app.json", |g| {
        let user = format!("ghu_{}", g.alnum(36));
        let refresh = format!("ghr_{}", g.alnum(76));
        let text = format!(
            "{{\"access_token\":\"{user}\",\"refresh_token\":\"{refresh}\",\"expires_in\":28800}}"
        );
        (vec![user, refresh], text)
    });
    b.one(
        "gitlab-pat",
        F,
        "notes.txt",
        |g| format!("glpat-{}", g.url(20)),
        |v| format!("curl --header \"PRIVATE-TOKEN: {v}\" https://gitlab.com/api/v4/projects/4242/pipelines"),
    );
    b.one(
        "gitlab-deploy-token",
        F,
        "k8s/values.yaml",
        |g| format!("gldt-{}", g.url(20)),
        |v| format!("imageCredentials:\n  registry: registry.gitlab.com\n  username: gitlab+deploy-token-991\n  password: {v}"),
    );
    b.one(
        "gitlab-runner-token",
        F,
        "config/runner.toml",
        |g| format!("glrt-{}", g.url(20)),
        |v| format!("[[runners]]\n  name = \"shop-runner\"\n  url = \"https://gitlab.com/\"\n  token = \"{v}\"\n  executor = \"docker\""),
    );
    b.one(
        "gitlab-trigger-token",
        F,
        "scripts/trigger.sh",
        |g| format!("glptt-{}", g.hex(40)),
        |v| format!("curl -X POST -F token={v} -F ref=main https://gitlab.com/api/v4/projects/4242/trigger/pipeline"),
    );
    b.one(
        "bitbucket-app-password",
        F,
        "scripts/mirror.sh",
        |g| format!("ATBB{}", g.alnum(32)),
        |v| format!("git clone https://shop-ci:{v}@bitbucket.org/shop/legacy.git"),
    );
    b.one(
        "gitea-token",
        F,
        "notes.txt",
        |g| g.hex(40),
        |v| format!("tea login add --url https://git.shop.example --token {v}"),
    );
}

fn registries(b: &mut Builder) {
    const F: &str = "registries";
    b.one(
        "npm-token-npmrc",
        F,
        "ci/npmrc.txt",
        |g| format!("npm_{}", g.alnum(36)),
        |v| format!("//registry.npmjs.org/:_authToken={v}\nalways-auth=true"),
    );
    b.one(
        "pypi-token",
        F,
        "ci/pypirc.txt",
        |g| format!("pypi-AgEIcHlwaS5vcmc{}", g.url(150)),
        |v| format!("[pypi]\n  username = __token__\n  password = {v}"),
    );
    b.one(
        "dockerhub-pat",
        F,
        "notes.txt",
        |g| format!("dckr_pat_{}", g.url(27)),
        |v| format!("docker login -u shopbot -p {v}"),
    );
    b.one(
        "nuget-key",
        F,
        "scripts/publish.sh",
        |g| format!("oy2{}", g.lower(43)),
        |v| format!("dotnet nuget push bin/Release/Shop.Client.1.4.0.nupkg -k {v} -s https://api.nuget.org/v3/index.json"),
    );
    b.one(
        "rubygems-key",
        F,
        "config/gem-credentials.yaml",
        |g| format!("rubygems_{}", g.hex(48)),
        |v| format!("---\n:rubygems_api_key: {v}"),
    );
    b.one(
        "crates-io-token",
        F,
        "cargo/credentials.toml",
        |g| format!("cio{}", g.alnum(32)),
        |v| format!("[registry]\ntoken = \"{v}\""),
    );
    b.one(
        "artifactory-key",
        F,
        "build.gradle",
        |g| format!("AKCp{}", g.alnum(69)),
        |v| format!("repositories {{\n  maven {{\n    url 'https://shop.jfrog.io/artifactory/libs-release'\n    credentials {{ username = 'ci'; password = '{v}' }}\n  }}\n}}"),
    );
    b.one(
        "github-packages-token",
        F,
        "ci/npmrc.txt",
        |g| format!("ghp_{}", g.alnum(36)),
        |v| {
            format!(
                "@shop:registry=https://npm.pkg.github.com\n//npm.pkg.github.com/:_authToken={v}"
            )
        },
    );
    b.one(
        "maven-settings-password",
        F,
        "maven/settings.xml",
        |g| g.password(20),
        |v| format!("<server>\n  <id>shop-releases</id>\n  <username>deployer</username>\n  <password>{v}</password>\n</server>"),
    );
}

fn ci(b: &mut Builder) {
    const F: &str = "ci";
    b.one(
        "circleci-token",
        F,
        "notes.txt",
        |g| format!("CCIPAT_{}_{}", g.alnum(22), g.hex(40)),
        |v| format!("curl -H \"Circle-Token: {v}\" https://circleci.com/api/v2/me"),
    );
    b.one(
        "travis-token",
        F,
        ".travis.yml",
        |g| g.url(22),
        |v| format!("env:\n  global:\n    - TRAVIS_API_TOKEN={v}"),
    );
    b.one(
        "buildkite-token",
        F,
        "scripts/trigger.sh",
        |g| format!("bkua_{}", g.hex(40)),
        |v| format!("curl -H \"Authorization: Bearer {v}\" https://api.buildkite.com/v2/organizations/shop/pipelines"),
    );
    b.one(
        "jenkins-api-token",
        F,
        "scripts/trigger.sh",
        |g| format!("11{}", g.hex(32)),
        |v| format!("curl -X POST -u admin:{v} https://ci.shop.example/job/deploy/build"),
    );
    b.one(
        "codecov-token",
        F,
        ".github/workflows/ci.yml",
        |g| g.uuid(),
        |v| format!("      - uses: codecov/codecov-action@v4\n        with:\n          token: {v}\n          fail_ci_if_error: true"),
    );
    b.one(
        "sonar-token",
        F,
        "sonar-project.properties",
        |g| format!("squ_{}", g.hex(40)),
        |v| {
            format!(
                "sonar.projectKey=shop-api\nsonar.token={v}\nsonar.host.url=https://sonarcloud.io"
            )
        },
    );
    b.one(
        "snyk-token",
        F,
        "Makefile",
        |g| g.uuid(),
        |v| format!("scan:\n\tSNYK_TOKEN={v} snyk test --severity-threshold=high"),
    );
    b.one(
        "drone-token",
        F,
        "notes.txt",
        |g| g.alnum(32),
        |v| format!("export DRONE_SERVER=https://drone.shop.example\nexport DRONE_TOKEN={v}"),
    );
    b.one(
        "github-actions-hardcoded-env",
        F,
        ".github/workflows/release.yml",
        |g| g.alnum(40),
        |v| format!("jobs:\n  release:\n    runs-on: ubuntu-latest\n    env:\n      RELEASE_API_TOKEN: {v}\n    steps:\n      - uses: actions/checkout@v4"),
    );
}

fn chat(b: &mut Builder) {
    const F: &str = "chat";
    b.one(
        "slack-bot-token",
        F,
        "src/notify.py",
        |g| format!("xoxb-{}-{}-{}", g.digits(12), g.digits(13), g.alnum(24)),
        |v| format!("client = WebClient(token=\"{v}\")\nclient.chat_postMessage(channel=\"#deploys\", text=\"shipped\")"),
    );
    b.one(
        "slack-user-token",
        F,
        "notes.txt",
        |g| {
            format!(
                "xoxp-{}-{}-{}-{}",
                g.digits(12),
                g.digits(12),
                g.digits(13),
                g.hex(32)
            )
        },
        |v| format!("curl -H 'Authorization: Bearer {v}' https://slack.com/api/conversations.list"),
    );
    b.one(
        "slack-app-token",
        F,
        "config/slack.yaml",
        |g| format!("xapp-1-A{}-{}-{}", g.upper(10), g.digits(13), g.hex(64)),
        |v| format!("slack:\n  app_token: {v}\n  socket_mode: true"),
    );
    b.one(
        "slack-webhook",
        F,
        "scripts/notify.sh",
        |g| format!("T{}/B{}/{}", g.upper(10), g.upper(10), g.alnum(24)),
        |v| format!("curl -X POST -H 'Content-type: application/json' --data '{{\"text\":\"deploy done\"}}' https://hooks.slack.com/services/{v}"),
    );
    b.one(
        "discord-bot-token",
        F,
        "bot/config.json",
        |g| {
            let id = base64(g.digits(18).as_bytes());
            format!("{}.{}.{}", id.trim_end_matches('='), g.url(6), g.url(38))
        },
        |v| format!("{{\n  \"prefix\": \"!\",\n  \"token\": \"{v}\"\n}}"),
    );
    b.one(
        "discord-webhook",
        F,
        "src/alerts.ts",
        |g| g.url(68),
        |v| format!("await fetch(\"https://discord.com/api/webhooks/1184235602361864212/{v}\", {{ method: \"POST\", body: JSON.stringify({{ content: msg }}) }});"),
    );
    b.one(
        "telegram-bot-token",
        F,
        "bot/main.py",
        |g| format!("{}:AA{}", g.digits(10), g.url(33)),
        |v| format!("app = ApplicationBuilder().token(\"{v}\").build()"),
    );
    b.one(
        "teams-webhook",
        F,
        "config/alerts.yaml",
        |g| format!("{}/{}", g.hex(32), g.uuid()),
        |v| format!("teams:\n  webhook_url: https://shopcorp.webhook.office.com/webhookb2/0b6f9c44-2e71-4d8a-b3c5-91e7d2a4f608@72f988bf-86f1-41af-91ab-2d7cd011db47/IncomingWebhook/{v}"),
    );
    b.one(
        "twilio-auth-token",
        F,
        "src/sms.js",
        |g| g.hex(32),
        |v| {
            format!(
                "const client = require('twilio')('AC7c1e9a0b3d5f4e2a8c6b0d1f3e5a7c9b', '{v}');"
            )
        },
    );
    b.one(
        "twilio-api-key",
        F,
        "notes.txt",
        |g| format!("SK{}", g.hex(32)),
        |v| {
            format!(
                "twilio api:core:messages:list --api-key {v} --api-secret {}",
                "$TWILIO_API_SECRET"
            )
        },
    );
}

fn payments(b: &mut Builder) {
    const F: &str = "payments";
    b.one(
        "stripe-secret-key",
        F,
        "src/billing.py",
        |g| format!("sk_live_51{}", g.alnum(97)),
        |v| format!("import stripe\nstripe.api_key = \"{v}\""),
    );
    b.one(
        "stripe-restricted-key",
        F,
        "notes.txt",
        |g| format!("rk_live_51{}", g.alnum(97)),
        |v| format!("curl https://api.stripe.com/v1/charges -u {v}:"),
    );
    b.one(
        "stripe-webhook-secret",
        F,
        "k8s/deployment.yaml",
        |g| format!("whsec_{}", g.alnum(32)),
        |v| format!("        - name: STRIPE_WEBHOOK_SECRET\n          value: {v}"),
    );
    b.one(
        "braintree-token",
        F,
        "config/payments.yml",
        |g| format!("{}${}", g.lower(16), g.hex(32)),
        |v| format!("braintree:\n  access_token: access_token$production${v}"),
    );
    b.one(
        "square-token",
        F,
        "src/square.rb",
        |g| format!("EAAA{}", g.url(60)),
        |v| format!("client = Square::Client.new(access_token: '{v}', environment: 'production')"),
    );
    b.one(
        "shopify-token",
        F,
        "scripts/sync.sh",
        |g| format!("shpat_{}", g.hex(32)),
        |v| format!("curl -H 'X-Shopify-Access-Token: {v}' https://shop.myshopify.com/admin/api/2024-10/products.json"),
    );
    b.one(
        "shopify-shared-secret",
        F,
        "config/shopify.toml",
        |g| format!("shpss_{}", g.hex(32)),
        |v| format!("[app]\napi_key = \"5f1c2c9e8d0a4b7e9a512f3d4c5b6a70\"\napi_secret = \"{v}\""),
    );
    b.one(
        "razorpay-secret",
        F,
        "src/pay.go",
        |g| g.alnum(24),
        |v| {
            format!(
                "client := razorpay.NewClient(\"rzp_live_{}\", \"{v}\")",
                "Xk29Qm3Lp8Zr1T"
            )
        },
    );
    b.one(
        "plaid-secret",
        F,
        "docker-compose.yml",
        |g| g.hex(30),
        |v| format!("    environment:\n      - PLAID_CLIENT_ID=5f1c2c9e8d0a4b7e9a512f3d\n      - PLAID_SECRET={v}\n      - PLAID_ENV=production"),
    );
    b.one(
        "adyen-api-key",
        F,
        "config/adyen.json",
        |g| format!("AQE{}", g.url(100)),
        |v| format!("{{\"merchantAccount\": \"ShopECOM\", \"apiKey\": \"{v}\"}}"),
    );
    b.one(
        "paypal-client-secret",
        F,
        "docker-compose.yml",
        |g| format!("E{}", g.url(79)),
        |v| format!("      PAYPAL_CLIENT_SECRET: {v}"),
    );
}

fn observability(b: &mut Builder) {
    const F: &str = "observability";
    b.one(
        "datadog-api-key",
        F,
        "docker-compose.yml",
        |g| g.hex(32),
        |v| format!("  datadog:\n    image: gcr.io/datadoghq/agent:7\n    environment:\n      DD_API_KEY: {v}\n      DD_SITE: datadoghq.eu"),
    );
    b.one(
        "datadog-app-key",
        F,
        "docker-compose.yml",
        |g| g.hex(40),
        |v| format!("      DD_APP_KEY: {v}"),
    );
    b.one(
        "newrelic-user-key",
        F,
        "notes.txt",
        |g| format!("NRAK-{}", g.upper(27)),
        |v| {
            format!(
                "curl -X POST https://api.newrelic.com/graphql -H 'API-Key: {v}' -d @query.json"
            )
        },
    );
    b.one(
        "newrelic-license-key",
        F,
        "newrelic.yml",
        |g| format!("{}NRAL", g.hex(36)),
        |v| format!("common: &default_settings\n  license_key: '{v}'\n  app_name: shop-api"),
    );
    b.one(
        "sentry-auth-token",
        F,
        ".sentryclirc",
        |g| format!("sntrys_{}", g.url(100)),
        |v| format!("[auth]\ntoken={v}"),
    );
    b.one(
        "sentry-user-token",
        F,
        "notes.txt",
        |g| format!("sntryu_{}", g.hex(64)),
        |v| format!("SENTRY_AUTH_TOKEN={v} sentry-cli releases new 1.4.0"),
    );
    b.one(
        "honeycomb-key",
        F,
        "src/tracing.ts",
        |g| format!("hcaik_01{}", g.lower(56)),
        |v| format!("const sdk = new HoneycombSDK({{ apiKey: '{v}', serviceName: 'shop-api' }});"),
    );
    b.one(
        "grafana-service-account-token",
        F,
        "scripts/dashboards.sh",
        |g| format!("glsa_{}_{}", g.alnum(32), g.hex(8)),
        |v| format!("curl -H \"Authorization: Bearer {v}\" https://grafana.shop.example/api/dashboards/db"),
    );
    b.one(
        "grafana-cloud-token",
        F,
        "config/alloy.river",
        |g| format!("glc_{}", g.b64(120)),
        |v| format!("prometheus.remote_write \"cloud\" {{\n  endpoint {{\n    basic_auth {{\n      username = \"1234567\"\n      password = \"{v}\"\n    }}\n  }}\n}}"),
    );
    b.one(
        "splunk-hec-token",
        F,
        "scripts/ship-logs.sh",
        |g| g.uuid(),
        |v| format!("curl -k https://splunk.shop.example:8088/services/collector -H 'Authorization: Splunk {v}' -d '{{\"event\": \"deploy\"}}'"),
    );
    b.one(
        "pagerduty-token",
        F,
        "notes.txt",
        |g| format!("u+{}", g.url(18)),
        |v| format!("curl -H 'Authorization: Token token={v}' https://api.pagerduty.com/incidents"),
    );
    b.one(
        "elastic-api-key",
        F,
        "config/filebeat.yml",
        |g| {
            let raw = format!("{}:{}", g.url(20), g.url(22));
            base64(raw.as_bytes())
        },
        |v| format!("output.elasticsearch:\n  hosts: [\"https://es.shop.example:9243\"]\n  api_key: \"{v}\""),
    );
    b.one(
        "dynatrace-token",
        F,
        "k8s/dynakube.yaml",
        |g| format!("dt0c01.{}.{}", g.upper(24), g.upper(64)),
        |v| format!("data:\n  apiToken: {v}"),
    );
    b.one(
        "opsgenie-key",
        F,
        "scripts/alert.sh",
        |g| g.uuid(),
        |v| {
            format!(
                "curl -X POST https://api.opsgenie.com/v2/alerts -H \"Authorization: GenieKey {v}\""
            )
        },
    );
}

fn databases(b: &mut Builder) {
    const F: &str = "databases";
    b.one(
        "postgres-url",
        F,
        "config/database.yml",
        |g| g.password(18),
        |v| format!("production:\n  url: postgres://shop_app:{v}@db.internal:5432/shop"),
    );
    b.one(
        "mysql-url",
        F,
        "docker-compose.yml",
        |g| g.alnum(20),
        |v| format!("      DATABASE_URL: mysql://root:{v}@mysql:3306/shop?charset=utf8mb4"),
    );
    b.one(
        "mongodb-srv",
        F,
        "src/db.js",
        |g| g.alnum(16),
        |v| format!("mongoose.connect('mongodb+srv://shop-admin:{v}@cluster0.x7k2p.mongodb.net/shop?retryWrites=true&w=majority');"),
    );
    b.one(
        "redis-url",
        F,
        "config/cache.py",
        |g| g.alnum(32),
        |v| format!("CACHES = {{'default': {{'BACKEND': 'django_redis.cache.RedisCache', 'LOCATION': 'redis://:{v}@redis.internal:6379/1'}}}}"),
    );
    b.one(
        "jdbc-password-param",
        F,
        "application.properties",
        |g| g.alnum(18),
        |v| format!("spring.datasource.url=jdbc:postgresql://db.internal:5432/shop?user=shop&password={v}&ssl=true"),
    );
    b.one(
        "sqlserver-connection-string",
        F,
        "appsettings.json",
        |g| g.password(20),
        |v| format!("\"ConnectionStrings\": {{ \"Default\": \"Server=tcp:shop-sql.database.windows.net,1433;Initial Catalog=shop;User ID=shopadmin;Password={v};Encrypt=True;\" }}"),
    );
    b.one(
        "pgpassword-env",
        F,
        "scripts/backup.sh",
        |g| g.alnum(22),
        |v| format!("PGPASSWORD={v} pg_dump -h db.internal -U shop_app shop > backup.sql"),
    );
    b.one(
        "django-databases-password",
        F,
        "shop/settings.py",
        |g| g.password(16),
        |v| format!("DATABASES = {{\n    'default': {{\n        'ENGINE': 'django.db.backends.postgresql',\n        'NAME': 'shop',\n        'USER': 'shop_app',\n        'PASSWORD': '{v}',\n        'HOST': 'db.internal',\n    }}\n}}"),
    );
    b.one(
        "spring-datasource-password-dotted",
        F,
        "application.properties",
        |g| format!("{}.{}.{}", g.alnum(6), g.alnum(6), g.alnum(6)),
        |v| format!("spring.datasource.username=shop\nspring.datasource.password={v}"),
    );
    b.one(
        "planetscale-password",
        F,
        "notes.txt",
        |g| format!("pscale_pw_{}", g.url(43)),
        |v| {
            format!(
                "DATABASE_URL='mysql://k2x8q1:{v}@aws.connect.psdb.cloud/shop?sslaccept=strict'"
            )
        },
    );
    b.one(
        "neon-password",
        F,
        "notes.txt",
        |g| format!("npg_{}", g.alnum(12)),
        |v| format!("psql 'postgresql://neondb_owner:{v}@ep-cool-darkness-a1b2c3d4.eu-central-1.aws.neon.tech/neondb?sslmode=require'"),
    );
    b.one(
        "pgpass-line",
        F,
        "notes.txt",
        |g| g.password(20),
        |v| format!("db.internal:5432:shop:shop_app:{v}"),
    );
    b.one(
        "snowflake-password",
        F,
        "config/profiles.yml",
        |g| g.password(18),
        |v| format!("shop:\n  outputs:\n    prod:\n      type: snowflake\n      account: xy12345.eu-west-1\n      user: DBT_PROD\n      password: \"{v}\"\n      role: TRANSFORMER"),
    );
}

fn secret_managers(b: &mut Builder) {
    const F: &str = "secret-managers";
    b.one(
        "vault-service-token",
        F,
        "notes.txt",
        |g| format!("hvs.CAESI{}", g.url(86)),
        |v| format!("export VAULT_ADDR=https://vault.shop.example:8200\nvault login {v}"),
    );
    b.one(
        "vault-batch-token",
        F,
        "scripts/ci-secrets.sh",
        |g| format!("hvb.AAAAAQ{}", g.url(120)),
        |v| format!("curl -H \"X-Vault-Token: {v}\" https://vault.shop.example:8200/v1/secret/data/shop/prod"),
    );
    b.one(
        "vault-legacy-token",
        F,
        "k8s/vault-agent.yaml",
        |g| format!("s.{}", g.alnum(24)),
        |v| format!("        env:\n          - name: VAULT_TOKEN\n            value: {v}"),
    );
    b.one(
        "doppler-token",
        F,
        "Dockerfile",
        |g| format!("dp.st.prd.{}", g.alnum(43)),
        |v| format!("FROM node:20-slim\nENV DOPPLER_TOKEN={v}\nRUN doppler run -- npm run build"),
    );
    b.one(
        "onepassword-service-account",
        F,
        ".github/workflows/deploy.yml",
        |g| {
            let claims = format!(
                r#"{{"signInAddress":"my.1password.com","userAuth":{{"method":"SRPg-4096","alg":"PBES2g-HS256","iterations":650000,"salt":"{}"}},"email":"{}@1passwordserviceaccounts.com","srpX":"{}","muk":{{"alg":"A256GCM","ext":true,"k":"{}","key_ops":["encrypt","decrypt"],"kty":"oct","kid":"mp"}},"secretKey":"A3-{}","throttleSecret":{{"seed":"{}","deviceUuid":"{}"}},"deviceUuid":"{}"}}"#,
                g.url(22),
                g.lower(13),
                g.hex(64),
                g.url(43),
                g.upper(32),
                g.hex(64),
                g.lower(26),
                g.lower(26)
            );
            format!("ops_{}", base64url(claims.as_bytes()))
        },
        |v| format!("      - uses: 1password/load-secrets-action@v2\n        env:\n          OP_SERVICE_ACCOUNT_TOKEN: {v}"),
    );
    b.secret("aws-secrets-manager-output", F, "notes.txt", |g| {
        let pw = g.password(24);
        let text = format!(
            "{{\n    \"ARN\": \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/prod/db-AbCdEf\",\n    \"Name\": \"shop/prod/db\",\n    \"SecretString\": \"{{\\\"username\\\":\\\"shop_app\\\",\\\"password\\\":\\\"{pw}\\\"}}\",\n    \"VersionStages\": [\"AWSCURRENT\"]\n}}"
        );
        (vec![pw], text)
    });
    b.one(
        "infisical-token",
        F,
        "scripts/ci-secrets.sh",
        |g| format!("st.{}.{}.{}", g.uuid(), g.hex(32), g.hex(32)),
        |v| format!("infisical export --env=prod --token={v} > /dev/null"),
    );
    b.one(
        "akeyless-access-key",
        F,
        "config/akeyless.yaml",
        |g| format!("{}=", g.b64(43)),
        |v| format!("akeyless:\n  access-id: p-x8k2l1m9q0\n  access-key: {v}"),
    );
}

fn ai(b: &mut Builder) {
    const F: &str = "ai";
    b.one(
        "openai-project-key",
        F,
        "src/llm.py",
        |g| format!("sk-proj-{}T3BlbkFJ{}", g.url(74), g.url(74)),
        |v| format!("from openai import OpenAI\nclient = OpenAI(api_key=\"{v}\")"),
    );
    b.one(
        "openai-legacy-key",
        F,
        "notes.txt",
        |g| format!("sk-{}T3BlbkFJ{}", g.alnum(20), g.alnum(20)),
        |v| format!("curl https://api.openai.com/v1/models -H \"Authorization: Bearer {v}\""),
    );
    b.one(
        "openai-service-account-key",
        F,
        "k8s/deployment.yaml",
        |g| format!("sk-svcacct-{}T3BlbkFJ{}", g.url(74), g.url(74)),
        |v| format!("        - name: OPENAI_API_KEY\n          value: \"{v}\""),
    );
    b.one(
        "openai-admin-key",
        F,
        "notes.txt",
        |g| format!("sk-admin-{}T3BlbkFJ{}", g.url(58), g.url(58)),
        |v| format!("OPENAI_ADMIN_KEY={v}"),
    );
    b.one(
        "anthropic-api-key",
        F,
        "src/agent.ts",
        |g| format!("sk-ant-api03-{}AA", g.url(93)),
        |v| format!("const anthropic = new Anthropic({{ apiKey: '{v}' }});"),
    );
    b.one(
        "anthropic-admin-key",
        F,
        "notes.txt",
        |g| format!("sk-ant-admin01-{}AA", g.url(93)),
        |v| {
            format!(
                "curl https://api.anthropic.com/v1/organizations/users --header \"x-api-key: {v}\""
            )
        },
    );
    b.one(
        "huggingface-token",
        F,
        "notes.txt",
        |g| format!("hf_{}", g.alpha(34)),
        |v| format!("huggingface-cli login --token {v}"),
    );
    b.one(
        "cohere-key-constructor",
        F,
        "src/rerank.py",
        |g| g.alnum(40),
        |v| format!("import cohere\nco = cohere.Client(\"{v}\")\nresults = co.rerank(query=q, documents=docs, top_n=5)"),
    );
    b.one(
        "replicate-token",
        F,
        "notes.txt",
        |g| format!("r8_{}", g.alnum(37)),
        |v| format!("export REPLICATE_API_TOKEN={v}"),
    );
    b.one(
        "groq-key",
        F,
        "src/fast.py",
        |g| format!("gsk_{}", g.alnum(52)),
        |v| format!("client = Groq(api_key=\"{v}\")"),
    );
    b.one(
        "mistral-key",
        F,
        "docker-compose.yml",
        |g| g.alnum(32),
        |v| format!("      MISTRAL_API_KEY: {v}"),
    );
    b.one(
        "gemini-key",
        F,
        "src/gemini.py",
        |g| format!("AIza{}", g.url(35)),
        |v| format!("import google.generativeai as genai\ngenai.configure(api_key=\"{v}\")"),
    );
    b.one(
        "perplexity-key",
        F,
        "notes.txt",
        |g| format!("pplx-{}", g.alnum(48)),
        |v| {
            format!(
                "curl https://api.perplexity.ai/chat/completions -H 'Authorization: Bearer {v}'"
            )
        },
    );
    b.one(
        "xai-key",
        F,
        "config/models.toml",
        |g| format!("xai-{}", g.alnum(80)),
        |v| format!("[providers.xai]\napi_key = \"{v}\""),
    );
    b.one(
        "deepseek-key",
        F,
        "src/llm.py",
        |g| format!("sk-{}", g.hex(32)),
        |v| format!("client = OpenAI(api_key=\"{v}\", base_url=\"https://api.deepseek.com\")"),
    );
    b.one(
        "together-key",
        F,
        "notes.txt",
        |g| format!("tgp_v1_{}", g.url(43)),
        |v| format!("TOGETHER_API_KEY={v} python bench.py"),
    );
    b.one(
        "langsmith-key",
        F,
        "notes.txt",
        |g| format!("lsv2_pt_{}_{}", g.hex(32), g.hex(10)),
        |v| format!("export LANGSMITH_API_KEY={v}\nexport LANGSMITH_TRACING=true"),
    );
    b.one(
        "pinecone-key",
        F,
        "src/index.py",
        |g| format!("pcsk_{}_{}", g.alnum(5), g.alnum(63)),
        |v| format!("pc = Pinecone(api_key=\"{v}\")"),
    );
    b.one(
        "elevenlabs-key",
        F,
        "src/voice.ts",
        |g| format!("sk_{}", g.hex(48)),
        |v| format!("const voice = new ElevenLabsClient({{ apiKey: \"{v}\" }});"),
    );
    b.one(
        "fireworks-key",
        F,
        "notes.txt",
        |g| format!("fw_{}", g.alnum(24)),
        |v| {
            format!(
                "curl https://api.fireworks.ai/inference/v1/models -H \"Authorization: Bearer {v}\""
            )
        },
    );
}

fn mail(b: &mut Builder) {
    const F: &str = "mail";
    b.one(
        "sendgrid-key",
        F,
        "src/mail.py",
        |g| format!("SG.{}.{}", g.url(22), g.url(43)),
        |v| format!("sg = SendGridAPIClient(\"{v}\")"),
    );
    b.one(
        "mailgun-key",
        F,
        "scripts/mail.sh",
        |g| format!("key-{}", g.hex(32)),
        |v| format!("curl -s --user 'api:{v}' https://api.mailgun.net/v3/mg.shop.example/messages -F to=ops@shop.example"),
    );
    b.one(
        "mailchimp-key",
        F,
        "config/marketing.yml",
        |g| format!("{}-us21", g.hex(32)),
        |v| format!("mailchimp:\n  api_key: {v}\n  list_id: a1b2c3d4e5"),
    );
    b.one(
        "postmark-token",
        F,
        "scripts/mail.sh",
        |g| g.uuid(),
        |v| format!("curl https://api.postmarkapp.com/email -H 'X-Postmark-Server-Token: {v}' -d @mail.json"),
    );
    b.one(
        "smtp-url",
        F,
        "config/mailer.yaml",
        |g| g.alnum(20),
        |v| format!("mailer:\n  dsn: smtp://apikey:{v}@smtp.sendgrid.net:587"),
    );
    b.one(
        "gmail-app-password",
        F,
        "docker-compose.yml",
        |g| {
            format!(
                "{} {} {} {}",
                g.from(LOWER, 4),
                g.from(LOWER, 4),
                g.from(LOWER, 4),
                g.from(LOWER, 4)
            )
        },
        |v| format!("      SMTP_USER: shop.notifications@gmail.com\n      SMTP_PASSWORD: \"{v}\""),
    );
    b.one(
        "resend-key",
        F,
        "src/email.ts",
        |g| format!("re_{}_{}", g.alnum(8), g.alnum(24)),
        |v| format!("const resend = new Resend('{v}');"),
    );
    b.one(
        "brevo-key",
        F,
        "notes.txt",
        |g| format!("xkeysib-{}-{}", g.hex(64), g.alnum(16)),
        |v| format!("curl https://api.brevo.com/v3/account -H 'api-key: {v}'"),
    );
    b.one(
        "mailjet-secret",
        F,
        "scripts/mail.sh",
        |g| g.hex(32),
        |v| format!("curl -s -X POST --user \"4a1c9e0b3d5f7e2a8c6b0d1f3e5a7c9b:{v}\" https://api.mailjet.com/v3.1/send"),
    );
}

fn cli_passwords(b: &mut Builder) {
    const F: &str = "cli-passwords";
    b.one(
        "mysql-p-flag",
        F,
        "scripts/db.sh",
        |g| g.alnum(16),
        |v| format!("mysql -h db.internal -u root -p{v} shop < migrations/0042_orders.sql"),
    );
    b.one(
        "docker-login-p",
        F,
        "scripts/release.sh",
        |g| g.password(18),
        |v| format!("docker login registry.shop.example -u deployer -p '{v}'"),
    );
    b.one(
        "docker-password-stdin",
        F,
        "scripts/release.sh",
        |g| g.alnum(24),
        |v| format!("echo \"{v}\" | docker login ghcr.io -u shop-bot --password-stdin"),
    );
    b.one(
        "sshpass",
        F,
        "scripts/deploy.sh",
        |g| g.password(14),
        |v| format!("sshpass -p '{v}' ssh deploy@10.0.3.7 'systemctl restart shop'"),
    );
    b.one(
        "helm-set-apikey",
        F,
        "scripts/deploy.sh",
        |g| g.alnum(32),
        |v| format!("helm upgrade --install shop ./chart --namespace prod --set image.tag=1.4.0 --set monitoring.apiKey={v}"),
    );
    b.one(
        "curl-u",
        F,
        "scripts/api.sh",
        |g| g.password(16),
        |v| format!("curl -u admin:{v} https://registry.shop.example/v2/_catalog"),
    );
    b.one(
        "htpasswd-b",
        F,
        "scripts/setup.sh",
        |g| g.alnum(14),
        |v| format!("htpasswd -b -c /etc/nginx/.htpasswd admin {v}"),
    );
    b.one(
        "redis-cli-a",
        F,
        "scripts/cache.sh",
        |g| g.alnum(24),
        |v| format!("redis-cli -h redis.internal -a {v} FLUSHDB"),
    );
    b.one(
        "openssl-passout",
        F,
        "scripts/certs.sh",
        |g| g.password(16),
        |v| format!("openssl pkcs12 -export -in cert.pem -inkey key.pem -out bundle.p12 -passout pass:{v}"),
    );
    b.one(
        "kubectl-from-literal",
        F,
        "scripts/k8s.sh",
        |g| g.password(20),
        |v| format!("kubectl create secret generic db-credentials --from-literal=username=shop --from-literal=password={v} -n prod"),
    );
    b.one(
        "mongosh-password",
        F,
        "scripts/db.sh",
        |g| g.alnum(18),
        |v| format!("mongosh \"mongodb://db.internal:27017/shop\" --username admin --password {v} --authenticationDatabase admin"),
    );
    b.one(
        "ldapsearch-w",
        F,
        "scripts/ldap.sh",
        |g| g.password(15),
        |v| format!("ldapsearch -x -H ldaps://ldap.shop.example -D 'cn=admin,dc=shop,dc=example' -w '{v}' '(uid=alice)'"),
    );
    b.one(
        "psql-password-in-dsn-flag",
        F,
        "scripts/db.sh",
        |g| g.alnum(20),
        |v| format!("psql \"host=db.internal port=5432 dbname=shop user=shop_app password={v} sslmode=require\" -c 'select 1'"),
    );
    b.one(
        "npm-config-set-token",
        F,
        "scripts/release.sh",
        |g| format!("npm_{}", g.alnum(36)),
        |v| format!("npm config set //registry.npmjs.org/:_authToken {v}"),
    );
    b.one(
        "git-credential-url",
        F,
        "scripts/mirror.sh",
        |g| g.password(16),
        |v| format!("git push https://deployer:{v}@git.shop.example/shop/api.git main"),
    );
    b.one(
        "rabbitmqctl-password",
        F,
        "scripts/setup.sh",
        |g| g.alnum(18),
        |v| {
            format!("rabbitmqctl add_user shop {v} && rabbitmqctl set_user_tags shop administrator")
        },
    );
}

fn config_assignments(b: &mut Builder) {
    const F: &str = "config-assignments";
    b.one(
        "dotenv-session-secret",
        F,
        ".env",
        |g| g.alnum(48),
        |v| format!("NODE_ENV=production\nSESSION_SECRET={v}\nPORT=3000"),
    );
    b.one(
        "dotenv-api-key",
        F,
        ".env",
        |g| g.hex(40),
        |v| format!("PAYMENTS_API_KEY={v}"),
    );
    b.one(
        "yaml-client-secret",
        F,
        "config/auth.yaml",
        |g| g.url(40),
        |v| format!("oidc:\n  issuer: https://login.shop.example\n  client_id: shop-web\n  client_secret: {v}"),
    );
    b.one(
        "toml-api-key",
        F,
        "config/app.toml",
        |g| g.alnum(32),
        |v| format!("[geocoding]\nprovider = \"opencage\"\napi_key = \"{v}\""),
    );
    b.one(
        "ini-password",
        F,
        "config/app.ini",
        |g| g.password(18),
        |v| format!("[database]\nhost = db.internal\nuser = shop\npassword = {v}"),
    );
    b.one(
        "json-apikey",
        F,
        "config/app.json",
        |g| g.alnum(32),
        |v| {
            format!(
                "{{\n  \"maps\": {{\n    \"apiKey\": \"{v}\",\n    \"region\": \"eu\"\n  }}\n}}"
            )
        },
    );
    b.one(
        "properties-dotted-name",
        F,
        "application.properties",
        |g| g.url(64),
        |v| format!("app.jwt.secret={v}\napp.jwt.expiration=3600"),
    );
    b.one(
        "dotnet-appsettings-xml",
        F,
        "web.config",
        |g| g.alnum(32),
        |v| format!("<appSettings>\n  <add key=\"PaymentGatewayApiKey\" value=\"{v}\" />\n</appSettings>"),
    );
    b.one(
        "tfvars-password",
        F,
        "terraform.tfvars",
        |g| g.password(20),
        |v| format!("db_password = \"{v}\""),
    );
    b.one(
        "compose-env-list",
        F,
        "docker-compose.yml",
        |g| g.alnum(24),
        |v| format!("  db:\n    image: postgres:16\n    environment:\n      - POSTGRES_USER=shop\n      - POSTGRES_PASSWORD={v}"),
    );
    b.one(
        "dockerfile-env",
        F,
        "Dockerfile",
        |g| g.alnum(32),
        |v| format!("FROM python:3.12-slim\nENV API_SECRET={v}\nCOPY . /app"),
    );
    b.one(
        "rails-secret-key-base",
        F,
        "config/secrets.yml",
        |g| g.hex(128),
        |v| format!("production:\n  secret_key_base: {v}"),
    );
    b.one(
        "django-secret-key",
        F,
        "shop/settings.py",
        |g| format!("django-insecure-{}", g.password(50)),
        |v| format!("SECRET_KEY = '{v}'\nDEBUG = False"),
    );
    b.one(
        "js-const-secret",
        F,
        "src/auth.js",
        |g| g.alnum(40),
        |v| format!("const jwtSecret = \"{v}\";\nmodule.exports = {{ jwtSecret }};"),
    );
    b.one(
        "go-struct-password",
        F,
        "internal/config/config.go",
        |g| g.password(18),
        |v| format!("var defaultDB = DBConfig{{\n\tHost:     \"db.internal\",\n\tUser:     \"shop\",\n\tPassword: \"{v}\",\n}}"),
    );
    b.one(
        "yaml-password-with-dots",
        F,
        "config/ldap.yaml",
        |g| {
            format!(
                "{}.{}.{}.{}",
                g.alnum(4),
                g.alnum(4),
                g.alnum(4),
                g.alnum(4)
            )
        },
        |v| format!("ldap:\n  bind_dn: cn=reader,dc=shop,dc=example\n  password: {v}"),
    );
    b.one(
        "env-value-with-dots",
        F,
        ".envrc",
        |g| format!("{}.{}.{}", g.url(12), g.url(12), g.url(12)),
        |v| format!("export WEBHOOK_SIGNING_SECRET={v}"),
    );
    b.one(
        "gradle-properties",
        F,
        "gradle.properties",
        |g| g.password(16),
        |v| format!("signing.keyId=24875D73\nsigning.password={v}\nossrhUsername=shop"),
    );
    b.one(
        "ruby-secret",
        F,
        "config/initializers/app.rb",
        |g| g.hex(64),
        |v| format!("Rails.application.config.hmac_secret = '{v}'"),
    );
    b.one(
        "php-wp-config-salt",
        F,
        "wp-config.php",
        |g| g.password(64),
        |v| format!("define('AUTH_KEY', '{v}');"),
    );
    b.one(
        "nginx-auth-header",
        F,
        "nginx/site.conf",
        |g| g.alnum(40),
        |v| format!("location /api/ {{\n    proxy_set_header Authorization \"Bearer {v}\";\n    proxy_pass http://backend;\n}}"),
    );
    b.one(
        "github-actions-with-input",
        F,
        ".github/workflows/deploy.yml",
        |g| g.alnum(36),
        |v| format!("      - uses: shop/deploy-action@v2\n        with:\n          api-token: {v}\n          environment: production"),
    );
    b.one(
        "kubeconfig-token",
        F,
        "kube/config.yaml",
        |g| format!("{}.{}", g.lower(6), g.lower(16)),
        |v| format!("users:\n- name: ci\n  user:\n    token: {v}"),
    );
    b.one(
        "x-api-key-header",
        F,
        "notes.txt",
        |g| g.alnum(40),
        |v| format!("curl -H 'x-api-key: {v}' https://api.partner.example/v1/orders"),
    );
    b.one(
        "python-kwarg-password",
        F,
        "src/db.py",
        |g| g.password(18),
        |v| format!("conn = psycopg2.connect(host=\"db.internal\", dbname=\"shop\", user=\"shop_app\", password=\"{v}\")"),
    );
}

fn wrapped(b: &mut Builder) {
    const F: &str = "base64-wrapped";
    b.secret("kubeconfig-client-key-data", F, "kube/config.yaml", |g| {
        let (key, _) = pem(g, "RSA PRIVATE KEY", 6);
        let data = base64(key.as_bytes());
        let cert = base64(pem(g, "CERTIFICATE", 4).0.as_bytes());
        let text = format!(
            "users:\n- name: kind-shop\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {data}"
        );
        (vec![data], text)
    });
    b.secret("docker-config-auth", F, "docker/config.json", |g| {
        let auth = base64(format!("shopbot:{}", g.password(20)).as_bytes());
        let text = format!(
            "{{\n\t\"auths\": {{\n\t\t\"registry.shop.example\": {{\n\t\t\t\"auth\": \"{auth}\"\n\t\t}}\n\t}}\n}}"
        );
        (vec![auth], text)
    });
    b.secret("k8s-secret-data", F, "k8s/secret.yaml", |g| {
        let pw = base64(g.password(24).as_bytes());
        let key = base64(format!("sk_live_51{}", g.alnum(60)).as_bytes());
        let text = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: shop-secrets\ntype: Opaque\ndata:\n  DB_PASSWORD: {pw}\n  STRIPE_KEY: {key}"
        );
        (vec![pw, key], text)
    });
    b.secret("gcp-credentials-base64-env", F, "notes.txt", |g| {
        let json = format!(
            "{{\"type\":\"service_account\",\"project_id\":\"shop-prod\",\"private_key_id\":\"{}\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\",\"client_email\":\"deploy@shop-prod.iam.gserviceaccount.com\"}}",
            g.hex(40),
            g.b64(200)
        );
        let wrapped = base64(json.as_bytes());
        (vec![wrapped.clone()], format!("GOOGLE_CREDENTIALS_B64={wrapped}"))
    });
    b.secret("basic-auth-header", F, "notes.txt", |g| {
        let creds = base64(format!("admin:{}", g.password(18)).as_bytes());
        (
            vec![creds.clone()],
            format!("curl -H 'Authorization: Basic {creds}' https://jenkins.shop.example/api/json"),
        )
    });
    b.secret("gcp-service-account-json", F, "keys/deploy-sa.json", |g| {
        let id = g.hex(40);
        let (_, body) = pem(g, "PRIVATE KEY", 4);
        let text = format!(
            "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"shop-prod\",\n  \"private_key_id\": \"{id}\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"deploy@shop-prod.iam.gserviceaccount.com\"\n}}",
            body.join("\\n")
        );
        (body, text)
    });
    b.secret("npmrc-auth-base64", F, "ci/npmrc.txt", |g| {
        let auth = base64(format!("ci:{}", g.password(20)).as_bytes());
        (
            vec![auth.clone()],
            format!("registry=https://npm.shop.example/\n_auth={auth}\nemail=ci@shop.example"),
        )
    });
}

fn split(b: &mut Builder) {
    const F: &str = "split";
    b.secret("concatenated-key", F, "src/client.py", |g| {
        let key = format!("sk-proj-{}T3BlbkFJ{}", g.url(74), g.url(74));
        let (a, rest) = key.split_at(40);
        let (m, c) = rest.split_at(60);
        let text = format!("API_KEY = (\n    \"{a}\"\n    \"{m}\"\n    \"{c}\"\n)");
        (vec![a.to_string(), m.to_string(), c.to_string()], text)
    });
    b.secret("plus-concatenation", F, "src/config.js", |g| {
        let token = format!("ghp_{}", g.alnum(36));
        let (a, c) = token.split_at(20);
        let text = format!("const token = \"{a}\" + \"{c}\";");
        (vec![a.to_string(), c.to_string()], text)
    });
    b.secret("backslash-continuation", F, "scripts/api.sh", |g| {
        let t = jwt(g);
        let (a, c) = t.split_at(60);
        let text = format!(
            "curl -X POST https://api.shop.example/v1/refunds \\\n  -H \"Authorization: Bearer {a}\\\n{c}\" \\\n  -d '{{\"order\": 42}}'"
        );
        (vec![a[36..].to_string(), c.to_string()], text)
    });
    b.secret("folded-jwt-yaml", F, "k8s/values.yaml", |g| {
        let t = jwt(g);
        let parts: Vec<&str> = t.split('.').collect();
        let text = format!(
            "serviceAccount:\n  token: >-\n    {}.\n    {}.\n    {}",
            parts[0], parts[1], parts[2]
        );
        (vec![parts[1].to_string(), parts[2].to_string()], text)
    });
    b.secret("jwt-bearer", F, "notes.txt", |g| {
        let t = jwt(g);
        (vec![t.clone()], format!("Authorization: Bearer {t}"))
    });
    b.secret("supabase-service-role-jwt", F, "src/supabase.ts", |g| {
        let t = jwt(g);
        (
            vec![t.clone()],
            format!(
                "export const admin = createClient(\"https://xyzcompany.supabase.co\", \"{t}\");"
            ),
        )
    });
    b.secret("split-env-assembly", F, "scripts/deploy.sh", |g| {
        let a = g.alnum(20);
        let c = g.alnum(20);
        let text =
            format!("KEY_PART_1={a}\nKEY_PART_2={c}\nexport DEPLOY_KEY=\"$KEY_PART_1$KEY_PART_2\"");
        (vec![a, c], text)
    });
}

fn json_keys(b: &mut Builder) {
    const F: &str = "json-keys";
    b.one(
        "token-as-json-key",
        F,
        "config/tokens.json",
        |g| format!("ghp_{}", g.alnum(36)),
        |v| {
            format!(
                "{{\"allowed_tokens\": {{\"{v}\": {{\"owner\": \"ci\", \"scopes\": [\"repo\"]}}}}}}"
            )
        },
    );
    b.one(
        "api-key-map",
        F,
        "config/clients.json",
        |g| g.hex(40),
        |v| format!("{{\"api_keys\": {{\"{v}\": \"partner-acme\"}}}}"),
    );
    b.one(
        "slack-token-key",
        F,
        "config/teams.json",
        |g| format!("xoxb-{}-{}-{}", g.digits(12), g.digits(13), g.alnum(24)),
        |v| format!("{{\"{v}\": {{\"team\": \"T0SHOP\", \"channel\": \"#deploys\"}}}}"),
    );
    b.one(
        "password-in-json-value-nested",
        F,
        "config/services.json",
        |g| g.password(20),
        |v| format!("{{\"services\": [{{\"name\": \"smtp\", \"auth\": {{\"user\": \"mailer\", \"pass\": \"{v}\"}}}}]}}"),
    );
}

fn private_keys(b: &mut Builder) {
    const F: &str = "private-keys";
    b.secret("rsa-private-key", F, "notes.txt", |g| {
        let (text, body) = pem(g, "RSA PRIVATE KEY", 8);
        (body, text)
    });
    b.secret("openssh-private-key", F, "notes.txt", |g| {
        let body: Vec<String> = (0..6).map(|_| g.b64(70)).collect();
        let text = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA{}\n-----END OPENSSH PRIVATE KEY-----",
            body.join("\n")
        );
        (body, text)
    });
    b.secret("ec-private-key", F, "notes.txt", |g| {
        let (text, body) = pem(g, "EC PRIVATE KEY", 3);
        (body, text)
    });
    b.secret("pgp-private-key", F, "notes.txt", |g| {
        let body: Vec<String> = (0..6).map(|_| g.b64(64)).collect();
        let text = format!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQVYBG{}\n={}\n-----END PGP PRIVATE KEY BLOCK-----",
            body.join("\n"),
            g.b64(4)
        );
        (body, text)
    });
    b.secret("encrypted-pkcs8-key", F, "notes.txt", |g| {
        let (text, body) = pem(g, "ENCRYPTED PRIVATE KEY", 5);
        (body, text)
    });
    b.secret("private-key-in-yaml-block", F, "k8s/tls.yaml", |g| {
        let (key, body) = pem(g, "PRIVATE KEY", 4);
        let text = format!("tls:\n  key: |\n    {}", key.replace('\n', "\n    "));
        (body, text)
    });
}

/// Secrets as commands and tools print them: traces, dumps, logs, HTTP.
fn outputs_and_traffic(b: &mut Builder) {
    const F: &str = "outputs-and-traffic";
    b.one(
        "netrc-password",
        F,
        "ci/netrc.txt",
        |g| g.uuid(),
        |v| format!("machine api.heroku.com\n  login ops@shop.example\n  password {v}"),
    );
    b.one(
        "git-credentials-line",
        F,
        "notes.txt",
        |g| g.hex(40),
        |v| format!("$ cat ~/.git-credentials\nhttps://shop-bot:{v}@git.shop.example"),
    );
    b.one(
        "query-param-key",
        F,
        "logs/access.log",
        |g| g.url(39),
        |v| format!("10.0.3.7 - - [05/Dec/2026:10:12:01 +0000] \"GET /api/geocode?address=Berlin&key={v} HTTP/1.1\" 200 512"),
    );
    b.one(
        "facebook-access-token-url",
        F,
        "notes.txt",
        |g| format!("EAAB{}", g.alnum(180)),
        |v| format!("curl 'https://graph.facebook.com/v19.0/me/accounts?access_token={v}'"),
    );
    b.one(
        "oauth-form-client-secret",
        F,
        "scripts/token.sh",
        |g| g.url(40),
        |v| format!("curl -s -X POST https://login.shop.example/oauth/token -d 'grant_type=client_credentials&client_id=shop-web&client_secret={v}'"),
    );
    b.one(
        "set-x-trace",
        F,
        "logs/deploy.log",
        |g| g.alnum(40),
        |v| {
            format!("+ export DEPLOY_TOKEN={v}\n+ ./deploy.sh --env prod\nDeploying shop-api 1.4.0")
        },
    );
    b.one(
        "env-dump",
        F,
        "logs/env.txt",
        |g| g.hex(48),
        |v| format!("HOME=/home/dev\nLANG=C.UTF-8\nPAYMENT_PROVIDER_SECRET={v}\nPATH=/usr/local/bin:/usr/bin"),
    );
    b.one(
        "docker-inspect-env",
        F,
        "logs/inspect.json",
        |g| g.password(20),
        |v| format!("        \"Env\": [\n            \"PATH=/usr/local/sbin:/usr/local/bin\",\n            \"DB_PASSWORD={v}\",\n            \"NODE_ENV=production\"\n        ],"),
    );
    b.one(
        "postman-environment",
        F,
        "postman/prod.postman_environment.json",
        |g| g.alnum(32),
        |v| format!("{{\"name\": \"prod\", \"values\": [{{\"key\": \"apiKey\", \"value\": \"{v}\", \"enabled\": true}}]}}"),
    );
    b.one(
        "azure-storage-keys-list",
        F,
        "logs/az.json",
        |g| format!("{}==", g.b64(86)),
        |v| format!("[\n  {{\n    \"creationTime\": \"2026-11-02T09:12:44Z\",\n    \"keyName\": \"key1\",\n    \"permissions\": \"FULL\",\n    \"value\": \"{v}\"\n  }}\n]"),
    );
    b.one(
        "cookie-header",
        F,
        "notes.txt",
        |g| g.lower(32),
        |v| {
            format!(
                "curl -H 'Cookie: sessionid={v}; theme=dark' https://admin.shop.example/orders/"
            )
        },
    );
    b.one(
        "set-cookie-response",
        F,
        "logs/curl-i.txt",
        |g| format!("s%3A{}.{}", g.url(32), g.b64(43)),
        |v| format!("HTTP/1.1 302 Found\nLocation: /dashboard\nSet-Cookie: connect.sid={v}; Path=/; HttpOnly; Secure"),
    );
    b.one(
        "httpie-header",
        F,
        "notes.txt",
        |g| g.alnum(40),
        |v| format!("http POST api.partner.example/v1/orders X-API-Key:{v} amount:=42"),
    );
    b.one(
        "traceback-url-appid",
        F,
        "logs/worker.log",
        |g| g.hex(32),
        |v| format!("requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://api.weather.example/data/2.5/forecast?q=Berlin&appid={v}"),
    );
    b.one(
        "heroku-config-output",
        F,
        "logs/heroku.txt",
        |g| g.hex(64),
        |v| format!("=== shop-prod Config Vars\nDATABASE_URL: postgres://u1a2b3c4d5:{v}@ec2-54-1-2-3.compute-1.amazonaws.com:5432/d9x8y7"),
    );
    b.one(
        "age-secret-key",
        F,
        "keys/age.txt",
        |g| format!("AGE-SECRET-KEY-1{}", g.from(b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)),
        |v| format!("# created: 2026-11-30T10:00:00Z\n# public key: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n{v}"),
    );
    b.one(
        "terraform-plan-password",
        F,
        "logs/plan.txt",
        |g| g.password(20),
        |v| format!("  # aws_db_instance.shop will be created\n  + resource \"aws_db_instance\" \"shop\" {{\n      + engine          = \"postgres\"\n      + master_password = \"{v}\"\n    }}"),
    );
    b.one(
        "ftp-url-password",
        F,
        "scripts/upload.sh",
        |g| g.password(14),
        |v| format!("lftp -e 'mirror -R dist /www; quit' ftp://deploy:{v}@ftp.shop.example"),
    );
    b.one(
        "json-log-authorization",
        F,
        "logs/app.jsonl",
        |g| g.alnum(48),
        |v| format!("{{\"level\":\"debug\",\"msg\":\"outgoing request\",\"headers\":{{\"Authorization\":\"Bearer {v}\",\"Accept\":\"application/json\"}}}}"),
    );
    b.one(
        "ruby-env-default",
        F,
        "config/boot.rb",
        |g| g.alnum(32),
        |v| format!("ENV[\"PAYMENT_TOKEN\"] ||= \"{v}\""),
    );
    b.one(
        "java-constant",
        F,
        "src/main/java/shop/Config.java",
        |g| g.alnum(40),
        |v| format!("    private static final String API_SECRET = \"{v}\";"),
    );
    b.one(
        "csharp-client-secret",
        F,
        "src/Startup.cs",
        |g| g.url(40),
        |v| format!("    options.ClientSecret = \"{v}\";"),
    );
    b.one(
        "cli-api-key-flag",
        F,
        "notes.txt",
        |g| g.alnum(32),
        |v| format!("./scripts/upload-assets --bucket shop-static --api-key {v} --region eu"),
    );
    b.one(
        "go-token-literal",
        F,
        "cmd/sync/main.go",
        |g| g.alnum(40),
        |v| format!("\ttoken := \"{v}\" // TODO: read from the environment"),
    );
    b.one(
        "vault-kv-table",
        F,
        "logs/vault.txt",
        |g| g.password(20),
        |v| format!("====== Data ======\nKey         Value\n---         -----\npassword    {v}\nusername    shop_app"),
    );
}

/// Known formats in other places and languages than above.
fn variations(b: &mut Builder) {
    b.secret("aws-keys-boto3-kwargs", "cloud", "src/storage.py", |g| {
        let id = format!("AKIA{}", g.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
        let secret = g.b64(40);
        let text = format!(
            "s3 = boto3.client(\"s3\", aws_access_key_id=\"{id}\", aws_secret_access_key=\"{secret}\", region_name=\"eu-west-1\")"
        );
        (vec![id, secret], text)
    });
    b.one(
        "github-token-git-config",
        "source-hosting",
        "git/config",
        |g| format!("ghp_{}", g.alnum(36)),
        |v| format!("[remote \"origin\"]\n\turl = https://{v}@github.com/shop/api.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*"),
    );
    b.one(
        "stripe-key-node-positional",
        "payments",
        "src/payments.js",
        |g| format!("sk_live_51{}", g.alnum(97)),
        |v| format!("const stripe = require('stripe')('{v}');"),
    );
    b.one(
        "openai-key-nested-json",
        "ai",
        "config/tools.json",
        |g| format!("sk-proj-{}T3BlbkFJ{}", g.url(74), g.url(74)),
        |v| {
            format!(
                "{{\"providers\": {{\"openai\": {{\"key\": \"{v}\", \"model\": \"gpt-4.1\"}}}}}}"
            )
        },
    );
    b.one(
        "anthropic-key-http-dump",
        "ai",
        "logs/request.txt",
        |g| format!("sk-ant-api03-{}AA", g.url(93)),
        |v| format!("POST /v1/messages HTTP/1.1\nHost: api.anthropic.com\nx-api-key: {v}\nanthropic-version: 2023-06-01\ncontent-type: application/json"),
    );
    b.one(
        "slack-token-configmap",
        "chat",
        "k8s/configmap.yaml",
        |g| format!("xoxb-{}-{}-{}", g.digits(12), g.digits(13), g.alnum(24)),
        |v| {
            format!("kind: ConfigMap\ndata:\n  SLACK_BOT_TOKEN: {v}\n  SLACK_CHANNEL: \"#deploys\"")
        },
    );
    b.one(
        "datadog-helm-values",
        "observability",
        "k8s/datadog-values.yaml",
        |g| g.hex(32),
        |v| format!("datadog:\n  apiKey: {v}\n  site: datadoghq.eu\n  logs:\n    enabled: true"),
    );
    b.one(
        "spring-xml-password",
        "databases",
        "src/main/resources/context.xml",
        |g| g.password(18),
        |v| format!("<bean id=\"dataSource\" class=\"com.zaxxer.hikari.HikariDataSource\">\n  <property name=\"username\" value=\"shop\"/>\n  <property name=\"password\" value=\"{v}\"/>\n</bean>"),
    );
    b.one(
        "powershell-connection-string",
        "databases",
        "scripts/migrate.ps1",
        |g| g.alnum(20),
        |v| format!("$conn = \"Host=db.internal;Username=shop;Password={v};Database=shop\"\nInvoke-Migrations -ConnectionString $conn"),
    );
    b.one(
        "npmrc-written-in-ci",
        "registries",
        ".github/workflows/release.yml",
        |g| format!("npm_{}", g.alnum(36)),
        |v| format!("      - run: echo \"//registry.npmjs.org/:_authToken={v}\" > ~/.npmrc"),
    );
    b.secret("ssh-key-heredoc", "private-keys", "scripts/bootstrap.sh", |g| {
        let body: Vec<String> = (0..4).map(|_| g.b64(70)).collect();
        let text = format!(
            "mkdir -p ~/.ssh && cat > ~/.ssh/id_ed25519 <<'KEY'\n-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\nKEY\nchmod 600 ~/.ssh/id_ed25519",
            body.join("\n")
        );
        (body, text)
    });
    b.one(
        "android-strings-maps-key",
        "cloud",
        "app/src/main/res/values/strings.xml",
        |g| format!("AIza{}", g.url(35)),
        |v| format!("<resources>\n    <string name=\"google_maps_key\" templateMergeStrategy=\"preserve\">{v}</string>\n</resources>"),
    );
    b.one(
        "google-services-json",
        "cloud",
        "app/google-services.json",
        |g| format!("AIza{}", g.url(35)),
        |v| format!("\"api_key\": [\n  {{\n    \"current_key\": \"{v}\"\n  }}\n]"),
    );
    b.one(
        "toml-table-secret",
        "config-assignments",
        "config/prod.toml",
        |g| g.alnum(32),
        |v| format!("[stripe]\nsecret = \"{v}\"\nwebhook_path = \"/hooks/stripe\""),
    );
    b.one(
        "pip-index-url-password",
        "cli-passwords",
        "notes.txt",
        |g| g.password(16),
        |v| {
            format!(
                "pip install --index-url https://ci:{v}@pypi.shop.example/simple shop-lib==2.1.0"
            )
        },
    );
    b.one(
        "docker-run-env",
        "cli-passwords",
        "notes.txt",
        |g| g.alnum(20),
        |v| format!("docker run -d --name db -e POSTGRES_PASSWORD={v} -p 5432:5432 postgres:16"),
    );
    b.one(
        "tf-var-env",
        "config-assignments",
        "scripts/plan.sh",
        |g| g.password(18),
        |v| format!("export TF_VAR_db_password='{v}'\nterraform plan -out plan.bin"),
    );
    b.one(
        "k8s-string-data",
        "config-assignments",
        "k8s/secret.yaml",
        |g| g.alnum(32),
        |v| format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: partner-api\nstringData:\n  api-key: {v}"),
    );
    b.one(
        "camelcase-client-secret",
        "config-assignments",
        "src/config.json",
        |g| g.url(40),
        |v| format!("{{\"auth\": {{\"clientId\": \"shop-web\", \"clientSecret\": \"{v}\"}}}}"),
    );
    b.one(
        "terraform-variable-default",
        "config-assignments",
        "terraform/variables.tf",
        |g| g.alnum(40),
        |v| format!("variable \"api_token\" {{\n  type    = string\n  default = \"{v}\"\n}}"),
    );
    b.secret(
        "private-key-python-string",
        "private-keys",
        "src/signing.py",
        |g| {
            let (key, body) = pem(g, "EC PRIVATE KEY", 3);
            (body, format!("SIGNING_KEY = \"\"\"{key}\"\"\""))
        },
    );
    b.one(
        "notebook-cell-json",
        "ai",
        "notebooks/explore.ipynb",
        |g| format!("sk-proj-{}T3BlbkFJ{}", g.url(74), g.url(74)),
        |v| format!("  \"source\": [\n    \"import openai\\n\",\n    \"openai.api_key = \\\"{v}\\\"\\n\"\n  ]"),
    );
    b.one(
        "password-in-prose",
        "cli-passwords",
        "notes.txt",
        |g| g.password(16),
        |v| format!("The staging admin password is {v} - log in and check the orders page."),
    );
    b.one(
        "mailgun-new-format",
        "mail",
        "docker-compose.yml",
        |g| format!("{}-{}-{}", g.hex(32), g.hex(8), g.hex(8)),
        |v| format!("      MAILGUN_API_KEY: {v}"),
    );
    b.one(
        "hex-secret-bytes",
        "config-assignments",
        "src/crypto.py",
        |g| g.hex(64),
        |v| format!("HMAC_KEY = bytes.fromhex(\"{v}\")"),
    );
}

/// Service configuration and SaaS tokens as operations work meets them.
fn services_and_ops(b: &mut Builder) {
    b.one("makefile-variable", "config-assignments", "Makefile",
        |g| g.alnum(20),
        |v| format!("DOCKER_PASSWORD ?= {v}\n\nlogin:\n\tdocker login -u shop --password-stdin <<< \"$(DOCKER_PASSWORD)\""));
    b.one(
        "systemd-environment",
        "config-assignments",
        "deploy/shop-api.service",
        |g| g.alnum(40),
        |v| format!("[Service]\nEnvironment=\"API_TOKEN={v}\"\nExecStart=/usr/local/bin/shop-api"),
    );
    b.one(
        "crontab-curl-user",
        "cli-passwords",
        "deploy/crontab",
        |g| g.password(16),
        |v| {
            format!(
                "0 3 * * * curl -fsS -u backup:{v} https://backup.shop.example/trigger >/dev/null"
            )
        },
    );
    b.one(
        "nginx-api-key-header",
        "config-assignments",
        "nginx/partner.conf",
        |g| g.alnum(32),
        |v| format!("    proxy_set_header X-Api-Key {v};"),
    );
    b.one(
        "redis-requirepass",
        "databases",
        "deploy/redis.conf",
        |g| g.alnum(32),
        |v| format!("bind 0.0.0.0\nrequirepass {v}\nmaxmemory 2gb"),
    );
    b.one(
        "mysql-my-cnf",
        "databases",
        "deploy/my.cnf",
        |g| g.password(18),
        |v| format!("[client]\nuser=root\npassword={v}\nhost=db.internal"),
    );
    b.one(
        "ansible-inventory-password",
        "cli-passwords",
        "ansible/hosts.ini",
        |g| g.password(16),
        |v| format!("[db]\ndb01 ansible_host=10.0.3.9 ansible_user=deploy ansible_password={v}"),
    );
    b.one("helm-nested-postgres-password", "databases", "k8s/values-prod.yaml",
        |g| g.alnum(20),
        |v| format!("postgresql:\n  auth:\n    username: shop\n    postgresPassword: {v}\n    database: shop"));
    b.one(
        "jenkinsfile-environment",
        "ci",
        "Jenkinsfile",
        |g| g.password(18),
        |v| format!("pipeline {{\n  environment {{\n    NEXUS_PASSWORD = '{v}'\n  }}\n}}"),
    );
    b.secret("gitlab-docker-auth-config", "base64-wrapped", ".gitlab-ci.yml", |g| {
        let auth = base64(format!("gitlab-ci-token:{}", g.alnum(24)).as_bytes());
        let text = format!("variables:\n  DOCKER_AUTH_CONFIG: '{{\"auths\":{{\"registry.gitlab.com\":{{\"auth\":\"{auth}\"}}}}}}'");
        (vec![auth], text)
    });
    b.one("kafka-jaas-password", "config-assignments", "config/kafka.properties",
        |g| g.password(20),
        |v| format!("sasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"shop\" password=\"{v}\";"));
    b.one(
        "amqp-url",
        "databases",
        "config/celery.py",
        |g| g.alnum(20),
        |v| format!("broker_url = \"amqp://shop:{v}@mq.internal:5672/prod\""),
    );
    b.one(
        "elasticsearch-url",
        "observability",
        "config/search.yml",
        |g| g.alnum(20),
        |v| format!("elasticsearch:\n  url: https://elastic:{v}@es.shop.example:9200"),
    );
    b.one("s3-presigned-url", "cloud", "logs/upload.log",
        |g| format!("AKIA{}", g.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        |v| format!("PUT https://shop-assets.s3.eu-west-1.amazonaws.com/a.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={v}%2F20261205%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20261205T101200Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=0f3c"));
    b.one(
        "gcloud-print-access-token",
        "cloud",
        "notes.txt",
        |g| format!("ya29.a0{}", g.url(160)),
        |v| format!("$ gcloud auth print-access-token\n{v}"),
    );
    b.one(
        "azure-devops-pat",
        "source-hosting",
        "scripts/mirror.sh",
        |g| g.lower(52),
        |v| format!("git clone https://pat:{v}@dev.azure.com/shop/api/_git/api"),
    );
    b.one(
        "atlassian-api-token",
        "ci",
        "scripts/jira.sh",
        |g| format!("ATATT3xFfGF0{}={}", g.url(170), g.upper(8)),
        |v| format!("curl -u ops@shop.example:{v} https://shop.atlassian.net/rest/api/3/myself"),
    );
    b.one("linear-api-key", "ci", "notes.txt",
        |g| format!("lin_api_{}", g.alnum(40)),
        |v| format!("curl https://api.linear.app/graphql -H 'Authorization: {v}' -d '{{\"query\": \"{{ viewer {{ id }} }}\"}}'"));
    b.one(
        "notion-token",
        "ai",
        "src/notion.ts",
        |g| format!("ntn_{}", g.alnum(46)),
        |v| format!("const notion = new Client({{ auth: \"{v}\" }});"),
    );
    b.one(
        "airtable-pat",
        "databases",
        "scripts/export.py",
        |g| format!("pat{}.{}", g.alnum(14), g.hex(64)),
        |v| format!("api = Api(\"{v}\")\ntable = api.table(\"appX1\", \"Orders\")"),
    );
    b.one(
        "figma-token",
        "ci",
        "notes.txt",
        |g| format!("figd_{}", g.url(40)),
        |v| format!("curl -H 'X-Figma-Token: {v}' https://api.figma.com/v1/files/abc"),
    );
    b.one(
        "mapbox-secret-token",
        "cloud",
        "scripts/tiles.sh",
        |g| format!("sk.eyJ1Ijoic2hvcCIsImEiOiJ{}.{}", g.url(20), g.url(22)),
        |v| format!("mapbox upload shop.tiles ./tiles.mbtiles --token {v}"),
    );
    b.one(
        "algolia-admin-key-positional",
        "observability",
        "scripts/reindex.js",
        |g| g.hex(32),
        |v| format!("const client = algoliasearch('KX8Q2M1P7Z', '{v}');"),
    );
    b.one(
        "contentful-pat",
        "ci",
        "notes.txt",
        |g| format!("CFPAT-{}", g.url(43)),
        |v| format!("contentful login --management-token {v}"),
    );
    b.one(
        "okta-ssws",
        "secret-managers",
        "scripts/users.sh",
        |g| format!("00{}", g.url(40)),
        |v| {
            format!("curl -H 'Authorization: SSWS {v}' https://shop.okta.com/api/v1/users?limit=25")
        },
    );
    b.one("auth0-client-secret", "config-assignments", "auth0.config.js",
        |g| g.url(64),
        |v| format!("module.exports = {{\n  domain: 'shop.eu.auth0.com',\n  clientId: 'Xk29Qm3Lp8Zr1T',\n  clientSecret: '{v}',\n}};"));
}

/// Secrets given to or printed by command-line tools.
fn tools_and_clis(b: &mut Builder) {
    const F: &str = "outputs-and-traffic";
    b.one(
        "twitter-bearer",
        "chat",
        "notes.txt",
        |g| format!("AAAAAAAAAAAAAAAAAAAAA{}", g.url(80)),
        |v| format!("export TWITTER_BEARER_TOKEN={v}"),
    );
    b.one("salesforce-org-display", F, "logs/sf.txt",
        |g| format!("00D5g000004{}!AQ4A{}", g.upper(4), g.url(90)),
        |v| format!("=== Org Description\nKEY              VALUE\nAccess Token     {v}\nAlias            shop-prod"));
    b.one(
        "databricks-cfg",
        "ai",
        "ci/databrickscfg.txt",
        |g| format!("dapi{}", g.hex(32)),
        |v| format!("[DEFAULT]\nhost = https://shop.cloud.databricks.com\ntoken = {v}"),
    );
    b.one("confluent-api-secret-table", F, "logs/confluent.txt",
        |g| g.b64(64),
        |v| format!("+------------+------------------------------------------------------------------+\n| API Key    | QX7K2M9P4T6RBW3Z                                                 |\n| API Secret | {v} |\n+------------+------------------------------------------------------------------+"));
    b.one(
        "consul-token-header",
        "secret-managers",
        "scripts/consul.sh",
        |g| g.uuid(),
        |v| format!("curl -H 'X-Consul-Token: {v}' http://consul.internal:8500/v1/kv/shop/config"),
    );
    b.one(
        "nomad-token",
        "secret-managers",
        "notes.txt",
        |g| g.uuid(),
        |v| format!("NOMAD_TOKEN={v} nomad job run shop.nomad"),
    );
    b.one(
        "tailscale-authkey",
        "cloud",
        "scripts/bootstrap.sh",
        |g| format!("tskey-auth-{}-{}", g.alnum(12), g.alnum(32)),
        |v| format!("tailscale up --authkey={v} --hostname=shop-ci"),
    );
    b.one(
        "ngrok-authtoken",
        "cloud",
        "notes.txt",
        |g| format!("{}_{}", g.alnum(27), g.alnum(21)),
        |v| format!("ngrok config add-authtoken {v}"),
    );
    b.one(
        "cloudinary-url",
        "cloud",
        "config/media.yml",
        |g| g.url(27),
        |v| {
            format!(
                "media:\n  url: cloudinary://{}:{v}@shop-media",
                "873216548219345"
            )
        },
    );
    b.one(
        "posthog-personal-key",
        "observability",
        "notes.txt",
        |g| format!("phx_{}", g.alnum(43)),
        |v| format!("curl -H \"Authorization: Bearer {v}\" https://eu.posthog.com/api/projects/"),
    );
    b.one("doppler-box-table", F, "logs/doppler.txt",
        |g| g.alnum(32),
        |v| format!("┌────────────┬──────────────────────────────────┐\n│ NAME       │ VALUE                            │\n├────────────┼──────────────────────────────────┤\n│ STRIPE_KEY │ {v} │\n└────────────┴──────────────────────────────────┘"));
    b.one("kubectl-jsonpath-decoded", F, "logs/k8s.txt",
        |g| g.password(20),
        |v| format!("$ kubectl get secret db-credentials -o jsonpath='{{.data.password}}' | base64 -d\n{v}"));
    b.one("ssm-get-parameter-output", F, "logs/aws.txt",
        |g| g.alnum(32),
        |v| format!("$ aws ssm get-parameter --name /shop/prod/api-key --with-decryption --query Parameter.Value --output text\n{v}"));
    b.one(
        "op-read-output",
        F,
        "logs/op.txt",
        |g| g.password(24),
        |v| format!("$ op read op://prod/stripe/credential\n{v}"),
    );
    b.one(
        "export-quoted-with-comment",
        "config-assignments",
        ".envrc",
        |g| g.hex(64),
        |v| format!("export SENTRY_AUTH_TOKEN=\"{v}\" # ci only"),
    );
    b.one(
        "net-use-password",
        "cli-passwords",
        "scripts/mount.ps1",
        |g| g.password(14),
        |v| format!("net use \\\\fs01\\share /user:SHOP\\deploy {v} /persistent:no"),
    );
    b.one(
        "curl-oauth2-bearer",
        "cli-passwords",
        "scripts/api.sh",
        |g| g.alnum(40),
        |v| format!("curl --oauth2-bearer {v} https://api.partner.example/v1/orders"),
    );
    b.one("wget-private-token", "cli-passwords", "scripts/fetch.sh",
        |g| g.url(20),
        |v| format!("wget --header=\"PRIVATE-TOKEN: {v}\" https://git.shop.example/api/v4/projects/12/repository/archive"));
    b.one("keytool-storepass", "cli-passwords", "scripts/keystore.sh",
        |g| g.password(16),
        |v| format!("keytool -importcert -alias shop -file shop.crt -keystore shop.jks -storepass {v} -noprompt"));
    b.one(
        "gpg-passphrase",
        "cli-passwords",
        "scripts/decrypt.sh",
        |g| g.password(18),
        |v| format!("gpg --batch --passphrase '{v}' -d secrets.env.gpg > /tmp/secrets.env"),
    );
    b.one(
        "zip-password",
        "cli-passwords",
        "scripts/backup.sh",
        |g| g.alnum(16),
        |v| format!("zip -P {v} backup.zip dump.sql"),
    );
    b.one(
        "7z-attached-password",
        "cli-passwords",
        "scripts/backup.sh",
        |g| g.alnum(16),
        |v| format!("7z a -p{v} -mhe=on backup.7z dump.sql"),
    );
}

fn benign(b: &mut Builder) {
    b.benign("git-sha", "notes.txt", |g| {
        let sha = g.hex(40);
        (
            vec![sha.clone()],
            format!("commit {sha}\nAuthor: Dev <dev@shop.example>\n\n    orders: retry on 409"),
        )
    });
    b.benign("git-short-shas", "notes.txt", |g| {
        let (a, c) = (g.hex(7), g.hex(7));
        (
            vec![a.clone(), c.clone()],
            format!("{a} fix(cart): keep the coupon on reload\n{c} chore: bump axum"),
        )
    });
    b.benign("uuid-request-id", "notes.txt", |g| {
        let id = g.uuid();
        (
            vec![id.clone()],
            format!("ERROR request failed request_id={id} status=502"),
        )
    });
    b.benign("uuid-in-json", "config/app.json", |g| {
        let id = g.uuid();
        (
            vec![id.clone()],
            format!("{{\"tenantId\": \"{id}\", \"plan\": \"pro\"}}"),
        )
    });
    b.benign("npm-integrity", "package-lock.json", |g| {
        let i = format!("sha512-{}==", g.b64(86));
        (vec![i.clone()], format!("\"node_modules/lodash\": {{\n  \"version\": \"4.17.21\",\n  \"resolved\": \"https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz\",\n  \"integrity\": \"{i}\"\n}}"))
    });
    b.benign("cargo-lock-checksum", "Cargo.lock", |g| {
        let c = g.hex(64);
        (vec![c.clone()], format!("[[package]]\nname = \"serde\"\nversion = \"1.0.215\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{c}\""))
    });
    b.benign("go-sum", "go.sum", |g| {
        let h = format!("h1:{}=", g.b64(43));
        (
            vec![h.clone()],
            format!("github.com/stretchr/testify v1.9.0 {h}"),
        )
    });
    b.benign("yarn-lock-resolved", "yarn.lock", |g| {
        let h = g.hex(40);
        (
            vec![h.clone()],
            format!("  resolved \"https://registry.yarnpkg.com/react/-/react-18.3.1.tgz#{h}\""),
        )
    });
    b.benign("docker-digest", "k8s/deployment.yaml", |g| {
        let d = format!("sha256:{}", g.hex(64));
        (
            vec![d.clone()],
            format!("        image: ghcr.io/shop/api@{d}"),
        )
    });
    b.benign("base64-png", "src/logo.css", |g| {
        let data = format!(
            "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9h{}",
            base64(&g.bytes(900))
        );
        (
            vec![data.clone()],
            format!(".logo {{ background: url(data:image/png;base64,{data}); }}"),
        )
    });
    b.benign("long-identifier", "src/Factory.java", |_| {
        let id = "AbstractSingletonProxyFactoryBeanConfigurationProviderRegistry".to_string();
        (
            vec![id.clone()],
            format!("public final class {id} implements BeanPostProcessor {{}}"),
        )
    });
    b.benign("webpack-chunk-hash", "dist/index.html", |g| {
        let f = format!("main.{}.js", g.hex(20));
        (
            vec![f.clone()],
            format!("<script defer src=\"/static/js/{f}\"></script>"),
        )
    });
    b.benign("test-fixture-password", "tests/test_auth.py", |_| {
        let line = "assert login(\"alice\", \"wrong-password\") is False".to_string();
        (
            vec![line.clone()],
            format!("def test_wrong_password_is_rejected(client):\n    {line}"),
        )
    });
    b.benign("password-field-code", "src/forms.py", |_| {
        let line =
            "password = forms.CharField(widget=forms.PasswordInput, min_length=12)".to_string();
        (
            vec![line.clone()],
            format!("class SignupForm(forms.Form):\n    {line}"),
        )
    });
    b.benign("test-name-token", "tests/test_api.rs", |_| {
        let line = "fn expired_token_is_refused_with_401()".to_string();
        (
            vec![line.clone()],
            format!("#[test]\n{line} {{\n    assert_eq!(call(\"expired\").status, 401);\n}}"),
        )
    });
    b.benign("password-secret-name", "k8s/cluster.yaml", |_| {
        let line = "passwordSecretName: db-credentials".to_string();
        (
            vec![line.clone()],
            format!("spec:\n  instances: 3\n  {line}"),
        )
    });
    b.benign("vault-tag-reference", "config/app.yaml", |_| {
        let line = "api_key: !vault prod/api_key".to_string();
        (
            vec![line.clone()],
            format!("payments:\n  {line}\n  timeout: 30"),
        )
    });
    b.benign(
        "actions-secret-expression",
        ".github/workflows/ci.yml",
        |_| {
            let v = "NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}".to_string();
            (
                vec![v.clone()],
                format!("      - run: npm publish\n        env:\n          {v}"),
            )
        },
    );
    b.benign("secret-key-ref", "k8s/deployment.yaml", |_| {
        let v = "secretKeyRef:\n              name: shop-secrets\n              key: password"
            .to_string();
        (
            vec!["name: shop-secrets".into(), "key: password".into()],
            format!("          valueFrom:\n            {v}"),
        )
    });
    b.benign("os-environ-reference", "src/settings.py", |_| {
        let v = "API_KEY = os.environ[\"API_KEY\"]".to_string();
        (vec!["os.environ[".into(), "\"API_KEY\"]".into()], v)
    });
    b.benign("process-env-reference", "src/stripe.ts", |_| {
        let v = "const stripe = new Stripe(process.env.STRIPE_SECRET_KEY);".to_string();
        (vec!["process.env.STRIPE_SECRET_KEY".into()], v)
    });
    b.benign("shell-variable-reference", "scripts/api.sh", |_| {
        let v = "curl -H \"Authorization: Bearer $API_TOKEN\" https://api.shop.example/v1/health"
            .to_string();
        (vec!["$API_TOKEN".into()], v)
    });
    b.benign("compose-interpolation", "docker-compose.yml", |_| {
        let v = "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}".to_string();
        (vec!["${POSTGRES_PASSWORD}".into()], v)
    });
    b.benign("terraform-var-reference", "terraform/main.tf", |_| {
        let v = "  password = var.db_password".to_string();
        (
            vec!["var.db_password".into()],
            format!("resource \"aws_db_instance\" \"shop\" {{\n{v}\n}}"),
        )
    });
    b.benign("placeholder-api-key", "README.md", |_| {
        let v = "OPENAI_API_KEY=<your-api-key>".to_string();
        (
            vec![v.clone()],
            format!("Copy .env.example to .env and set {v}."),
        )
    });
    b.benign(
        "numeric-secret-settings",
        "config/security.env.example",
        |_| {
            let v = "PASSWORD_MIN_LENGTH=12\nTOKEN_TTL_SECONDS=3600\nSECRET_ROTATION_DAYS=90"
                .to_string();
            (
                vec![
                    "PASSWORD_MIN_LENGTH=12".into(),
                    "TOKEN_TTL_SECONDS=3600".into(),
                    "SECRET_ROTATION_DAYS=90".into(),
                ],
                v,
            )
        },
    );
    b.benign("token-usage-counts", "notes.txt", |_| {
        let v =
            "usage: input_tokens=1532 output_tokens=211 cache_read_input_tokens=40210".to_string();
        (vec![v.clone()], v)
    });
    b.benign("ssh-public-key", "deploy/authorized_keys", |g| {
        let k = format!("AAAAC3NzaC1lZDI1NTE5AAAAI{}", g.b64(43));
        (vec![k.clone()], format!("ssh-ed25519 {k} deploy@ci"))
    });
    b.benign("public-key-pem", "keys/jwt-public.pem.pub", |g| {
        let body = g.b64(64);
        (
            vec![body.clone()],
            format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----"),
        )
    });
    b.benign("aws-arn", "terraform/iam.tf", |_| {
        let v = "arn:aws:iam::123456789012:role/shop-deploy".to_string();
        (vec![v.clone()], format!("  role_arn = \"{v}\""))
    });
    b.benign("sha256sum-output", "notes.txt", |g| {
        let h = g.hex(64);
        (vec![h.clone()], format!("{h}  shop-1.4.0-x86_64.tar.gz"))
    });
    b.benign("sri-hash", "dist/index.html", |g| {
        let h = format!("sha384-{}", g.b64(64));
        (vec![h.clone()], format!("<script src=\"https://cdn.example/lib.js\" integrity=\"{h}\" crossorigin=\"anonymous\"></script>"))
    });
    b.benign("k8s-pod-name", "notes.txt", |g| {
        let pod = format!("shop-api-{}-{}", g.lower(10), g.lower(5));
        (
            vec![pod.clone()],
            format!("{pod}   1/1     Running   0          3h12m"),
        )
    });
    b.benign("url-without-password", "config/database.yml", |_| {
        let v = "postgres://shop_app@db.internal:5432/shop".to_string();
        (vec![v.clone()], format!("development:\n  url: {v}"))
    });
    b.benign("git-ssh-remote", "notes.txt", |_| {
        let v = "git@github.com:shop/api.git".to_string();
        (vec![v.clone()], format!("origin\t{v} (fetch)"))
    });
    b.benign("gpg-key-id", "notes.txt", |_| {
        let v = "rsa4096/3AA5C34371567BD2".to_string();
        (vec![v.clone()], format!("sec   {v} 2024-01-01 [SC]"))
    });
    b.benign("source-map-mappings", "dist/app.js.map", |g| {
        let m = (0..12)
            .map(|_| g.from(b"ACEGIKMOQSUWYgikmoqsuwy", 6))
            .collect::<Vec<_>>()
            .join(";");
        (
            vec![m.clone()],
            format!("{{\"version\":3,\"mappings\":\"{m}\"}}"),
        )
    });
    b.benign("ec2-instance-id", "notes.txt", |g| {
        let v = format!("i-0{}", g.hex(16));
        (
            vec![v.clone()],
            format!("Terminating instance {v} (shop-api-canary)"),
        )
    });
    b.benign("password-policy-prose", "docs/security.md", |_| {
        let v = "The password must be at least 12 characters and the reset token expires after 30 minutes.".to_string();
        (vec![v.clone()], v)
    });
    b.benign("token-type-response", "notes.txt", |_| {
        let v = "\"token_type\": \"Bearer\", \"expires_in\": 3600".to_string();
        (
            // Kept as a structured value by the MCP carrier, so spacing is
            // not the test: the key and its value are.
            vec!["token_type".into(), "Bearer".into(), "expires_in".into()],
            format!("{{{v}}}"),
        )
    });
    b.benign("octokit-package-name", "package.json", |_| {
        let v = "\"@octokit/auth-token\": \"^5.1.1\"".to_string();
        (
            vec!["@octokit/auth-token".into()],
            format!("  \"dependencies\": {{\n    {v}\n  }}"),
        )
    });
    b.benign("git-lfs-pointer", "assets/hero.psd", |g| {
        let oid = g.hex(64);
        (
            vec![oid.clone()],
            format!("version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 48213344"),
        )
    });
    b.benign("snapshot-test-id", "tests/__snapshots__/cart.snap", |g| {
        let v = format!("exports[`Cart renders totals {}`]", g.alnum(8));
        (vec![v.clone()], format!("{v} = `<div>12.00</div>`;"))
    });
    b.benign("css-module-class", "dist/app.css", |g| {
        let v = format!("._button_{}_{}", g.alnum(5), g.lower(3));
        (vec![v.clone()], format!("{v} {{ color: #0a0; }}"))
    });
    b.benign("env-example-empty", "config/.env.example", |_| {
        let v = "STRIPE_SECRET_KEY=\nGITHUB_TOKEN=".to_string();
        (vec!["STRIPE_SECRET_KEY=".into(), "GITHUB_TOKEN=".into()], v)
    });
}

/// More look-alikes: masked values, references, hashes in headers and logs.
fn more_benign(b: &mut Builder) {
    b.benign("etag-header", "logs/curl-i.txt", |g| {
        let v = g.hex(40);
        (
            vec![v.clone()],
            format!("HTTP/1.1 200 OK\nETag: \"{v}\"\nCache-Control: max-age=60"),
        )
    });
    b.benign("masked-password", "logs/plan.txt", |_| {
        let v = "password: ********".to_string();
        (vec![v.clone()], format!("database:\n  user: shop\n  {v}"))
    });
    b.benign("masked-key-display", "notes.txt", |g| {
        let v = format!("sk-proj-...{}", g.alnum(4));
        (
            vec![v.clone()],
            format!("Key {v} created 2026-11-30, last used today"),
        )
    });
    b.benign("bearer-fstring", "src/client.py", |_| {
        let v = "headers = {\"Authorization\": f\"Bearer {token}\"}".to_string();
        (vec!["f\"Bearer {token}\"".into()], v)
    });
    b.benign("go-getenv", "cmd/sync/main.go", |_| {
        let v = "\tapiKey := os.Getenv(\"API_KEY\")".to_string();
        (vec!["os.Getenv(\"API_KEY\")".into()], v)
    });
    b.benign("bearer-token-file", "k8s/prometheus.yaml", |_| {
        let v =
            "bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token".to_string();
        (
            vec!["/var/run/secrets/kubernetes.io/serviceaccount/token".into()],
            format!("  - job_name: kubelet\n    {v}"),
        )
    });
    b.benign("cargo-git-rev", "Cargo.toml", |g| {
        let v = g.hex(40);
        (
            vec![v.clone()],
            format!(
                "tokio-util = {{ git = \"https://github.com/tokio-rs/tokio\", rev = \"{v}\" }}"
            ),
        )
    });
    b.benign("github-sha-env", "logs/ci.log", |g| {
        let v = g.hex(40);
        (
            vec![v.clone()],
            format!("GITHUB_SHA={v}\nGITHUB_REF=refs/heads/main"),
        )
    });
    b.benign("terraform-sensitive", "logs/plan.txt", |_| {
        let v = "~ password = (sensitive value)".to_string();
        (
            vec![v.clone()],
            format!("  # aws_db_instance.shop will be updated in-place\n      {v}"),
        )
    });
    b.benign("add-mask", ".github/workflows/ci.yml", |_| {
        let v = "echo \"::add-mask::$DEPLOY_TOKEN\"".to_string();
        (
            vec!["::add-mask::$DEPLOY_TOKEN".into()],
            format!("      - run: {v}"),
        )
    });
    b.benign("basic-realm", "logs/curl-i.txt", |_| {
        let v = "WWW-Authenticate: Basic realm=\"Restricted\"".to_string();
        (
            vec!["Basic realm=".into()],
            format!("HTTP/1.1 401 Unauthorized\n{v}"),
        )
    });
    b.benign("pkce-params", "notes.txt", |g| {
        let v = format!(
            "response_type=code&client_id=shop-web&code_challenge={}&code_challenge_method=S256",
            g.url(43)
        );
        (vec![v.clone()], format!("GET /authorize?{v}"))
    });
    b.benign("docker-ps", "logs/docker.txt", |g| {
        let id = g.hex(12);
        (
            vec![id.clone()],
            format!("CONTAINER ID   IMAGE            STATUS\n{id}   shop-api:1.4.0   Up 3 hours"),
        )
    });
    b.benign("redacted-placeholder", "config/app.yaml", |_| {
        let v = "api_key: \"<redacted>\"".to_string();
        (
            vec![v.clone()],
            format!("# shared with support\npayments:\n  {v}"),
        )
    });
    b.benign("rust-env-var", "src/main.rs", |_| {
        let v = "let token = std::env::var(\"GITHUB_TOKEN\")?;".to_string();
        (vec!["std::env::var(\"GITHUB_TOKEN\")".into()], v)
    });
}

/// Look-alikes in the same places as the variations.
fn even_more_benign(b: &mut Builder) {
    b.benign("actions-cache-key", ".github/workflows/ci.yml", |_| {
        let v = "key: ${{ runner.os }}-cargo-${{ hashFiles('**/Cargo.lock') }}".to_string();
        (
            vec![v.clone()],
            format!("      - uses: actions/cache@v4\n        with:\n          {v}"),
        )
    });
    b.benign("circleci-cache-key", ".circleci/config.yml", |_| {
        let v = "key: v1-deps-{{ checksum \"package-lock.json\" }}".to_string();
        (
            vec![v.clone()],
            format!("      - save_cache:\n          {v}"),
        )
    });
    b.benign("docs-bearer-placeholder", "docs/API.md", |_| {
        let v = "Authorization: Bearer <token>".to_string();
        (
            vec![v.clone()],
            format!("Send the header `{v}` with every request."),
        )
    });
    b.benign("max-tokens-setting", "src/llm.py", |_| {
        let v = "response = client.messages.create(model=MODEL, max_tokens=1024, messages=msgs)"
            .to_string();
        (vec![v.clone()], v)
    });
    b.benign("primary-key-field", "src/models.ts", |_| {
        let v = "@Column({ primaryKey: true, foreignKey: \"user_id\" })".to_string();
        (vec![v.clone()], v)
    });
    b.benign("keycloak-url", "config/auth.env.example", |_| {
        let v = "KEYCLOAK_URL=https://auth.shop.example/realms/shop".to_string();
        (vec![v.clone()], v)
    });
    b.benign("fastapi-api-key-header", "src/deps.py", |_| {
        let v = "api_key_header = APIKeyHeader(name=\"X-API-Key\", auto_error=False)".to_string();
        (vec![v.clone()], v)
    });
    b.benign("rotate-commit-message", "notes.txt", |g| {
        let sha = g.hex(7);
        let v = format!("{sha} fix: rotate the leaked deploy token and revoke the old one");
        (vec![v.clone()], v)
    });
    b.benign("installation-id", "config/app.json", |g| {
        let id = g.uuid();
        (
            vec![id.clone()],
            format!("{{\"installationId\": \"{id}\", \"telemetry\": false}}"),
        )
    });
    b.benign("password-reset-route", "src/routes.rb", |_| {
        let v = "get \"/password/reset/:token\", to: \"passwords#edit\", as: :edit_password"
            .to_string();
        (vec![v.clone()], v)
    });
}

/// Look-alikes from operations work.
fn ops_benign(b: &mut Builder) {
    b.benign("mapbox-public-token", "src/map.ts", |g| {
        let v = format!("pk.eyJ1Ijoic2hvcCIsImEiOiJ{}.{}", g.url(20), g.url(22));
        (vec![v.clone()], format!("mapboxgl.accessToken = '{v}';"))
    });
    b.benign("nix-sri-hash", "flake.lock", |g| {
        let v = format!("sha256-{}=", g.b64(43));
        (vec![v.clone()], format!("\"narHash\": \"{v}\","))
    });
    b.benign("go-pseudo-version", "go.mod", |g| {
        let v = format!("v0.0.0-20241105093012-{}", g.hex(12));
        (vec![v.clone()], format!("require golang.org/x/exp {v}"))
    });
    b.benign("correlation-id", "logs/app.log", |g| {
        let id = g.uuid();
        (
            vec![id.clone()],
            format!("WARN payment retry correlation_id={id} attempt=2"),
        )
    });
    b.benign("npm-config-env", "logs/ci.log", |_| {
        let v = "npm_config_cache=/home/runner/.npm".to_string();
        (vec![v.clone()], v)
    });
    b.benign("prefix-in-prose", "docs/security.md", |_| {
        let v = "GitHub tokens start with ghp_ and AWS access key ids with AKIA; rotate both if they leak.".to_string();
        (vec![v.clone()], v)
    });
    b.benign("kubectl-get-secrets", "logs/k8s.txt", |_| {
        let v = "db-credentials        Opaque                 2      5d".to_string();
        (
            vec![v.clone()],
            format!("NAME                  TYPE                   DATA   AGE\n{v}"),
        )
    });
    b.benign("build-arg-version", "notes.txt", |_| {
        let v = "docker build --build-arg VERSION=1.4.0 --build-arg COMMIT=3f2a1b7 -t shop-api ."
            .to_string();
        (vec![v.clone()], v)
    });
}

/// Look-alikes around command-line tools.
fn tool_benign(b: &mut Builder) {
    b.benign("npmrc-env-reference", "ci/npmrc.txt", |_| {
        let v = "//npm.pkg.github.com/:_authToken=${NPM_TOKEN}".to_string();
        (vec![v.clone()], v)
    });
    b.benign("argon2-hash", "tests/fixtures/users.sql", |g| {
        let v = format!("$argon2id$v=19$m=65536,t=3,p=4${}${}", g.b64(22), g.b64(43));
        (
            vec![v.clone()],
            format!(
                "INSERT INTO users (email, password_hash) VALUES ('alice@example.com', '{v}');"
            ),
        )
    });
    b.benign("github-api-sha", "logs/gh.json", |g| {
        let v = g.hex(40);
        (vec![v.clone()], format!("{{\"ref\": \"refs/heads/main\", \"object\": {{\"sha\": \"{v}\", \"type\": \"commit\"}}}}"))
    });
    b.benign("rate-limit-headers", "logs/curl-i.txt", |_| {
        let v = "X-RateLimit-Limit: 5000\nX-RateLimit-Remaining: 4999".to_string();
        (vec!["X-RateLimit-Remaining: 4999".into()], v)
    });
    b.benign("hook-session-id", "logs/hook.json", |g| {
        let id = g.uuid();
        (
            vec![id.clone()],
            format!("{{\"session_id\": \"{id}\", \"hook_event_name\": \"Stop\"}}"),
        )
    });
    b.benign("ssh-keygen-fingerprint", "notes.txt", |g| {
        let v = format!("SHA256:{}", g.b64(43));
        (
            vec![v.clone()],
            format!("The key fingerprint is:\n{v} deploy@ci"),
        )
    });
}
