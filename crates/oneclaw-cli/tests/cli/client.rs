//! The client commands (issue 17) as people and CI jobs use them: the real `oneclaw` binary
//! against a real `oneclaw serve`, with a config directory of its own per test.

use super::{Server, call, oneclaw};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A server with one signed-up user, a personal API key and a vault named `app`.
struct Fixture {
    server: Server,
    _dir: tempfile::TempDir,
    config: tempfile::TempDir,
    token: String,
    api_key: String,
    key_id: String,
    vault: String,
}

async fn fixture(email: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let command = move || {
        let mut command = oneclaw();
        command.args(["serve", "--signup", "open", "--data-dir"]).arg(&data).env_remove("ONECLAW_DATABASE_URL");
        command
    };
    let server = Server::start(command, &dir.path().join("server.log")).await;
    let (status, signup) = call(
        reqwest::Method::POST,
        format!("{}/v1/auth/signup", server.base),
        None,
        Some(json!({"email": email, "password": "cli-password-1234"})),
    )
    .await;
    assert_eq!(status, 200, "{signup}");
    let token = signup["access_token"].as_str().unwrap().to_owned();
    let (status, key) = call(
        reqwest::Method::POST,
        format!("{}/v1/auth/api-keys", server.base),
        Some(&token),
        Some(json!({"name": "cli"})),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let (_, vault) =
        call(reqwest::Method::POST, format!("{}/v1/vaults", server.base), Some(&token), Some(json!({"name": "app"})))
            .await;
    Fixture {
        server,
        _dir: dir,
        config: tempfile::tempdir().unwrap(),
        token,
        api_key: key["api_key"].as_str().unwrap().to_owned(),
        key_id: key["key"]["id"].as_str().unwrap().to_owned(),
        vault: vault["id"].as_str().unwrap().to_owned(),
    }
}

impl Fixture {
    /// `oneclaw args…` with only this test's config directory and `env`, feeding `stdin`.
    fn oneclaw(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
        let mut command = oneclaw();
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ONECLAW_CONFIG_DIR", self.config.path())
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    fn signed_in(&self) -> Output {
        self.oneclaw(&["login", "--api-key", "--url", &self.server.base], &[], &self.api_key)
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        call(method, format!("{}{path}", self.server.base), Some(&self.token), body).await
    }
}

/// The process's exit status, waiting at most `limit` (then the test fails with `why`).
fn wait_for_exit(child: &mut std::process::Child, limit: Duration, why: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "{why}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn login_with_an_api_key_then_secrets_and_vaults_and_logout() {
    let f = fixture("cli-secrets@example.com").await;
    let login = f.signed_in();
    assert_eq!(login.status.code(), Some(0), "{}", text(&login.stderr));
    assert!(text(&login.stderr).contains("Signed in to") && text(&login.stderr).contains("cli-secrets@example.com"));
    let file = f.config.path().join("credentials.json");
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let stored: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let keys: Vec<&String> = stored.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["api_key", "base_url", "email"], "no access token is kept: {stored}");

    let who = f.oneclaw(&["whoami"], &[], "");
    assert!(text(&who.stdout).contains("cli-secrets@example.com (owner)"), "{}", text(&who.stderr));
    // The stored key goes only to the server it was made with.
    for (args, env) in [
        (vec!["vaults", "list", "--url", "http://127.0.0.1:1"], vec![]),
        (vec!["vaults", "list"], vec![("ONECLAW_BASE_URL", "http://127.0.0.1:1")]),
    ] {
        let elsewhere = f.oneclaw(&args, &env, "");
        assert_eq!(elsewhere.status.code(), Some(2), "refused before any connection: {}", text(&elsewhere.stderr));
        assert!(text(&elsewhere.stderr).contains("you are signed in to"), "{}", text(&elsewhere.stderr));
    }
    let same = f.oneclaw(&["vaults", "list", "--url", &format!("{}/", f.server.base)], &[], "");
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stderr));
    let vaults = f.oneclaw(&["vaults", "list"], &[], "");
    assert!(
        text(&vaults.stdout).contains("app") && text(&vaults.stdout).contains(&f.vault),
        "{}",
        text(&vaults.stdout)
    );

    let set = f.oneclaw(&["secrets", "set", "--vault", "app", "db/password"], &[], "hunter2-from-stdin\n");
    assert_eq!(set.status.code(), Some(0), "{}", text(&set.stderr));
    let get = f.oneclaw(&["secrets", "get", "--vault", "app", "db/password"], &[], "");
    assert_eq!(text(&get.stdout), "hunter2-from-stdin", "only the value, without the newline echo added");
    let by_id = f.oneclaw(&["secrets", "get", "--vault", &f.vault, "db/password"], &[], "");
    assert_eq!(text(&by_id.stdout), "hunter2-from-stdin");

    let in_argument = f.oneclaw(&["secrets", "set", "--vault", "app", "db/password", "in-argv"], &[], "");
    assert_eq!(in_argument.status.code(), Some(1));
    assert!(
        text(&in_argument.stderr).contains("never taken from an argument")
            && text(&in_argument.stderr).contains("printf")
    );
    let versions = f.oneclaw(&["secrets", "versions", "--vault", "app", "db/password", "--json"], &[], "");
    let versions: Value = serde_json::from_slice(&versions.stdout).unwrap();
    assert_eq!(versions.as_array().map(Vec::len), Some(1), "the refused set stored nothing");

    let list = f.oneclaw(&["secrets", "list", "--vault", "app"], &[], "");
    let listed = text(&list.stdout);
    assert!(listed.starts_with("PATH") && listed.contains("db/password") && !listed.contains("hunter2"), "{listed}");
    let rotated = f.oneclaw(&["secrets", "rotate", "--vault", "app", "db/password"], &[], "");
    assert_eq!(rotated.status.code(), Some(0), "{}", text(&rotated.stderr));
    let after = f.oneclaw(&["secrets", "get", "--vault", "app", "db/password"], &[], "");
    assert!(!text(&after.stdout).is_empty() && text(&after.stdout) != "hunter2-from-stdin");

    let nowhere = f.oneclaw(&["secrets", "get", "--vault", "no-such-vault", "db/password"], &[], "");
    assert_eq!(nowhere.status.code(), Some(3), "{}", text(&nowhere.stderr));
    assert!(text(&nowhere.stderr).contains("no vault named 'no-such-vault'"));
    let missing = f.oneclaw(&["secrets", "get", "--vault", "app", "db/none"], &[], "");
    assert_eq!(missing.status.code(), Some(3));
    assert_eq!(f.oneclaw(&["secrets", "delete", "--vault", "app", "db/password"], &[], "").status.code(), Some(0));
    assert_eq!(f.oneclaw(&["secrets", "get", "--vault", "app", "db/password"], &[], "").status.code(), Some(3));
    assert_eq!(f.oneclaw(&["secrets", "frobnicate"], &[], "").status.code(), Some(1), "usage errors exit 1");

    let logout = f.oneclaw(&["logout"], &[], "");
    assert_eq!(logout.status.code(), Some(0));
    assert!(!file.exists());
    let out = f.oneclaw(&["secrets", "list", "--vault", "app"], &[], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("oneclaw login"), "{}", text(&out.stderr));
}

