"""Drives oneclaw's MCP server with the official MCP Python SDK (mcp 2.x).

Both transports (stdio: `oneclaw mcp`; hosted: streamable HTTP at /mcp) in both protocol modes
(auto = the current 2026-07-28 revision, legacy = the session-based handshake). Every tool is
called with good and with bad arguments; the resource is listed and read; an agent without a
policy gets isError with a 403 message; the audit log shows the calls with surface `mcp`.

Usage: ONECLAW_COMPAT_BASE_URL=http://127.0.0.1:PORT ONECLAW_COMPAT_BIN=target/debug/oneclaw python test_mcp.py
Prints one line per check and ends with 'N passed, N failed'; exits 1 if any check failed.
With MCP_COMPAT_LATENCY=N it also times N get_secret round trips per transport.
"""

import asyncio
import json
import logging
import os
import statistics
import sys
import time
import traceback
import uuid

import httpx2 as httpx
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

BASE = os.environ["ONECLAW_COMPAT_BASE_URL"].rstrip("/")
BIN = os.environ["ONECLAW_COMPAT_BIN"]
RESULTS = {"passed": 0, "failed": 0}


class ClientWarnings(logging.Handler):
    """Keeps what the SDK's own loggers warn about, so a check can say the client saw no trouble."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


CLIENT_WARNINGS = ClientWarnings()
logging.getLogger("mcp").addHandler(CLIENT_WARNINGS)

SEED_TOOLS = {"list_secrets", "get_secret", "put_secret", "delete_secret", "describe_secret", "rotate_and_store",
              "get_env_bundle", "create_vault", "list_vaults", "grant_access"}
ALL_TOOLS = SEED_TOOLS | {"share_secret", "rotate_generate", "list_versions", "list_env_vars", "resolve_env",
                          "check_approval", "list_bindings", "execute_intent"}
SECRET_TYPES = ["api_key", "password", "private_key", "certificate", "file", "note", "ssh_key", "env_bundle"]


def record(name, fn):
    try:
        fn()
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    except Exception:  # noqa: BLE001 - every failure is reported, then counted
        RESULTS["failed"] += 1
        print(f"FAIL {name}")
        traceback.print_exc()


async def arecord(name, coro):
    try:
        await coro
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    except Exception:  # noqa: BLE001
        RESULTS["failed"] += 1
        print(f"FAIL {name}")
        traceback.print_exc()


# ---- setup over REST, as a human -------------------------------------------------------------

def setup():
    email = f"mcp-{uuid.uuid4().hex[:8]}@example.com"
    r = httpx.post(f"{BASE}/v1/auth/signup", json={"email": email, "password": "mcp-password-" + uuid.uuid4().hex})
    assert r.status_code == 200, r.text
    human = {"Authorization": f"Bearer {r.json()['access_token']}"}
    vault = httpx.post(f"{BASE}/v1/vaults", json={"name": "mcp-compat"}, headers=human).json()["id"]
    put = lambda path, body: httpx.put(f"{BASE}/v1/vaults/{vault}/secrets/{path}", json=body, headers=human)
    assert put("api-keys/stripe", {"value": "sk_live_compat_1", "type": "api_key", "metadata": {"env": "prod"}}).status_code == 201
    assert put("config/app-env", {"value": "# app\nDB_HOST=db.internal\nAPI_URL=https://x/?a=b\n\n", "type": "env_bundle"}).status_code == 201
    env = lambda body: httpx.post(f"{BASE}/v1/vaults/{vault}/env-vars", json=body, headers=human)
    assert env({"key": "DATABASE_URL", "value": "postgres://prod-compat", "environments": ["production"]}).status_code == 201
    assert env({"key": "DATABASE_URL", "value": "postgres://preview-compat", "environments": ["preview"]}).status_code == 201
    assert env({"key": "DATABASE_URL", "value": "postgres://branch-compat", "git_branch": "feat/x+y"}).status_code == 201

    def agent(name):
        a = httpx.post(f"{BASE}/v1/agents", json={"name": name}, headers=human).json()
        return a["agent"]["id"], a["api_key"]

    agent_id, agent_key = agent("mcp-bot")
    policy = {"principal_type": "agent", "principal_id": agent_id, "permissions": ["read", "write", "delete"],
              "secret_path_pattern": "**"}
    assert httpx.post(f"{BASE}/v1/vaults/{vault}/policies", json=policy, headers=human).status_code == 201
    stranger_id, stranger_key = agent("no-policy-bot")
    # Issue 18: an agent whose reads need a human's approval each time.
    gated_id, gated_key = agent("gated-bot")
    gated = {"principal_type": "agent", "principal_id": gated_id, "permissions": ["read"],
             "secret_path_pattern": "api-keys/*", "conditions": {"require_approval": True}}
    assert httpx.post(f"{BASE}/v1/vaults/{vault}/policies", json=gated, headers=human).status_code == 201
    # Issue 20: a binding through which mcp-bot calls a local API with a key it never sees.
    seen, api = intent_receiver()
    assert put("intents/api-key", {"value": "sk_intent_compat_0123456789"}).status_code == 201
    execute = {"principal_type": "agent", "principal_id": agent_id, "permissions": ["execute"],
               "secret_path_pattern": "bindings/*"}
    assert httpx.post(f"{BASE}/v1/vaults/{vault}/policies", json=execute, headers=human).status_code == 201
    binding = {"name": "compat-api", "binding_type": "http", "config": {"base_url": api},
               "guardrails": {"allowed_schemes": ["http"], "allow_private_hosts": ["127.0.0.1"]},
               "credential_source": {"type": "vault_ref", "vault_id": vault, "path": "intents/api-key"}}
    made = httpx.post(f"{BASE}/v1/agents/{agent_id}/bindings", json=binding, headers=human)
    assert made.status_code == 201, made.text
    return {"human": human, "vault": vault, "agent_id": agent_id, "agent_key": agent_key,
            "stranger_id": stranger_id, "stranger_key": stranger_key, "gated_id": gated_id, "gated_key": gated_key,
            "intent_seen": seen}


def intent_receiver():
    """A local API that records the Authorization it got and echoes it back; its base URL."""
    import http.server
    import threading
    seen = []

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            seen.append(self.headers.get("Authorization"))
            body = json.dumps({"you_sent": self.headers.get("Authorization")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return seen, f"http://127.0.0.1:{server.server_address[1]}/api"


# ---- transports -------------------------------------------------------------------------------

def stdio_client(ctx, key, agent_id, mode):
    env = {"PATH": os.environ.get("PATH", ""), "ONECLAW_BASE_URL": BASE, "ONECLAW_VAULT_ID": ctx["vault"],
           "ONECLAW_AGENT_ID": agent_id, "ONECLAW_AGENT_API_KEY": key, "RUST_LOG": "warn"}
    return Client(StdioServerParameters(command=BIN, args=["mcp"], env=env), mode=mode)


class HttpClient:
    """A Client over streamable HTTP whose requests carry the agent's headers."""

    def __init__(self, ctx, key, mode):
        self.http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}", "X-Vault-ID": ctx["vault"]})
        self.client = Client(streamable_http_client(f"{BASE}/mcp", http_client=self.http), mode=mode)

    async def __aenter__(self):
        await self.http.__aenter__()
        return await self.client.__aenter__()

    async def __aexit__(self, *exc):
        await self.client.__aexit__(*exc)
        await self.http.__aexit__(*exc)


