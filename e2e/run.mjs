// End-to-end tests of the oneclaw dashboard in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; no browser is downloaded). Starts `oneclaw serve` on a free port
// with a temp data dir, walks through what a person does, and saves a screenshot of every page
// at desktop and phone width under docs/screenshots/.
// Usage: node e2e/run.mjs [path/to/oneclaw]        Prints 'N passed, N failed'.

import { chromium } from "playwright-core";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHmac } from "node:crypto";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CLIENT_ID, CLIENT_SECRET, makeCertificates, startProvider } from "./oidc.mjs";

const root = resolve(new URL(".", import.meta.url).pathname, "..");
const bin = resolve(process.argv[2] ?? join(root, "target/debug/oneclaw"));
const shots = join(root, "docs/screenshots");
const results = { passed: 0, failed: 0 };
let vaultUrl = null; // the vault the walk-through makes, for its screenshot
let agentUrl = null; // the agent it registers, whose page shows a binding
let currentValue = null; // db/password after its rotation, as the share link opened it

async function freePort() {
  return new Promise((ok) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/// RFC 6238 code (SHA-1, 6 digits, 30 s) for a base32 secret at unix time `seconds`.
function totp(base32, seconds) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

async function check(name, fn) {
  try {
    await fn();
    results.passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    results.failed += 1;
    console.log(`FAIL ${name}\n${err.stack ?? err}`);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const data = mkdtempSync(join(tmpdir(), "oneclaw-e2e-"));
const certificates = makeCertificates(mkdtempSync(join(tmpdir(), "oneclaw-e2e-tls-")));
const oidc = await startProvider(await freePort(), `${base}/signin/google/callback`, certificates);
const env = { ...process.env };
for (const name of Object.keys(env)) if (name.startsWith("ONECLAW_")) delete env[name];
Object.assign(env, { ONECLAW_OIDC_ISSUER: oidc.issuer, ONECLAW_OIDC_CLIENT_ID: CLIENT_ID, ONECLAW_OIDC_CLIENT_SECRET: CLIENT_SECRET,
  // The server trusts the test CA (and only it) for its HTTPS calls to the identity provider.
  SSL_CERT_FILE: certificates.ca });
// A real SMTP server (aiosmtpd, scripts/smtp-sink.py) receives the server's mail.
const mailbox = mkdtempSync(join(tmpdir(), "oneclaw-e2e-mail-"));
const smtpPort = await freePort();
const smtp = spawn(process.env.ONECLAW_TEST_PYTHON ?? "python3",
  [join(dirname(fileURLToPath(import.meta.url)), "..", "scripts", "smtp-sink.py"), String(smtpPort), mailbox, "accept"],
  { stdio: ["ignore", "pipe", "inherit"] });
await new Promise((resolve, reject) => {
  smtp.stdout.on("data", (chunk) => { if (String(chunk).includes("ready")) resolve(); });
  smtp.on("exit", (code) => reject(new Error(`the SMTP sink exited (${code}): is aiosmtpd installed?`)));
});
/** Waits (up to 10 s) for a mail to `to` with a link containing `needle`; the link. */
async function mailedLink(to, needle) {
  for (let i = 0; i < 100; i++) {
    const found = mailsTo(to).map((m) => m.text.split(/\s+/).find((w) => w.startsWith("http") && w.includes(needle))).find(Boolean);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to} with ${needle}`);
}
/** The mails received for `to` so far (decoded by the sink). */
function mailsTo(to) {
  return readdirSync(mailbox).filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(mailbox, f), "utf8")))
    .filter((m) => m.to.includes(to));
}
const server = spawn(bin, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", data,
  "--smtp-url", `smtp://127.0.0.1:${smtpPort}`, "--smtp-from", "oneclaw@example.com", "--public-url", base],
  { env, stdio: "ignore" });
for (let i = 0; i < 300; i++) {
  try {
    if ((await fetch(`${base}/v1/health`)).ok) break;
  } catch {}
  await new Promise((r) => setTimeout(r, 100));
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
// Anything the Content-Security-Policy blocks is a bug in a page.
const cspViolations = [];
page.on("console", (message) => {
  if (message.text().includes("Content Security Policy")) cspViolations.push(message.text());
});
// Destructive actions ask first (a confirm dialog from dashboard.js); the walk-through says
// yes to each and keeps what was asked, so a missing confirmation fails a check.
const dialogs = [];
let answerYes = true;
page.on("dialog", async (dialog) => {
  dialogs.push(dialog.message());
  await (answerYes ? dialog.accept() : dialog.dismiss());
});
const email = `e2e-${Date.now()}@example.com`;
const password = "e2e password that is long";
const pages = ["dashboard", "vaults", "agents", "sharing", "approvals", "audit", "security", "api-keys", "billing", "team"];

try {
  await check("sign up says check your mail and signs nobody in", async () => {
    await page.goto(`${base}/signup`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign up" }).click();
    // With mail on, sign-up answers a new and a taken address alike and signs nobody in.
    await page.getByRole("heading", { name: "Check your mail" }).waitFor();
  });

  await check("the mailed link and the password confirm the address, sign in, and no banner is left", async () => {
    const link = await mailedLink(email, "verify-email?token=");
    await page.goto(link.replace(/^https?:\/\/[^/]+/, base));
    // Opening the link only shows a form (mail scanners open links): the token is spent on the POST,
    // and only with the account's password (the mailbox alone confirms nothing).
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Confirm my address" }).click();
    await page.waitForURL(`${base}/dashboard`);
    expect(await page.getByRole("heading", { name: "Dashboard" }).isVisible(), "no dashboard heading");
    expect(!(await page.content()).includes("Confirm your email address"), "the banner is still there");
  });

  await check("sign out, then a wrong password is explained, then sign in", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${base}/signin`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect((await page.getByRole("alert").textContent()).includes("Wrong email or password"), "no error shown");
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/dashboard`);
  });

  await check("create a vault, add a secret, reveal it on click", async () => {
    await page.getByRole("link", { name: "Vaults" }).click();
    await page.getByLabel("Name").fill("e2e-vault");
    await page.getByRole("button", { name: "Create vault" }).click();
    await page.waitForURL(/\/vaults\/[0-9a-f-]+$/);
    vaultUrl = page.url();
    await page.getByLabel("Path").fill("db/password");
    await page.getByLabel("Type").selectOption("password");
    await page.getByLabel("Value").fill("e2e-secret-value");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    expect(!(await page.content()).includes("e2e-secret-value"), "the value was in the page before it was asked for");
    await page.getByRole("button", { name: "Reveal the value of db/password" }).click();
    await page.getByText("e2e-secret-value").waitFor();
  });

  await check("rotate a secret to a generated value and see its versions", async () => {
    await page.getByRole("button", { name: "Rotate db/password to a generated value" }).click();
    await page.getByRole("link", { name: "Versions of db/password" }).click();
    await page.getByRole("heading", { name: "Versions of db/password" }).waitFor();
    expect((await page.locator("tbody tr").count()) === 2, "two versions expected");
    await page.getByRole("link", { name: "Back to the vault" }).click();
    await page.getByRole("button", { name: "Share a link to db/password" }).click();
    const link = (await page.locator("#share-link").textContent()).trim();
    expect(link.startsWith("/v1/share/"), `no share link: ${link}`);
    const opened = await (await fetch(`${base}${link}`)).json();
    expect(opened.value && opened.value !== "e2e-secret-value", "the link opens the current (generated) value");
    currentValue = opened.value;
    expect((await fetch(`${base}${link}`)).status === 410, "the link opens once");
    await page.getByRole("link", { name: "Back to the vault" }).click();
  });

  await check("the Environment tab: add a variable, reveal it, show the environment as .env, delete it", async () => {
    await page.goto(vaultUrl);
    await page.getByRole("navigation", { name: "Vault" }).getByRole("link", { name: "Environment" }).click();
    await page.getByRole("heading", { name: "Variables in production" }).waitFor();
    await page.getByLabel("Key").fill("DATABASE_URL");
    await page.getByLabel("Value", { exact: true }).fill("e2e-env-value");
    await page.getByLabel("Comment").fill("the main database");
    await page.getByRole("button", { name: "Add variable" }).click();
    await page.locator("tbody b", { hasText: /^DATABASE_URL$/ }).waitFor();
    expect(!(await page.content()).includes("e2e-env-value"), "the value was in the page before it was asked for");
    await page.getByRole("button", { name: "Reveal the value of DATABASE_URL" }).click();
    await page.getByText("e2e-env-value").waitFor();
    await page.getByRole("button", { name: "Reveal as .env" }).click();
    const text = (await page.locator("#dotenv-text").textContent()).trim();
    expect(text === "DATABASE_URL='e2e-env-value'", `the .env text: ${text}`);
    await page.getByRole("link", { name: "preview" }).click();
    await page.getByText("No variables in this environment yet.").waitFor();
    await page.getByRole("link", { name: "production" }).click();
    await confirmed(page.getByRole("button", { name: "Delete DATABASE_URL" }),
      page.locator("tbody b", { hasText: /^DATABASE_URL$/ }), "The variable was taken out");
    // One left in every environment, for the screenshots.
    await page.getByLabel("Key").fill("LOG_LEVEL");
    await page.getByLabel("Value", { exact: true }).fill("info");
    await page.getByLabel("Environment", { exact: true }).selectOption("*");
    await page.getByRole("button", { name: "Add variable" }).click();
    await page.locator("tbody b", { hasText: /^LOG_LEVEL$/ }).waitFor();
  });

  await check("oneclaw login's device code is approved on /device and gives the CLI a session", async () => {
    const post = (path, body) => fetch(`${base}${path}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }).then((r) => r.json());
    const started = await post("/v1/auth/device/code", { client_id: "oneclaw-cli", email });
    expect(started.verification_uri.endsWith("/device") && !("verification_uri_complete" in started), JSON.stringify(started));
    const grant = { device_code: started.device_code, grant_type: "urn:ietf:params:oauth:grant-type:device_code" };
    expect((await post("/v1/auth/device/token", grant)).error === "authorization_pending", "not approved yet");
    await page.goto(`${base}/device`);
    await page.getByLabel("Code").fill(started.user_code.toLowerCase());
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByText("oneclaw-cli").waitFor();
    await page.getByRole("button", { name: "Approve" }).click();
    await page.getByText("Approved: the command line is signed in").waitFor();
    await page.waitForTimeout(5000); // the poll interval
    const session = await post("/v1/auth/device/session", grant);
    expect(typeof session.access_token === "string" && session.email === email, JSON.stringify(session));
    expect(typeof session.refresh_token === "string", "our route keeps the CLI signed in");
  });

  let agentName = `bot-${Date.now()}`;
  const snippets = {};
  await check("register an agent (key and MCP config shown once) and grant it a path", async () => {
    await page.getByRole("link", { name: "Agents" }).click();
    await page.getByLabel("Name").fill(agentName);
    await page.getByLabel("Bound to vault (optional)").selectOption({ label: "e2e-vault" });
    await page.getByRole("button", { name: "Register" }).click();
    const key = await page.locator("#agent-key").textContent();
    expect(key.startsWith("ocv_"), `no agent key shown: ${key}`);
    snippets.key = key;
    snippets.stdio = await page.locator("#mcp-config").textContent();
    snippets.hosted = await page.locator("#mcp-hosted").textContent();
    for (const id of ["mcp-config", "mcp-claude-code", "mcp-hosted", "mcp-hosted-claude-code"]) {
      expect((await page.locator(`#${id}`).textContent()).includes(key), `the ${id} snippet lacks the key`);
    }
    expect(JSON.parse(await page.locator("#mcp-config").textContent()).mcpServers.oneclaw.args[0] === "mcp", "stdio JSON");
    expect(await page.getByText("It can read nothing yet").isVisible(), "no warning that the agent can read nothing");
    await page.getByRole("link", { name: "Sharing" }).click();
    await page.getByLabel("To").selectOption({ label: `agent ${agentName}` });
    await page.getByLabel("Paths (glob: * one segment, ** any)").fill("db/**");
    await page.getByRole("button", { name: "Grant" }).click();
    await page.getByRole("cell", { name: "db/**" }).waitFor();
  });

  await check("an agent's page adds an HTTP binding from a vault path, never showing the key", async () => {
    await page.getByRole("link", { name: "Agents" }).click();
    await page.getByRole("link", { name: `Settings of ${agentName}` }).click();
    await page.getByRole("heading", { name: "Bindings" }).waitFor();
    agentUrl = page.url();
    await page.getByText("Add an HTTP binding").click();
    await page.getByLabel("Name (the agent names it in execute)").fill("payments");
    await page.getByLabel("Base URL").fill("https://api.example.com/v1");
    await page.getByLabel("Vault holding the key").selectOption({ label: "e2e-vault" });
    await page.getByLabel("Secret path of the key").fill("db/password");
    await page.getByLabel("Allowed methods (comma-separated)").fill("GET, POST");
    await page.getByRole("button", { name: "Add binding" }).click();
    await page.getByRole("cell", { name: "payments", exact: true }).waitFor();
    const html = await page.content();
    expect(html.includes("https://api.example.com/v1") && html.includes("db/password"), "the binding is not listed");
    expect(!html.includes("e2e-secret-value"), "the key's value is on the page");
    // Sharing grants the agent execute on the binding's path.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sharing" }).click();
    await page.getByLabel("To").selectOption({ label: `agent ${agentName}` });
    await page.getByLabel("Paths (glob: * one segment, ** any)").fill("bindings/payments");
    await page.getByLabel("read").uncheck();
    await page.getByLabel("execute").check();
    await page.getByRole("button", { name: "Grant" }).click();
    await page.getByRole("cell", { name: "bindings/payments" }).waitFor();
    expect((await page.content()).includes(">execute<"), "the execute grant is not listed");
  });

  await check("the copied MCP snippets read the secret (official MCP SDK: stdio and hosted)", async () => {
    const python = process.env.E2E_MCP_PYTHON ?? join(root, "target/compat-venv-mcp/bin/python");
    const dir = mkdtempSync(join(tmpdir(), "oneclaw-e2e-mcp-"));
    writeFileSync(join(dir, "stdio.json"), snippets.stdio);
    writeFileSync(join(dir, "hosted.json"), snippets.hosted);
    const run = spawnSync(python, [join(root, "e2e", "mcp_read.py"), join(dir, "stdio.json"), join(dir, "hosted.json"), "db/password"],
      { encoding: "utf8", timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(run.status === 0, `mcp_read.py failed (${run.status}): ${run.stderr}`);
    const [viaStdio, viaHosted] = run.stdout.trim().split("\n");
    expect(viaStdio === currentValue && viaHosted === currentValue, `read ${viaStdio} / ${viaHosted}`);
  });

  await check("a read behind an approval policy waits for a person: listed under Approvals with a badge, approved, read once", async () => {
    await page.goto(vaultUrl);
    await page.getByLabel("Path").fill("gated/token");
    await page.getByLabel("Value").fill("behind-approval-value");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByRole("link", { name: "Sharing" }).click();
    await page.getByLabel("To").selectOption({ label: `agent ${agentName}` });
    await page.getByLabel("Paths (glob: * one segment, ** any)").fill("gated/**");
    await page.getByLabel("A person approves each use (under Approvals)").check();
    await page.getByRole("button", { name: "Grant" }).click();
    await page.getByRole("cell", { name: "gated/**" }).waitFor();
    const vaultId = vaultUrl.split("/").pop();
    const exchanged = await fetch(`${base}/v1/auth/agent-token`, { method: "POST",
      headers: { "content-type": "application/json" }, body: JSON.stringify({ api_key: snippets.key }) });
    const token = (await exchanged.json()).access_token;
    const read = () => fetch(`${base}/v1/vaults/${vaultId}/secrets/gated/token`, { headers: { authorization: `Bearer ${token}` } });
    const asked = await read();
    const problem = await asked.json();
    expect(asked.status === 403 && problem.type === "approval_required" && problem.approval_request_id, `first read: ${JSON.stringify(problem)}`);
    await page.goto(`${base}/dashboard`);
    await page.locator("nav.side .badge", { hasText: "1" }).waitFor();
    await page.getByRole("link", { name: /^Approvals/ }).click();
    await page.getByText("read gated/token in e2e-vault").first().waitFor();
    await page.getByRole("button", { name: "Approve" }).click();
    await page.getByRole("cell", { name: "approved for one use" }).waitFor();
    const approved = await read();
    const value = (await approved.json()).value;
    expect(approved.status === 200 && value === "behind-approval-value", `after approval: ${approved.status}`);
    expect((await read()).status === 403, "an approval lets one read through");
  });

  await check("the Audit Log shows the events and an intact chain", async () => {
    await page.getByRole("link", { name: "Audit Log" }).click();
    await page.getByRole("button", { name: "Verify the chain" }).click();
    await page.getByText("The chain is intact").waitFor();
    await page.getByRole("cell", { name: "secret.read" }).first().waitFor();
    await page.getByRole("cell", { name: "policy.create" }).first().waitFor();
  });

  await check("create an API key (shown once) and revoke it", async () => {
    await page.getByRole("link", { name: "API Keys" }).click();
    await page.getByLabel("Name").fill("ci");
    await page.getByRole("button", { name: "Create key" }).click();
    expect((await page.locator("#api-key").textContent()).startsWith("1ck_"), "no key shown");
    const asked = dialogs.length;
    await page.getByRole("button", { name: "Revoke ci" }).click();
    await page.getByText("revoked", { exact: true }).waitFor();
    expect(dialogs.length === asked + 1 && dialogs.at(-1).includes("Revoke the key ci"), `asked: ${dialogs.at(-1)}`);
    await page.getByRole("status").filter({ hasText: "The API key was revoked" }).waitFor();
  });

  await check("a declined confirmation sends nothing; a vault is deleted only when confirmed", async () => {
    await page.getByRole("link", { name: "Vaults" }).click();
    await page.getByLabel("Name").fill("short-lived");
    await page.getByRole("button", { name: "Create vault" }).click();
    expect(await page.getByText("Vault id").isVisible(), "the vault id is shown");
    answerYes = false;
    const asked = dialogs.length;
    await page.getByRole("button", { name: "Delete vault" }).click();
    await page.waitForTimeout(300);
    answerYes = true;
    expect(dialogs.length === asked + 1 && dialogs.at(-1).includes("short-lived"), `asked: ${dialogs.at(-1)}`);
    expect(await page.getByRole("heading", { name: "short-lived" }).isVisible(), "declining kept the vault");
    await page.getByRole("button", { name: "Delete vault" }).click();
    await page.getByRole("status").filter({ hasText: "The vault was deleted" }).waitFor();
    expect(!(await page.getByRole("link", { name: "short-lived" }).count()), "the vault is gone from the list");
  });

  await check("invite a member: the link is shown once and joins the org when used", async () => {
    await page.getByRole("link", { name: "Team" }).click();
    const invitee = `member-${Date.now()}@example.com`;
    await page.getByLabel("Email").fill(invitee);
    await page.getByRole("button", { name: "Invite" }).click();
    const link = (await page.locator("#invite-link").textContent()).trim();
    expect(link.includes("/signup?invite=oci_"), `no invitation link: ${link}`);
    await page.getByRole("cell", { name: invitee, exact: true }).waitFor();
    const other = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const guest = await other.newPage();
    await guest.goto(link);
    await guest.getByText("You were invited").waitFor();
    await guest.getByLabel("Email").fill(invitee);
    await guest.getByLabel("Password").fill("invited member password");
    await guest.getByRole("button", { name: "Sign up" }).click();
    // The inviter saw the link too, so it proves no mailbox: the invitee confirms the address.
    await guest.getByRole("heading", { name: "Check your mail" }).waitFor();
    const confirm = await mailedLink(invitee, "verify-email?token=");
    await guest.goto(confirm.replace(/^https?:\/\/[^/]+/, base));
    await guest.getByLabel("Password").fill("invited member password");
    await guest.getByRole("button", { name: "Confirm my address" }).click();
    await guest.waitForURL(/\/dashboard/);
    await other.close();
    await page.getByRole("link", { name: "Team" }).click();
    expect(!(await page.content()).includes("Open invitations"), "the used invitation is still open");
    await page.getByRole("cell", { name: invitee, exact: true }).waitFor();
  });

  // Clicks `button` twice: declining the confirmation must leave `present` in place, accepting
  // it must remove it and show what happened.
  async function confirmed(button, present, notice) {
    answerYes = false;
    const asked = dialogs.length;
    await button.click();
    await page.waitForTimeout(300);
    answerYes = true;
    expect(dialogs.length === asked + 1, "no confirmation was asked");
    expect((await present.count()) > 0, "declining changed something");
    await button.click();
    await page.getByRole("status").filter({ hasText: notice }).waitFor();
    expect((await present.count()) === 0, "accepting changed nothing");
  }

  await check("each destructive action asks; declining keeps, accepting deletes and says so", async () => {
    // A secret.
    await page.goto(vaultUrl);
    await page.getByLabel("Path").fill("tmp/doomed");
    await page.getByLabel("Value").fill("short-lived value");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await confirmed(page.getByRole("button", { name: "Delete tmp/doomed" }),
      page.getByRole("cell", { name: "doomed" }), "The secret was deleted");
    // A policy.
    await page.getByRole("link", { name: "Sharing" }).click();
    await page.getByLabel("To").selectOption({ label: `agent ${agentName}` });
    await page.getByLabel("Paths (glob: * one segment, ** any)").fill("tmp/**");
    await page.getByRole("button", { name: "Grant" }).click();
    const row = page.getByRole("row").filter({ hasText: "tmp/**" });
    await confirmed(row.getByRole("button", { name: "Revoke" }), page.getByRole("cell", { name: "tmp/**" }),
      "The policy was revoked");
    // A member (the one invited above).
    await page.getByRole("link", { name: "Team" }).click();
    const member = page.getByRole("button", { name: /^Remove member-/ });
    await confirmed(member, member, "The member was removed");
  });

  await check("turn on TOTP, then sign in with a code", async () => {
    await page.getByRole("link", { name: "Security" }).click();
    await page.getByRole("button", { name: "Set up two-factor sign-in" }).click();
    const qr = await page.locator("figure.qr svg").boundingBox();
    if (!qr || qr.width < 150 || qr.height < 150) throw new Error(`no QR code to scan: ${JSON.stringify(qr)}`);
    const secret = (await page.locator("#totp-secret").textContent()).trim();
    await page.getByLabel("Code from the app").fill(totp(secret, Date.now() / 1000));
    await page.getByRole("button", { name: "Turn on" }).click();
    await page.getByText("Keep these recovery codes").waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Enter your code" }).waitFor();
    // The code that turned TOTP on is spent: use the next time step's.
    const now = Date.now() / 1000;
    await new Promise((r) => setTimeout(r, (30 - (now % 30) + 1) * 1000));
    await page.getByLabel("Code").fill(totp(secret, Date.now() / 1000));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.waitForURL(`${base}/dashboard`);
  });

  await check("forgot password: the mailed link resets it, the new one signs in, and the address moves with a mailed code", async () => {
    const forgetful = `forgetful-${Date.now()}@example.com`;
    const signup = await fetch(`${base}/v1/auth/signup`, { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: forgetful, password: "the password I forgot" }) });
    expect(signup.ok, `sign-up: ${signup.status}`);
    const other = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const guest = await other.newPage();
    await guest.goto(`${base}/signin`);
    await guest.getByRole("link", { name: "Forgot password?" }).click();
    await guest.getByLabel("Email").fill(forgetful);
    await guest.getByRole("button", { name: "Send me a reset link" }).click();
    await guest.getByRole("status").waitFor();
    let link;
    for (let i = 0; i < 100 && !link; i++) {
      link = mailsTo(forgetful).map((m) => m.text.match(/https?:\/\/\S*reset-password\?token=\S+/)?.[0]).find(Boolean);
      if (!link) await new Promise((r) => setTimeout(r, 100));
    }
    expect(link, "no reset mail arrived");
    await guest.goto(link.replace(/^https?:\/\/[^/]+/, base));
    await guest.getByLabel("New password").fill("a brand new password");
    await guest.getByRole("button", { name: "Set the new password" }).click();
    await guest.getByText("Your password is changed").waitFor();
    await guest.getByRole("link", { name: "Sign in" }).click();
    await guest.getByLabel("Email").fill(forgetful);
    await guest.getByLabel("Password").fill("a brand new password");
    await guest.getByRole("button", { name: "Sign in" }).click();
    await guest.waitForURL(/\/dashboard/);
    // And moves to a new address with the code mailed to it.
    const moved = `moved-${Date.now()}@example.com`;
    await guest.goto(`${base}/security`);
    await guest.getByRole("link", { name: "Change your email address" }).click();
    await guest.getByLabel("New address").fill(moved);
    await guest.getByRole("button", { name: "Send a code to the new address" }).click();
    let code;
    for (let i = 0; i < 100 && !code; i++) {
      code = mailsTo(moved).map((m) => m.text.match(/\b\d{6}\b/)?.[0]).find(Boolean);
      if (!code) await new Promise((r) => setTimeout(r, 100));
    }
    expect(code, "no code arrived at the new address");
    await guest.getByLabel("Code").fill(code);
    await guest.getByRole("button", { name: "Confirm the new address" }).click();
    await guest.waitForURL(/\/security/);
    expect((await guest.content()).includes(moved), "the new address is not shown");
    let told = false;
    for (let i = 0; i < 100 && !told; i++) {
      told = mailsTo(forgetful).some((m) => m.text.includes(`changed to ${moved}`));
      if (!told) await new Promise((r) => setTimeout(r, 100));
    }
    expect(told, "the old address was not told");
    await other.close();
  });

  await check("a form posted without its CSRF token is refused", async () => {
    const response = await page.request.post(`${base}/vaults`, { form: { name: "forged" } });
    expect(response.status() === 403, `status ${response.status()}`);
  });

  await check("sign in with Google against a real OpenID provider (code flow with PKCE)", async () => {
    // The browser is not the subject here: it may accept the test CA's certificate.
    const google = await browser.newContext({ ignoreHTTPSErrors: true });
    const tab = await google.newPage();
    await tab.goto(`${base}/signin`);
    await tab.getByRole("link", { name: "Sign in with Google" }).click();
    await tab.waitForURL(new RegExp(`^${oidc.issuer}`));
    await tab.locator("input[name=login]").fill("google-person@example.com");
    await tab.locator("input[name=password]").fill("anything");
    await tab.locator("button[type=submit]").click();
    const consent = tab.locator("button[type=submit]");
    if (await consent.isVisible().catch(() => false)) await consent.click();
    await tab.waitForURL(`${base}/dashboard`, { timeout: 10000 }).catch(async (err) => {
      const alerts = await tab.locator("[role=alert]").allTextContents();
      throw new Error(`stopped at ${tab.url()}: ${alerts.join(" | ") || (await tab.content()).replace(/\s+/g, " ").slice(0, 900)}`);
    });
    expect((await tab.content()).includes("google-person@example.com"), "not signed in as the provider's person");
    await google.close();
  });

  await check("POST /v1/auth/google accepts the issuer's ID token and refuses forged or wrong-audience ones", async () => {
    const claims = { iss: oidc.issuer, sub: "api-person@example.com", email: "api-person@example.com", email_verified: true };
    const good = await fetch(`${base}/v1/auth/google`, { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ id_token: await oidc.sign({ ...claims, aud: CLIENT_ID }) }) });
    expect(good.status === 200 && (await good.json()).access_token, `a valid ID token was refused: ${good.status}`);
    for (const [what, token] of [
      ["forged (a stranger's key)", await oidc.sign({ ...claims, aud: CLIENT_ID }, oidc.stranger)],
      ["wrong audience", await oidc.sign({ ...claims, aud: "someone-else" })],
      ["wrong issuer", await oidc.sign({ ...claims, aud: CLIENT_ID, iss: "http://evil.example" })],
      ["unverified email", await oidc.sign({ ...claims, aud: CLIENT_ID, email_verified: false })],
    ]) {
      const refused = await fetch(`${base}/v1/auth/google`, { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ id_token: token }) });
      expect(refused.status === 401, `${what}: status ${refused.status}`);
    }
  });

  await check("keyboard: the first Tab stop skips the sidebar to the page's content", async () => {
    await page.goto(`${base}/vaults`);
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => document.activeElement?.textContent?.trim());
    expect(first === "Skip to content", `first Tab stop: ${first}`);
    await page.keyboard.press("Enter");
    const focused = await page.evaluate(() => document.activeElement?.id);
    expect(focused === "main", `after the skip link, focus is on ${focused}`);
  });

  await check("the pages run under a strict Content-Security-Policy without violations", async () => {
    const response = await page.goto(`${base}/vaults`);
    const policy = response.headers()["content-security-policy"] ?? "";
    expect(policy.includes("script-src 'self'") && policy.includes("frame-ancestors 'none'"), `policy: ${policy}`);
    expect(cspViolations.length === 0, `violations: ${cspViolations.join(" | ")}`);
  });

  await check("every page renders at desktop and phone width (screenshots saved)", async () => {
    mkdirSync(shots, { recursive: true });
    for (const [width, height, suffix] of [[1280, 800, "desktop"], [390, 844, "phone"]]) {
      await page.setViewportSize({ width, height });
      for (const name of pages) {
        await page.goto(`${base}/${name}`);
        expect(await page.locator("main h1").isVisible(), `${name} has no heading`);
        const wide = await page.evaluate(() => document.documentElement.scrollWidth);
        expect(wide <= width, `${name} is ${wide} px wide at ${width} px: it scrolls sideways`);
        await page.screenshot({ path: join(shots, `${name}-${suffix}.png`), fullPage: true });
        await page.screenshot({ path: join(shots, `${name}-${suffix}-viewport.png`) });
      }
      // One vault's path tree, inside its db/ folder.
      await page.goto(`${vaultUrl}?folder=db/`);
      expect(await page.getByRole("navigation", { name: "Folder" }).isVisible(), "no breadcrumbs");
      await page.screenshot({ path: join(shots, `vault-folder-${suffix}.png`), fullPage: true });
      // The vault's Environment tab, with a variable in it.
      await page.goto(`${vaultUrl}/env?environment=production`);
      const envWide = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(envWide <= width, `the Environment tab is ${envWide} px wide at ${width} px`);
      await page.screenshot({ path: join(shots, `vault-env-${suffix}.png`), fullPage: true });
      // An agent's page with its Bindings.
      await page.goto(agentUrl);
      const agentWide = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(agentWide <= width, `the agent page is ${agentWide} px wide at ${width} px`);
      await page.screenshot({ path: join(shots, `agent-bindings-${suffix}.png`), fullPage: true });
    }
    // Dark scheme too, at both sizes: the stylesheet answers prefers-color-scheme.
    await page.emulateMedia({ colorScheme: "dark" });
    for (const [width, height, suffix] of [[1280, 800, "desktop"], [390, 844, "phone"]]) {
      await page.setViewportSize({ width, height });
      for (const name of ["dashboard", "vaults", "agents"]) {
        await page.goto(`${base}/${name}`);
        await page.screenshot({ path: join(shots, `${name}-${suffix}-dark.png`) });
      }
    }
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${base}/signin`);
    await page.screenshot({ path: join(shots, "signin-desktop.png") });
  });
  await check("onboarding from a fresh `oneclaw dev`, by on-page links only, ends with an MCP client reading the secret", async () => {
    const devPort = await freePort();
    const devData = mkdtempSync(join(tmpdir(), "oneclaw-e2e-dev-"));
    const dev = spawn(bin, ["dev", "--listen", `127.0.0.1:${devPort}`, "--data-dir", devData],
      { env, stdio: ["ignore", "pipe", "ignore"] });
    try {
      let printed = "";
      dev.stdout.on("data", (chunk) => { printed += chunk; });
      for (let i = 0; i < 300 && !/password: \S+/.test(printed); i++) await new Promise((r) => setTimeout(r, 100));
      const devPassword = printed.match(/password: (\S+)/)?.[1];
      expect(devPassword, `dev printed no password: ${printed}`);
      expect(printed.includes("billing: off") && printed.includes("in a browser"), printed);
      const devBase = `http://127.0.0.1:${devPort}`;
      const fresh = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const tab = await fresh.newPage();
      tab.on("dialog", (dialog) => dialog.accept());
      await tab.goto(devBase);
      await tab.getByLabel("Email").fill("admin@oneclaw.local");
      await tab.getByLabel("Password").fill(devPassword);
      await tab.getByRole("button", { name: "Sign in" }).click();
      await tab.getByRole("heading", { name: "Getting started" }).waitFor();
      await tab.getByRole("link", { name: "Create a vault" }).click();
      await tab.getByLabel("Name").fill("first");
      await tab.getByRole("button", { name: "Create vault" }).click();
      await tab.getByLabel("Path").fill("api-keys/stripe");
      await tab.getByLabel("Value").fill("sk_onboarding_1");
      await tab.getByRole("button", { name: "Save", exact: true }).click();
      await tab.getByRole("link", { name: "Dashboard" }).click();
      await tab.getByRole("link", { name: "Register an agent" }).click();
      await tab.getByLabel("Name").fill("claude");
      await tab.getByLabel("Bound to vault (optional)").selectOption({ label: "first" });
      await tab.getByRole("button", { name: "Register" }).click();
      const dir = mkdtempSync(join(tmpdir(), "oneclaw-e2e-dev-mcp-"));
      writeFileSync(join(dir, "stdio.json"), await tab.locator("#mcp-config").textContent());
      writeFileSync(join(dir, "hosted.json"), await tab.locator("#mcp-hosted").textContent());
      expect(await tab.getByRole("link", { name: "reads nothing yet: grant it paths" }).isVisible(), "no warning in the list");
      await tab.getByRole("link", { name: "grant it paths", exact: true }).click();
      await tab.getByLabel("To").selectOption({ label: "agent claude" });
      await tab.getByLabel("Paths (glob: * one segment, ** any)").fill("api-keys/**");
      await tab.getByRole("button", { name: "Grant" }).click();
      await tab.getByRole("cell", { name: "api-keys/**" }).waitFor();
      await tab.getByRole("link", { name: "Agents" }).click();
      expect(!(await tab.getByText("reads nothing yet").count()), "the granted agent is still flagged");
      await fresh.close();
      const python = process.env.E2E_MCP_PYTHON ?? join(root, "target/compat-venv-mcp/bin/python");
      const run = spawnSync(python, [join(root, "e2e", "mcp_read.py"), join(dir, "stdio.json"), join(dir, "hosted.json"),
        "api-keys/stripe"], { encoding: "utf8", timeout: 60_000 });
      rmSync(dir, { recursive: true, force: true });
      expect(run.status === 0, `mcp_read.py failed (${run.status}): ${run.stderr}`);
      expect(run.stdout.trim() === "sk_onboarding_1\nsk_onboarding_1", `read: ${run.stdout}`);
    } finally {
      dev.kill();
      rmSync(devData, { recursive: true, force: true });
    }
  });
} finally {
  await browser.close();
  server.kill();
  smtp.kill();
  oidc.server.close();
  rmSync(data, { recursive: true, force: true });
}

console.log(`${results.passed} passed, ${results.failed} failed`);
process.exit(results.failed ? 1 : 0);