#[tokio::test]
async fn a_revoked_key_exits_2_and_a_wrong_key_is_not_saved() {
    let f = fixture("cli-revoked@example.com").await;
    assert_eq!(f.signed_in().status.code(), Some(0));
    let (status, _) = f.api(reqwest::Method::DELETE, &format!("/v1/auth/api-keys/{}", f.key_id), None).await;
    assert_eq!(status, 204);
    let refused = f.oneclaw(&["vaults", "list"], &[], "");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("run `oneclaw login` again"), "{}", text(&refused.stderr));

    std::fs::remove_file(f.config.path().join("credentials.json")).unwrap();
    let wrong = f.oneclaw(&["login", "--api-key", "--url", &f.server.base], &[], &f.api_key);
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong.stderr));
    assert!(!f.config.path().join("credentials.json").exists(), "a refused key is not stored");
    let unreachable = f.oneclaw(&["login", "--api-key", "--url", "http://127.0.0.1:1"], &[], "1ck_whatever");
    assert_eq!(unreachable.status.code(), Some(4), "{}", text(&unreachable.stderr));
}

#[tokio::test]
async fn run_passes_the_environment_the_exit_code_and_sigterm_through() {
    let f = fixture("cli-run@example.com").await;
    assert_eq!(f.signed_in().status.code(), Some(0));
    let vault = &f.vault;
    let (status, _) = f
        .api(
            reqwest::Method::POST,
            &format!("/v1/vaults/{vault}/env-vars"),
            Some(json!({"key": "FOO", "value": "bar baz", "environments": ["production"]})),
        )
        .await;
    assert_eq!(status, 201);
    let seven = f.oneclaw(
        &["run", "--vault", "app", "--env", "production", "--", "/bin/sh", "-c", "test \"$FOO\" = 'bar baz' && exit 7"],
        &[],
        "",
    );
    assert_eq!(seven.status.code(), Some(7), "{}", text(&seven.stderr));
    let inherited = f.oneclaw(
        &["run", "--vault", "app", "--env", "production", "--", "/bin/sh", "-c", "echo \"$ONECLAW_CONFIG_DIR\""],
        &[],
        "",
    );
    assert!(!text(&inherited.stdout).trim().is_empty(), "the shell's environment is passed on");
    let bare = f.oneclaw(
        &[
            "run",
            "--vault",
            "app",
            "--env",
            "production",
            "--no-inherit",
            "--",
            "/bin/sh",
            "-c",
            "echo \"[${ONECLAW_CONFIG_DIR:-}][$FOO]\"",
        ],
        &[],
        "",
    );
    assert_eq!(text(&bare.stdout).trim(), "[][bar baz]", "{}", text(&bare.stderr));

    f.oneclaw(&["secrets", "set", "--vault", "app", "db/password"], &[], "pw-1");
    let prefixed = f.oneclaw(
        &[
            "run",
            "--vault",
            "app",
            "--prefix",
            "db/",
            "--",
            "/bin/sh",
            "-c",
            "test \"$DB_PASSWORD\" = pw-1 && test -z \"$FOO\"",
        ],
        &[],
        "",
    );
    assert_eq!(prefixed.status.code(), Some(0), "{}", text(&prefixed.stderr));
    let no_env = f.oneclaw(&["run", "--vault", "app", "--", "/bin/true"], &[], "");
    assert_eq!(no_env.status.code(), Some(1), "a human names the environment: {}", text(&no_env.stderr));
    let no_program = f.oneclaw(&["run", "--vault", "app", "--env", "production", "--", "/no/such/program"], &[], "");
    assert_eq!(no_program.status.code(), Some(4));

    // SIGTERM to `oneclaw run` reaches the child, whose own exit status comes back.
    let mut child = oneclaw()
        .args([
            "run",
            "--vault",
            "app",
            "--env",
            "production",
            "--",
            "/bin/sh",
            "-c",
            "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ONECLAW_CONFIG_DIR", f.config.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = wait_for_exit(&mut child, Duration::from_secs(10), "the child did not end after SIGTERM");
    assert_eq!(status.code(), Some(42));
}

#[tokio::test]
async fn an_env_file_round_trips_through_export_and_import_and_a_bad_one_changes_nothing() {
    let f = fixture("cli-env@example.com").await;
    assert_eq!(f.signed_in().status.code(), Some(0));
    let (_, other) = f.api(reqwest::Method::POST, "/v1/vaults", Some(json!({"name": "copy"}))).await;
    let other = other["id"].as_str().unwrap().to_owned();
    let dotenv = f.config.path().join("in.env");
    std::fs::write(
        &dotenv,
        "# a comment\nexport PLAIN=simple\nQUOTED=\"has spaces # and a hash\"\nEQUALS='a=b=c'\nMULTI=\"line one\nline two\"\nDOLLAR='$NOT_EXPANDED'\nSINGLE=\"it's\"\n",
    )
    .unwrap();
    let import =
        f.oneclaw(&["env", "import", "--vault", "app", "--env", "production", dotenv.to_str().unwrap()], &[], "");
    assert_eq!(import.status.code(), Some(0), "{}", text(&import.stderr));
    assert!(
        text(&import.stdout).contains("Created 6") && text(&import.stdout).contains("Updated 0"),
        "{}",
        text(&import.stdout)
    );
    let expected = json!({
        "PLAIN": "simple",
        "QUOTED": "has spaces # and a hash",
        "EQUALS": "a=b=c",
        "MULTI": "line one\nline two",
        "DOLLAR": "$NOT_EXPANDED",
        "SINGLE": "it's",
    });
    let exported = f.oneclaw(&["env", "export", "--vault", "app", "--env", "production", "--format", "json"], &[], "");
    assert_eq!(serde_json::from_slice::<Value>(&exported.stdout).unwrap(), expected, "{}", text(&exported.stderr));

    // Its dotenv export, imported elsewhere, gives the same values back.
    let as_dotenv = f.oneclaw(&["env", "export", "--vault", "app", "--env", "production"], &[], "");
    let again = f.config.path().join("again.env");
    std::fs::write(&again, &as_dotenv.stdout).unwrap();
    let import =
        f.oneclaw(&["env", "import", "--vault", &other, "--env", "production", again.to_str().unwrap()], &[], "");
    assert_eq!(import.status.code(), Some(0), "{}", text(&import.stderr));
    let copied = f.oneclaw(&["env", "export", "--vault", &other, "--env", "production", "--format", "json"], &[], "");
    assert_eq!(serde_json::from_slice::<Value>(&copied.stdout).unwrap(), expected);
    let shell = f.oneclaw(&["env", "export", "--vault", &other, "--env", "production", "--format", "shell"], &[], "");
    let check = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("{}\nprintf %s \"$SINGLE|$MULTI\"", text(&shell.stdout)))
        .output()
        .unwrap();
    assert_eq!(text(&check.stdout), "it's|line one\nline two");

    // A second import updates what exists; a malformed file writes nothing.
    std::fs::write(&again, "PLAIN=changed\nNEW=1\n").unwrap();
    let import =
        f.oneclaw(&["env", "import", "--vault", &other, "--env", "production", again.to_str().unwrap()], &[], "");
    assert!(text(&import.stdout).contains("Created 1: NEW") && text(&import.stdout).contains("Updated 1: PLAIN"));
    // A file that would copy a value out of the shell's environment is refused as well.
    for bad in [
        "GOOD=1\nBAD LINE\n",
        "GOOD=1\n1BAD=x\n",
        "GOOD=\"unclosed\n",
        "STOLEN=\"x${CI_SECRET}\"\n",
        "STOLEN=$CISECRET\n",
    ] {
        std::fs::write(&again, bad).unwrap();
        let args = ["env", "import", "--vault", &other, "--env", "preview", again.to_str().unwrap()];
        let secrets = [("CI_SECRET", "ci-secret-value-123"), ("CISECRET", "ci-secret-value-456")];
        let refused = f.oneclaw(&args, &secrets, "");
        assert_eq!(refused.status.code(), Some(1), "{bad:?}: {}", text(&refused.stderr));
        assert!(text(&refused.stderr).contains("nothing was imported"), "{}", text(&refused.stderr));
    }
    let preview = f.oneclaw(&["env", "export", "--vault", &other, "--env", "preview", "--format", "json"], &[], "");
    assert_eq!(serde_json::from_slice::<Value>(&preview.stdout).unwrap(), json!({}), "nothing was written");
}

#[tokio::test]
async fn ci_jobs_work_from_the_environment_alone() {
    let f = fixture("cli-ci@example.com").await;
    let vault = &f.vault;
    f.api(
        reqwest::Method::POST,
        &format!("/v1/vaults/{vault}/env-vars"),
        Some(json!({"key": "TOKEN", "value": "ci-value", "environments": ["production"]})),
    )
    .await;
    let (_, agent) =
        f.api(reqwest::Method::POST, "/v1/agents", Some(json!({"name": "ci", "environment": "production"}))).await;
    let agent_id = agent["agent"]["id"].as_str().unwrap().to_owned();
    let key = agent["api_key"].as_str().unwrap().to_owned();
    let policy = json!({"principal_type": "agent", "principal_id": agent_id, "secret_path_pattern": "env/production/*", "permissions": ["read"]});
    assert_eq!(f.api(reqwest::Method::POST, &format!("/v1/vaults/{vault}/policies"), Some(policy)).await.0, 201);
    let env = [("ONECLAW_BASE_URL", f.server.base.as_str()), ("ONECLAW_AGENT_API_KEY", key.as_str())];
    assert!(!Path::new(&f.config.path().join("credentials.json")).exists());
    let ran = f.oneclaw(&["run", "--vault", vault, "--", "/bin/sh", "-c", "printf %s \"$TOKEN\""], &env, "");
    assert_eq!(text(&ran.stdout), "ci-value", "the tagged agent resolves its own environment: {}", text(&ran.stderr));
    let who = f.oneclaw(&["whoami"], &env, "");
    assert!(text(&who.stdout).starts_with("agent ci"), "{}", text(&who.stdout));
    let child = f.oneclaw(
        &[
            "run",
            "--vault",
            vault,
            "--",
            "/bin/sh",
            "-c",
            "printf '[%s][%s]' \"${ONECLAW_AGENT_API_KEY:-}\" \"$ONECLAW_BASE_URL\"",
        ],
        &env,
        "",
    );
    assert_eq!(
        text(&child.stdout),
        format!("[][{}]", f.server.base),
        "the child gets the variables, never the credential"
    );
    let unnamed = f.oneclaw(&["vaults", "list"], &[("ONECLAW_API_KEY", f.api_key.as_str())], "");
    assert_eq!(unnamed.status.code(), Some(1), "a key in the environment needs its server named");
    assert!(text(&unnamed.stderr).contains("ONECLAW_BASE_URL"), "{}", text(&unnamed.stderr));
    let key_env = [("ONECLAW_BASE_URL", f.server.base.as_str()), ("ONECLAW_API_KEY", f.api_key.as_str())];
    let listed = f.oneclaw(&["vaults", "list", "--json"], &key_env, "");
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["name"], "app");
    let (_, events) = f.api(reqwest::Method::GET, "/v1/audit/records?limit=200", None).await;
    let surfaces: Vec<&str> =
        events["events"].as_array().unwrap().iter().filter_map(|e| e["surface"].as_str()).collect();
    assert!(surfaces.contains(&"cli"), "the client commands are recorded as the cli surface: {surfaces:?}");
}