def connect(ctx, transport, mode, who="agent"):
    key = ctx[f"{who}_key"]
    agent_id = ctx[f"{who}_id"]
    if transport == "stdio":
        return stdio_client(ctx, key, agent_id, mode)
    return HttpClient(ctx, key, mode)


def text(result):
    assert result.content and result.content[0].type == "text", result
    return result.content[0].text


def good(result):
    assert not result.is_error, text(result)
    return text(result)


def bad(result, *needles):
    assert result.is_error, f"expected isError, got {text(result)!r}"
    message = text(result)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    return message


# ---- checks, run once per transport and mode -----------------------------------------------

async def check_tools_list(c):
    tools = {t.name: t for t in (await c.list_tools()).tools}
    assert set(tools) == ALL_TOOLS, sorted(tools)
    for name in ALL_TOOLS:
        schema = tools[name].input_schema
        assert schema["type"] == "object" and schema.get("additionalProperties") is False, (name, schema)
        assert tools[name].description, name
    props = lambda n: tools[n].input_schema.get("properties", {})
    req = lambda n: set(tools[n].input_schema.get("required", []))
    assert props("list_secrets")["prefix"]["description"] == "Optional path prefix to filter secrets (e.g. 'api-keys/')"
    assert req("list_secrets") == set()
    assert props("get_secret")["path"] == {"type": "string", "minLength": 1,
                                            "description": "Secret path, e.g. 'api-keys/stripe' or 'passwords/db-prod'"}
    assert req("get_secret") == {"path"}
    put = props("put_secret")
    assert req("put_secret") == {"path", "value"}
    assert set(put) == {"path", "value", "type", "metadata", "expires_at", "max_access_count"}, put
    assert put["value"]["minLength"] == 1 and put["type"]["default"] == "api_key", put["type"]
    type_enum = put["type"].get("enum") or tools["put_secret"].input_schema["$defs"]["SecretKind"]["enum"]
    assert type_enum == SECRET_TYPES, type_enum
    assert put["max_access_count"]["exclusiveMinimum"] == 0
    assert req("delete_secret") == {"path"} and req("describe_secret") == {"path"} and req("get_env_bundle") == {"path"}
    assert req("rotate_and_store") == {"path", "value"}
    cv = props("create_vault")
    assert req("create_vault") == {"name"} and cv["name"]["minLength"] == 1 and cv["name"]["maxLength"] == 255
    assert props("list_vaults") == {} and req("list_vaults") == set()
    ga = props("grant_access")
    assert req("grant_access") == {"vault_id", "principal_type", "principal_id"}
    assert ga["vault_id"]["format"] == "uuid" and ga["principal_id"]["format"] == "uuid"
    assert ga["permissions"]["default"] == ["read"] and ga["secret_path_pattern"]["default"] == "**"
    assert "never" in tools["get_secret"].description, "get_secret tells the model not to repeat the value"


