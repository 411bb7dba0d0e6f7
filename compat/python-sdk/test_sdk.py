"""Drives a running oneclaw server with the official 1claw Python SDK (oneclaw==0.61.14).

Usage: ONECLAW_COMPAT_BASE_URL=http://127.0.0.1:PORT python test_sdk.py
Prints one line per check and ends with 'N passed, N failed'; exits 1 if any check failed.
"""

import os
import sys
import traceback
import uuid

import httpx
from oneclaw import create_client

BASE = os.environ["ONECLAW_COMPAT_BASE_URL"].rstrip("/")
CHECKS = []
STATE = {}


def check(fn):
    CHECKS.append(fn)
    return fn


def ok(resp, status=None):
    """The response succeeded (optionally with this status) and its data."""
    assert resp.error is None, f"unexpected error {resp.meta.status}: {resp.error}"
    if status is not None:
        assert resp.meta.status == status, f"status {resp.meta.status}, wanted {status}"
    return resp.data


@check
def signup_over_http():
    STATE["email"] = f"sdk-{uuid.uuid4().hex[:8]}@example.com"
    STATE["password"] = "sdk-password-" + uuid.uuid4().hex
    r = httpx.post(f"{BASE}/v1/auth/signup", json={"email": STATE["email"], "password": STATE["password"], "display_name": "SDK"})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == STATE["email"]


@check
def auth_login_and_me():
    client = create_client(base_url=BASE)
    data = ok(client.auth.login(STATE["email"], STATE["password"]), 200)
    assert data["token_type"] == "Bearer" and data["expires_in"] > 60
    me = ok(client.auth.me())
    assert me["email"] == STATE["email"] and me["role"] == "owner"
    STATE["client"] = client


@check
def auth_refresh_with_bearer_only():
    client = STATE["client"]
    data = ok(client.auth.refresh(), 200)
    assert data["access_token"].count(".") == 2
    assert ok(client.auth.me())["email"] == STATE["email"]


@check
def vaults_create_list_get():
    client = STATE["client"]
    vault = ok(client.vaults.create("sdk-vault", description="made by the SDK"), 201)
    assert vault["name"] == "sdk-vault" and vault["created_by_type"] == "user"
    STATE["vault"] = vault["id"]
    listed = ok(client.vaults.list())
    assert [v["id"] for v in listed["vaults"]] == [vault["id"]]
    got = ok(client.vaults.get(vault["id"]))
    assert got["description"] == "made by the SDK"


@check
def secrets_set_get_and_version():
    client, vault = STATE["client"], STATE["vault"]
    first = ok(client.secrets.set(vault, "api-keys/stripe", "sk_test_one", type="api_key", metadata={"env": "test"}), 201)
    assert first["version"] == 1 and "value" not in first
    second = ok(client.secrets.set(vault, "api-keys/stripe", "sk_test_two"), 201)
    assert second["version"] == 2
    got = ok(client.secrets.get(vault, "api-keys/stripe"))
    assert got["value"] == "sk_test_two" and got["version"] == 2 and got["created_by"].startswith("user:")


@check
def secrets_list_with_prefix():
    client, vault = STATE["client"], STATE["vault"]
    ok(client.secrets.set(vault, "db/password", "pw"), 201)
    everything = ok(client.secrets.list(vault))
    assert sorted(s["path"] for s in everything["secrets"]) == ["api-keys/stripe", "db/password"]
    assert all("value" not in s for s in everything["secrets"])
    prefixed = ok(client.secrets.list(vault, prefix="api-keys/"))
    assert [s["path"] for s in prefixed["secrets"]] == ["api-keys/stripe"]