#[tokio::test]
async fn login_through_the_device_flow_approved_over_the_api() {
    let f = fixture("cli-device@example.com").await;
    let mut child = oneclaw()
        .args(["login", "--email", "cli-device@example.com", "--url", &f.server.base])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ONECLAW_CONFIG_DIR", f.config.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    assert!(line.contains("/device?code="), "{line}");
    let user_code = line.trim().rsplit(' ').next().unwrap().to_owned();
    let (status, approved) =
        f.api(reqwest::Method::POST, "/v1/auth/device/approve", Some(json!({"user_code": user_code}))).await;
    assert_eq!(status, 200, "{approved}");
    let status = wait_for_exit(&mut child, Duration::from_secs(30), "login did not finish after the approval");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("Signed in to") && rest.contains("cli-device@example.com"), "{rest}");

    let file = f.config.path().join("credentials.json");
    let stored: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(
        stored["refresh_token"].as_str().unwrap().starts_with("ocr_") && stored.get("api_key").is_none(),
        "{stored}"
    );
    let expires = stored["access_expires_at"].as_u64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(expires > now && expires <= now + 24 * 3600, "the stored access token expires long before its session");
    let who = f.oneclaw(&["whoami"], &[], "");
    assert!(text(&who.stdout).contains("cli-device@example.com"), "{}", text(&who.stderr));
    assert_eq!(f.oneclaw(&["vaults", "list"], &[], "").status.code(), Some(0));

    let refresh = stored["refresh_token"].as_str().unwrap().to_owned();
    let logout = f.oneclaw(&["logout"], &[], "");
    assert!(text(&logout.stderr).contains("the session is ended"), "{}", text(&logout.stderr));
    assert!(!file.exists());
    let (status, _) = call(
        reqwest::Method::POST,
        format!("{}/v1/auth/refresh", f.server.base),
        None,
        Some(json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(status, 401, "the ended session's refresh token renews nothing");
}