async def check_list_secrets(c, tag):
    listing = good(await c.call_tool("list_secrets", {}))
    assert listing.startswith("Found ") and "- api-keys/stripe  (type: api_key, version: 1, expires: never)" in listing, listing
    assert "sk_live" not in listing
    only = good(await c.call_tool("list_secrets", {"prefix": "config/"}))
    assert "config/app-env" in only and "api-keys/stripe" not in only, only
    none = good(await c.call_tool("list_secrets", {"prefix": "nothing-here/"}))
    assert none == "No secrets found in this vault.", none
    bad(await c.call_tool("list_secrets", {"prefix": 7}))


async def check_get_secret(c, tag):
    value = json.loads(good(await c.call_tool("get_secret", {"path": "api-keys/stripe"})))
    assert list(value) == ["path", "type", "version", "value"] and value["value"] == "sk_live_compat_1", value
    bad(await c.call_tool("get_secret", {"path": "api-keys/missing"}), "No secret found at path 'api-keys/missing'.")
    bad(await c.call_tool("get_secret", {}), "path")
    bad(await c.call_tool("get_secret", {"path": ""}), "must not be empty")
    bad(await c.call_tool("get_secret", {"path": "../etc/passwd"}))


async def check_put_describe_rotate_delete(c, tag):
    path = f"{tag}/db-password"
    stored = good(await c.call_tool("put_secret", {"path": path, "value": "pw-1", "type": "password",
                                                   "metadata": {"owner": "ci"}, "expires_at": "2099-01-01T00:00:00Z"}))
    assert stored == f"Secret stored at '{path}' (version 1, type: password).", stored
    bad(await c.call_tool("put_secret", {"path": path, "value": "x", "expires_at": "tomorrow"}), "expires_at")
    bad(await c.call_tool("put_secret", {"path": path, "value": "x", "type": "banana"}))
    bad(await c.call_tool("put_secret", {"path": path}), "value")
    described = json.loads(good(await c.call_tool("describe_secret", {"path": path})))
    assert list(described) == ["path", "type", "version", "metadata", "created_at", "expires_at"], described
    assert described["metadata"] == {"owner": "ci"} and described["expires_at"].startswith("2099-01-01"), described
    bad(await c.call_tool("describe_secret", {"path": f"{tag}/nothing"}), "No secret found")
    rotated = good(await c.call_tool("rotate_and_store", {"path": path, "value": "pw-2"}))
    assert rotated == f"Rotated secret at '{path}'. New version: 2.", rotated
    bad(await c.call_tool("rotate_and_store", {"path": path, "value": ""}), "must not be empty")
    versions = good(await c.call_tool("list_versions", {"path": path}))
    assert versions.startswith(f"Found 2 version(s) of '{path}':") and "- v2" in versions, versions
    bad(await c.call_tool("list_versions", {"path": f"{tag}/nothing"}), "No secret found")
    generated = good(await c.call_tool("rotate_generate", {"path": path, "length": 24, "charset": "hex"}))
    assert "New version: 3." in generated and "pw-" not in generated, generated
    bad(await c.call_tool("rotate_generate", {"path": path, "length": 4}))
    fresh = json.loads(good(await c.call_tool("get_secret", {"path": path})))
    assert fresh["version"] == 3 and len(fresh["value"]) == 24, fresh
    deleted = good(await c.call_tool("delete_secret", {"path": path}))
    assert deleted == f"Secret at '{path}' has been soft-deleted.", deleted
    bad(await c.call_tool("delete_secret", {"path": f"{tag}/never-there"}), "No secret found")
    bad(await c.call_tool("get_secret", {"path": path}), "expired or has exceeded")


