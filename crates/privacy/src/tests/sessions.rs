//! Secrets the way they show up in real sessions: a git diff, a CI file, a
//! failing command's error, a prompt, a closing message, a client
//! constructor. Each case plants one secret of one family.

use super::{alnum, gen_from, redactor};

const HEX: &str = "0123456789abcdef";

fn hex(n: usize, seed: u64) -> String {
    format!("a1{}", gen_from(HEX, n - 2, seed))
}

/// (secret, text carrying it)
fn cases() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut add = |secret: String, text: String| v.push((secret, text));

    let dd = hex(32, 1);
    add(
        dd.clone(),
        format!(
            "services:\n  agent:\n    image: datadog/agent:7\n    environment:\n      - DD_API_KEY={dd}\n      - DD_SITE=datadoghq.eu\n"
        ),
    );
    let dd_app = hex(40, 2);
    add(
        dd_app.clone(),
        format!(
            "curl -X GET \"https://api.datadoghq.com/api/v1/monitor\" \\\n  -H \"DD-APPLICATION-KEY: {dd_app}\""
        ),
    );
    let glpat = format!("{}{}", "glpat-", alnum(20, 3));
    add(
        glpat.clone(),
        format!(
            "diff --git a/.gitlab-ci.yml b/.gitlab-ci.yml\n@@ -3,2 +3,3 @@\n variables:\n-  GIT_DEPTH: 1\n+  GIT_DEPTH: 1\n+  RELEASE_CREDS: {glpat}\n"
        ),
    );
    let pw = format!("{}.{}!", alnum(10, 4), alnum(6, 5));
    add(
        pw.clone(),
        format!(
            "Error: connect ECONNREFUSED\n  at psql (postgresql://shop:{pw}@10.0.0.12:5432/shop)\n"
        ),
    );
    let twilio = hex(32, 6);
    add(
        twilio.clone(),
        format!(
            "from twilio.rest import Client\nclient = Client(\"AC{}\", \"{twilio}\")\n",
            hex(32, 7)
        ),
    );
    let np = format!("{}{}", "npm_", alnum(36, 8));
    add(
        np.clone(),
        format!("Please publish with this token: {np} and then tell me the version."),
    );
    let sg = format!("{}{}.{}", "SG.", alnum(22, 9), alnum(43, 10));
    add(
        sg.clone(),
        format!(
            "I set the SendGrid key ({sg}) in the Vercel dashboard and redeployed; mail works now."
        ),
    );
    let mysql_pw = alnum(14, 11);
    add(
        mysql_pw.clone(),
        format!(
            "$ mysqldump -h db.internal -u backup -p{mysql_pw} --single-transaction shop | gzip > shop.sql.gz\nmysqldump: [Warning] Using a password on the command line interface can be insecure.\n"
        ),
    );
    let compose_pw = format!("{}.{}", alnum(8, 12), alnum(8, 13));
    add(
        compose_pw.clone(),
        format!(
            "  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: {compose_pw}\n"
        ),
    );
    let hook = format!("T{}/B{}/{}", alnum(8, 14), alnum(8, 15), alnum(24, 16));
    add(
        hook.clone(),
        format!("SLACK_WEBHOOK: https://hooks.slack.com/services/{hook}"),
    );
    let tf = format!("{}.atlasv1.{}", alnum(14, 17), alnum(67, 18));
    add(
        tf.clone(),
        format!("credentials \"app.terraform.io\" {{\n  token = \"{tf}\"\n}}\n"),
    );
    let netrc = alnum(24, 19);
    add(
        netrc.clone(),
        format!(
            "machine api.heroku.com\n  login dev@example.com\n  password {netrc}\nmachine git.heroku.com\n"
        ),
    );
    let props = format!("{}.{}", alnum(12, 20), alnum(4, 21));
    add(
        props.clone(),
        format!(
            "spring.datasource.url=jdbc:postgresql://db/shop\nspring.datasource.password={props}\n"
        ),
    );
    let ps = alnum(30, 22);
    add(ps.clone(), format!("PS> $env:OPENAI_API_KEY = \"{ps}\""));
    let ini = alnum(26, 23);
    add(
        ini.clone(),
        format!("[client]\nuser = backup\npassword = \"{ini}\"\nhost = db\n"),
    );
    let hcl = alnum(28, 24);
    add(
        hcl.clone(),
        format!(
            "resource \"aws_db_instance\" \"shop\" {{\n  username = \"shop\"\n  password = \"{hcl}\"\n}}\n"
        ),
    );
    let xml = alnum(20, 25);
    add(
        xml.clone(),
        format!(
            "<settings>\n  <servers>\n    <server>\n      <id>nexus</id>\n      <password>{xml}</password>\n    </server>\n  </servers>\n</settings>"
        ),
    );
    let helm = alnum(32, 26);
    add(
        helm.clone(),
        format!(
            "helm upgrade --install shop ./chart --set image.tag=1.4.2 --set stripe.secretKey={helm}"
        ),
    );
    let cohere = alnum(40, 27);
    add(
        cohere.clone(),
        format!("export CO_API_KEY={cohere}\npython rerank.py"),
    );
    v
}

#[test]
fn secrets_in_session_text() {
    let r = redactor();
    let mut missed = Vec::new();
    for (secret, text) in cases() {
        let out = r.clean_text(&text);
        if out.contains(&secret) {
            missed.push(format!("{text:?}\n  -> {out:?}"));
        }
    }
    assert!(missed.is_empty(), "leaked:\n{}", missed.join("\n"));
}