@check
def secrets_list_versions_and_get_version():
    client, vault = STATE["client"], STATE["vault"]
    versions = ok(client.secrets.list_versions(vault, "api-keys/stripe"))["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["is_disabled"] is False
    v1 = ok(client.secrets.get_version(vault, "api-keys/stripe", 1))
    assert v1["value"] == "sk_test_one" and v1["metadata"] == {"env": "test"}


@check
def secrets_disable_version():
    client, vault = STATE["client"], STATE["vault"]
    r = client.secrets.disable_version(vault, "api-keys/stripe", 1)
    assert r.error is None and r.meta.status == 204
    gone = client.secrets.get_version(vault, "api-keys/stripe", 1)
    assert gone.meta.status == 410


@check
def secrets_rotate_generate():
    client, vault = STATE["client"], STATE["vault"]
    rotated = ok(client.secrets.rotate_generate(vault, "db/password", length=40, charset="alphanumeric"), 201)
    assert rotated["version"] == 2 and "value" not in rotated
    value = ok(client.secrets.get(vault, "db/password"))["value"]
    assert len(value) == 40 and value.isalnum()
    default = ok(client.secrets.rotate_generate(vault, "db/password"), 201)
    assert default["version"] == 3
    assert len(ok(client.secrets.get(vault, "db/password"))["value"]) == 32


@check
def secrets_delete_then_gone():
    client, vault = STATE["client"], STATE["vault"]
    r = client.secrets.delete(vault, "db/password")
    assert r.error is None and r.meta.status == 204 and r.data is None
    gone = client.secrets.get(vault, "db/password")
    assert gone.meta.status == 410, gone.meta.status
    missing = client.secrets.get(vault, "never/stored")
    assert missing.meta.status == 404 and missing.error.type == "not_found", missing.error


@check
def api_keys_create_and_client_from_key():
    client = STATE["client"]
    created = ok(client.api_keys.create("compat-key"), 201)
    key = created["api_key"]
    assert key.startswith("1ck_") and created["key"]["key_prefix"] == key[:12]
    listed = ok(client.api_keys.list())
    assert any(k["name"] == "compat-key" for k in listed["keys"])
    keyed = create_client(base_url=BASE, api_key=key)
    vaults = ok(keyed.vaults.list())
    assert [v["id"] for v in vaults["vaults"]] == [STATE["vault"]]
    assert ok(keyed.secrets.get(STATE["vault"], "api-keys/stripe"))["value"] == "sk_test_two"
    STATE["key_id"] = created["key"]["id"]


@check
def api_keys_delete():
    client = STATE["client"]
    r = client.api_keys.delete(STATE["key_id"])
    assert r.error is None and r.meta.status == 204
    listed = ok(client.api_keys.list())
    assert [k["is_active"] for k in listed["keys"] if k["id"] == STATE["key_id"]] == [False]


@check
def vaults_delete():
    client, vault = STATE["client"], STATE["vault"]
    r = client.vaults.delete(vault)
    assert r.error is None and r.meta.status == 204
    assert client.vaults.get(vault).meta.status == 404


@check
def errors_map_to_sdk_types():
    client = STATE["client"]
    bad = client.vaults.create("")
    assert bad.meta.status == 400 and bad.error.type == "validation_error", bad.error
    anonymous = create_client(base_url=BASE)
    denied = anonymous.vaults.list()
    assert denied.meta.status == 401 and denied.error.type == "auth_error", denied.error


@check
def auth_change_password():
    client = STATE["client"]
    new_password = "sdk-new-password-" + uuid.uuid4().hex
    r = client.auth.change_password(STATE["password"], new_password)
    assert r.error is None and r.meta.status == 204, r.error
    assert client.auth.me().meta.status == 401, "a password change ends every session"
    assert create_client(base_url=BASE).auth.login(STATE["email"], STATE["password"]).meta.status == 401
    ok(client.auth.login(STATE["email"], new_password), 200)


@check
def revoke_token_ends_it():
    client = STATE["client"]
    r = client.auth.revoke_token()
    assert r.error is None and r.meta.status == 204
    after = client.auth.me()
    assert after.meta.status == 401


def main():
    passed = failed = 0
    for fn in CHECKS:
        try:
            fn()
        except Exception:  # noqa: BLE001 - every failure is reported, none stops the suite
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc(limit=2)
        else:
            passed += 1
            print(f"ok   {fn.__name__}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