async def check_used_up_secret(c, tag):
    path = f"{tag}/one-time"
    good(await c.call_tool("put_secret", {"path": path, "value": "once", "max_access_count": 1}))
    bad(await c.call_tool("put_secret", {"path": path, "value": "x", "max_access_count": 0}), "greater than 0")
    assert json.loads(good(await c.call_tool("get_secret", {"path": path})))["value"] == "once"
    bad(await c.call_tool("get_secret", {"path": path}),
        f"Secret at path '{path}' is expired or has exceeded its maximum access count.")


async def check_env_bundle(c, tag):
    bundle = good(await c.call_tool("get_env_bundle", {"path": "config/app-env"}))
    assert json.loads(bundle) == {"DB_HOST": "db.internal", "API_URL": "https://x/?a=b"}, bundle
    assert bundle.startswith("{\n  \"DB_HOST\""), bundle
    bad(await c.call_tool("get_env_bundle", {"path": "api-keys/stripe"}),
        "Secret at 'api-keys/stripe' is type 'api_key', not 'env_bundle'.")
    bad(await c.call_tool("get_env_bundle", {"path": "config/none"}), "No secret found")


async def check_env_vars(c, tag):
    listed = good(await c.call_tool("list_env_vars", {}))
    assert listed.startswith("Found 3 variable(s):") and "postgres://" not in listed, listed
    assert "- DATABASE_URL  (environments: production, version: 1)" in listed, listed
    only = good(await c.call_tool("list_env_vars", {"environment": "production"}))
    assert only.startswith("Found 1 variable(s):"), only
    resolved = good(await c.call_tool("resolve_env", {"environment": "production"}))
    assert json.loads(resolved) == {"DATABASE_URL": "postgres://prod-compat"}, resolved
    branch = good(await c.call_tool("resolve_env", {"environment": "preview", "git_branch": "feat/x+y"}))
    assert json.loads(branch) == {"DATABASE_URL": "postgres://branch-compat"}, branch
    bad(await c.call_tool("resolve_env", {}), "environment: is required")
    bad(await c.call_tool("resolve_env", {"environment": "staging"}), "No environment 'staging'")
    bad(await c.call_tool("resolve_env", {"environment": "production", "extra": 1}))


async def check_vaults_and_grants(c, tag, ctx):
    created = good(await c.call_tool("create_vault", {"name": f"agent-vault-{tag}", "description": "made over MCP"}))
    assert created.startswith("Vault created successfully.\n  ID: ") and f"Owner: agent:{ctx['agent_id']}" in created, created
    new_vault = created.split("ID: ")[1].split("\n")[0]
    bad(await c.call_tool("create_vault", {"name": ""}), "must not be empty")
    bad(await c.call_tool("create_vault", {"name": f"agent-vault-{tag}"}), "execution failed")
    vaults = good(await c.call_tool("list_vaults", {}))
    assert vaults.startswith("Found ") and f"agent-vault-{tag}  (id: {new_vault}, created by: agent," in vaults, vaults
    grant = {"vault_id": new_vault, "principal_type": "agent", "principal_id": ctx["stranger_id"]}
    granted = good(await c.call_tool("grant_access", grant))
    assert granted.startswith("Access granted.") and "Permissions: read" in granted and "Path pattern: **" in granted, granted
    # The human's vault is not the agent's to share.
    bad(await c.call_tool("grant_access", {**grant, "vault_id": ctx["vault"]}), "Access denied")
    bad(await c.call_tool("grant_access", {**grant, "vault_id": "not-a-uuid"}), "vault_id must be a UUID")
    bad(await c.call_tool("grant_access", {**grant, "principal_type": "robot"}))


async def check_share(c, tag):
    shared = good(await c.call_tool("share_secret", {"path": "api-keys/stripe", "recipient_type": "anyone_with_link",
                                                     "max_access_count": 1}))
    assert "Secret 'api-keys/stripe' shared." in shared and "/v1/share/" in shared and "sk_live" not in shared, shared
    bad(await c.call_tool("share_secret", {"path": "api-keys/none", "recipient_type": "anyone_with_link"}), "No secret found")
    bad(await c.call_tool("share_secret", {"path": "api-keys/stripe", "recipient_type": "pigeon"}))


async def check_resource(c, tag):
    resources = (await c.list_resources()).resources
    assert [(str(r.uri), r.mime_type) for r in resources] == [("vault://secrets", "application/json")], resources
    read = await c.read_resource("vault://secrets")
    entries = json.loads(read.contents[0].text)
    assert read.contents[0].mime_type == "application/json"
    assert {"path": "api-keys/stripe", "type": "api_key", "version": 1, "expires_at": None} in entries, entries
    assert "sk_live" not in read.contents[0].text and all(set(e) == {"path", "type", "version", "expires_at"} for e in entries)
    try:
        await c.read_resource("vault://nothing")
        raise AssertionError("an unknown resource was read")
    except AssertionError:
        raise
    except Exception:  # noqa: BLE001 - a protocol error is the expected answer
        pass


async def check_no_policy(c, tag):
    denied = bad(await c.call_tool("get_secret", {"path": "api-keys/stripe"}), "Access denied")
    assert "ask your human" in denied and "sk_live" not in denied, denied
    bad(await c.call_tool("list_secrets", {}), "Access denied")
    denied = bad(await c.call_tool("resolve_env", {"environment": "production"}), "Access denied")
    assert "postgres://" not in denied, denied


async def check_intents(c, ctx):
    listed = good(await c.call_tool("list_bindings", {}))
    assert "compat-api (http," in listed and "sk_intent" not in listed, listed
    before = len(ctx["intent_seen"])
    done = good(await c.call_tool("execute_intent", {"binding": "compat-api", "params": {"path": "/charges"}}))
    assert ctx["intent_seen"][before:] == ["Bearer sk_intent_compat_0123456789"], ctx["intent_seen"]
    assert "Bearer [REDACTED]" in done and "sk_intent" not in done, done
    refused = bad(await c.call_tool("execute_intent", {"binding": "compat-api", "params": {"method": "DELETE"}}), "")
    assert "guardrails" in refused and len(ctx["intent_seen"]) == before + 1, refused
    bad(await c.call_tool("execute_intent", {"binding": "no-such-binding"}), "")


async def check_approval_flow(c, ctx):
    asked = bad(await c.call_tool("get_secret", {"path": "api-keys/stripe"}), "Approval required:", "check_approval")
    assert "sk_live" not in asked, asked
    pending = httpx.get(f"{BASE}/v1/approvals", params={"status": "pending"}, headers=ctx["human"]).json()["approvals"]
    mine = [a for a in pending if a.get("agent_id") == ctx["gated_id"]]
    assert len(mine) == 1, pending
    approval_id = mine[0]["id"]
    assert approval_id in asked, asked
    assert ": pending." in good(await c.call_tool("check_approval", {"approval_id": approval_id}))
    bad(await c.call_tool("check_approval", {"approval_id": "not-an-id"}), "UUID")
    decided = httpx.post(f"{BASE}/v1/approvals/{approval_id}/decide", json={"decision": "approve"}, headers=ctx["human"])
    assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.text
    assert ": approved." in good(await c.call_tool("check_approval", {"approval_id": approval_id}))
    assert "sk_live_compat" in good(await c.call_tool("get_secret", {"path": "api-keys/stripe"}))
    bad(await c.call_tool("get_secret", {"path": "api-keys/stripe"}), "Approval required:")


async def run_mode(ctx, transport, mode):
    tag = f"{transport}-{mode}"
    async with connect(ctx, transport, mode) as c:
        await arecord(f"{tag} tools/list: 18 tools with the documented input schemas", check_tools_list(c))
        await arecord(f"{tag} list_secrets good and bad", check_list_secrets(c, tag))
        await arecord(f"{tag} get_secret good and bad (404, missing/empty/traversal path)", check_get_secret(c, tag))
        await arecord(f"{tag} put/describe/rotate_and_store/list_versions/rotate_generate/delete good and bad",
                      check_put_describe_rotate_delete(c, tag))
        await arecord(f"{tag} a used-up secret answers 410", check_used_up_secret(c, tag))
        await arecord(f"{tag} get_env_bundle good and bad", check_env_bundle(c, tag))
        await arecord(f"{tag} list_env_vars and resolve_env good and bad", check_env_vars(c, tag))
        await arecord(f"{tag} create_vault/list_vaults/grant_access good and bad (403)", check_vaults_and_grants(c, tag, ctx))
        await arecord(f"{tag} share_secret good and bad", check_share(c, tag))
        await arecord(f"{tag} resource vault://secrets listed and read, no values", check_resource(c, tag))
        await arecord(f"{tag} list_bindings and execute_intent: the call made, the key redacted", check_intents(c, ctx))
    async with connect(ctx, transport, mode, who="stranger") as c:
        await arecord(f"{tag} an agent without a policy gets isError with a 403 message", check_no_policy(c, tag))
    async with connect(ctx, transport, mode, who="gated") as c:
        await arecord(f"{tag} approval required names the request; check_approval; the approved retry reads once",
                      check_approval_flow(c, ctx))


def check_http_auth(ctx):
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    cases = [({}, "Missing Authorization"), ({"Authorization": "Bearer ocv_wrong_key_000000000000"}, "Invalid credentials"),
             ({"Authorization": "Bearer not.a.jwt"}, ""), ({"Authorization": f"Bearer {ctx['agent_key']}",
                                                           "X-Vault-ID": "nope"}, "X-Vault-ID")]
    for headers, needle in cases:
        r = httpx.post(f"{BASE}/mcp", json=init, headers={**accept, **headers})
        assert r.status_code == 401, (headers.keys(), r.status_code, r.text)
        assert needle in r.json()["detail"], r.text
    human = httpx.post(f"{BASE}/mcp", json=init, headers={**accept, **ctx["human"], "X-Vault-ID": ctx["vault"]})
    assert human.status_code == 401 and "agents" in human.json()["detail"], human.text


def check_session_end(ctx):
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "Authorization": f"Bearer {ctx['agent_key']}", "X-Vault-ID": ctx["vault"]}
    r = httpx.post(f"{BASE}/mcp", json=init, headers=headers)
    session = r.headers.get("mcp-session-id")
    assert r.status_code == 200 and session, (r.status_code, r.headers)
    session_headers = {**headers, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
    ended = httpx.delete(f"{BASE}/mcp", headers=session_headers)
    assert ended.status_code == 204, ended.status_code
    after = httpx.post(f"{BASE}/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=session_headers)
    assert after.status_code == 404, (after.status_code, after.text[:200])
    trouble = [m for m in CLIENT_WARNINGS.messages if "termination" in m]
    assert not trouble, trouble


# ---- stdio MCP to a server behind HTTPS ------------------------------------------------------

def make_certificates(directory):
    """A throwaway CA and a certificate for 127.0.0.1 it signed (openssl command)."""
    import subprocess
    path = lambda name: os.path.join(directory, name)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)
    run("req", "-x509", *ec, "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "1", "-subj", "/CN=mcp compat CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", path("tls.key"), "-out", path("tls.csr"), "-subj", "/CN=127.0.0.1")
    with open(path("tls.ext"), "w") as ext:
        ext.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", path("tls.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
        "-out", path("tls.pem"), "-days", "1", "-extfile", path("tls.ext"))
    return path("ca.pem"), path("tls.pem"), path("tls.key")


async def tls_front(cert, key):
    """A TLS terminator in front of the server (as a reverse proxy would be); returns its https URL."""
    import ssl
    from urllib.parse import urlparse
    backend = urlparse(BASE)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def handle(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection(backend.hostname, backend.port)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer), return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    return server, f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def check_stdio_over_https(ctx):
    import tempfile
    with tempfile.TemporaryDirectory() as directory:
        ca, cert, key = make_certificates(directory)
        server, url = await tls_front(cert, key)
        try:
            def env_for(trust):
                return {"PATH": os.environ.get("PATH", ""), "ONECLAW_BASE_URL": url, "ONECLAW_VAULT_ID": ctx["vault"],
                        "ONECLAW_AGENT_ID": ctx["agent_id"], "ONECLAW_AGENT_API_KEY": ctx["agent_key"], "RUST_LOG": "off",
                        **({"SSL_CERT_FILE": trust} if trust else {})}

            params = StdioServerParameters(command=BIN, args=["mcp"], env=env_for(ca))
            async with Client(params, mode="auto") as c:
                value = json.loads(good(await c.call_tool("get_secret", {"path": "api-keys/stripe"})))
                assert value["value"] == "sk_live_compat_1", value
            # A certificate the client does not trust: `oneclaw mcp` stops at sign-in and says why.
            untrusted = await asyncio.create_subprocess_exec(
                BIN, "mcp", env=env_for(None), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(untrusted.communicate(), timeout=60)
            assert untrusted.returncode == 1 and out == b"", (untrusted.returncode, out)
            assert b"certificate" in err and b"sk_live" not in err, err
        finally:
            server.close()


def check_audit(ctx):
    r = httpx.get(f"{BASE}/v1/audit/records", params={"limit": 500, "actor_id": ctx["agent_id"]}, headers=ctx["human"])
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    reads = [e for e in events if e["action"] == "secret.read"]
    assert reads and all(e["surface"] == "mcp" for e in events if e["action"].startswith("secret.")), events[:3]
    writes = {e["action"] for e in events if e.get("surface") == "mcp"}
    assert {"secret.read", "secret.write", "secret.delete", "vault.create", "policy.create"} <= writes, writes
    denied = httpx.get(f"{BASE}/v1/audit/records", params={"limit": 100, "actor_id": ctx["stranger_id"]}, headers=ctx["human"])
    assert any(e["outcome"] == "denied" and e["surface"] == "mcp" for e in denied.json()["events"]), denied.text[:500]


def check_stdio_refuses_missing_settings():
    import subprocess
    env = {"PATH": os.environ.get("PATH", ""), "ONECLAW_BASE_URL": BASE}
    p = subprocess.run([BIN, "mcp"], env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "ONECLAW_VAULT_ID" in p.stderr and p.stdout == "", (p.returncode, p.stderr, p.stdout)
    env["ONECLAW_VAULT_ID"] = str(uuid.uuid4())
    p = subprocess.run([BIN, "mcp"], env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "ONECLAW_AGENT_API_KEY" in p.stderr and p.stdout == "", (p.returncode, p.stderr)


def percentiles(times):
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


async def latency(ctx, rounds):
    # Baseline in the same run: the same read over the REST API, as the same agent.
    token = httpx.post(f"{BASE}/v1/auth/agent-token", json={"api_key": ctx["agent_key"]}).json()["access_token"]
    url = f"{BASE}/v1/vaults/{ctx['vault']}/secrets/api-keys/stripe"
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as rest:
        rest.get(url)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            assert rest.get(url).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
    base_p50, base_p99 = percentiles(times)
    print(f"latency rest (baseline): GET secret over {rounds} calls: p50 {base_p50:.2f} ms, p99 {base_p99:.2f} ms")
    for transport in ("http", "stdio"):
        async with connect(ctx, transport, "auto") as c:
            await c.call_tool("get_secret", {"path": "api-keys/stripe"})
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                result = await c.call_tool("get_secret", {"path": "api-keys/stripe"})
                times.append((time.perf_counter() - started) * 1000)
                assert not result.is_error
            p50, p99 = percentiles(times)
            print(f"latency {transport}: get_secret round trip over {rounds} calls: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
                  f"({p50 / base_p50:.2f}x the REST p50)")


async def main():
    ctx = setup()
    for transport in ("stdio", "http"):
        for mode in ("auto", "legacy"):
            await run_mode(ctx, transport, mode)
    record("hosted: missing or bad credentials, a bad X-Vault-ID and human tokens get 401", lambda: check_http_auth(ctx))
    record("hosted: DELETE ends a legacy session with 204, and the SDK saw no termination trouble",
           lambda: check_session_end(ctx))
    record("stdio: a missing setting exits 1 naming it, nothing on stdout", check_stdio_refuses_missing_settings)
    await arecord("stdio to a server behind HTTPS: trusted CA reads the secret, an untrusted certificate is refused",
                  check_stdio_over_https(ctx))
    record("audit: every call recorded with surface mcp, refusals included", lambda: check_audit(ctx))
    rounds = int(os.environ.get("MCP_COMPAT_LATENCY", "0"))
    if rounds:
        await latency(ctx, rounds)
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    asyncio.run(main())
