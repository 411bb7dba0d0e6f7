"""Prepares a Schemathesis run against a live oneclaw server (issue 19).

Signs up a user, makes a vault with a secret, an agent with a policy on it, and writes:
  - served-openapi.json: the OpenAPI document the server serves (GET /v1/openapi.json), or,
    with --claw SPEC_JSON, 1claw's document cut to the operations this server routes (asked of
    the server: an operation it does not route answers the router's own 404 "No such route" or
    405); either way with the path parameters' examples set to the real vault, agent, policy
    and secret so generated cases reach past the 404s, and without the routes that would sign
    the run out;
  - user.token and agent.token: bearer tokens for the two runs.

Usage: prepare.py BASE_URL OUT_DIR [--claw SPEC_JSON]
"""

import copy
import json
import sys
import time
import uuid

import requests

BASE, OUT = sys.argv[1], sys.argv[2]
CLAW = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--claw" else None
METHODS = ("get", "put", "post", "delete", "patch")

# Routes left out of fuzzing, each for its reason: they end or change the session the run
# itself signs in with, or lock the account (a fuzzer that signs itself out learns nothing
# more). Whole routes, not methods: the coverage phase also sends the methods a route's
# document lacks, and `DELETE /v1/auth/token` is a real sign-out.
SKIPPED = {
    "/v1/auth/token": "DELETE signs the run out (sign-in is tested in tests/api/auth.rs)",
    "/v1/auth/change-password": "ends every session of the run's user",
    "/v1/auth/reset-password": "ends every session of the account it resets",
    "/v1/auth/mfa": "second-factor changes are tested in tests/api/mfa.rs",
    "/v1/auth/mfa/setup": "would put the run's user behind a second factor",
    "/v1/auth/mfa/verify-setup": "would put the run's user behind a second factor",
    "/v1/auth/change-email": "changes the run's own address",
}


def served(method, template):
    """Whether the server routes this operation: anything but the router's fallbacks."""
    path = template
    for name in ("vault_id", "agent_id", "secret_id", "policy_id", "key_id", "user_id", "share_id",
                 "rule_id", "webhook_id", "id", "approval_id", "binding_id", "invite_id", "slug", "key",
                 "user_code", "path", "version", "env_id"):
        path = path.replace("{" + name + "}", str(uuid.uuid4()) if name.endswith("id") else "x")
    if "{" in path:
        path = path.replace("{", "").replace("}", "")
    answer = requests.request(method.upper(), BASE + path, timeout=10)
    if answer.status_code == 405:
        return False
    return not (answer.status_code == 404 and "No such route" in answer.text)


def post_past_the_rate_limit(url, **kwargs):
    """POSTs to a route with a per-address budget (sign-up, the key exchange), which the fuzzing
    just before may have used up from this address: waits as Retry-After says, up to 2 minutes."""
    deadline = time.monotonic() + 120
    while True:
        answer = requests.post(url, timeout=10, **kwargs)
        if answer.status_code != 429 or time.monotonic() > deadline:
            answer.raise_for_status()
            return answer.json()
        time.sleep(int(answer.headers.get("retry-after", "1")) + 0.5)


def main():
    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    password = "fuzz-password-" + uuid.uuid4().hex
    signed = post_past_the_rate_limit(f"{BASE}/v1/auth/signup", json={"email": email, "password": password})
    user = {"Authorization": f"Bearer {signed['access_token']}"}
    vault = requests.post(f"{BASE}/v1/vaults", json={"name": "fuzz"}, headers=user).json()["id"]
    secret = requests.put(f"{BASE}/v1/vaults/{vault}/secrets/app/db", json={"value": "fuzz-secret-value"},
                          headers=user).json()
    created = requests.post(f"{BASE}/v1/agents", json={"name": "fuzz-agent"}, headers=user).json()
    agent_id, agent_key = created["agent"]["id"], created["api_key"]
    policy = requests.post(f"{BASE}/v1/vaults/{vault}/policies", headers=user, json={
        "principal_type": "agent", "principal_id": agent_id, "secret_path_pattern": "app/**",
        "permissions": ["read", "write"]}).json()
    agent_token = post_past_the_rate_limit(f"{BASE}/v1/auth/agent-token",
                                           json={"api_key": agent_key, "agent_id": agent_id})["access_token"]
    examples = {"vault_id": vault, "agent_id": agent_id, "secret_id": secret["id"], "policy_id": policy["id"],
                "path": "app/db", "version": "1"}

    spec = json.load(open(CLAW)) if CLAW else requests.get(f"{BASE}/v1/openapi.json").json()
    paths = {}
    kept, left = 0, []
    for template, item in spec["paths"].items():
        operations = {}
        if template in SKIPPED:
            left.append(f"{template}: {SKIPPED[template]}")
            continue
        for method in METHODS:
            if method in item and (not CLAW or served(method, template)):
                operation = copy.deepcopy(item[method])
                for parameter in operation.get("parameters", []) + item.get("parameters", []):
                    if parameter.get("in") == "path" and parameter.get("name") in examples:
                        parameter.setdefault("schema", {})["example"] = examples[parameter["name"]]
                operations[method] = operation
                kept += 1
        if operations:
            shared = {k: v for k, v in item.items() if k not in METHODS}
            paths[template] = {**shared, **operations}
    spec["paths"] = paths
    json.dump(spec, open(f"{OUT}/served-openapi.json", "w"))
    open(f"{OUT}/user.token", "w").write(signed["access_token"])
    open(f"{OUT}/agent.token", "w").write(agent_token)
    source = "1claw's" if CLAW else "the served document's"
    print(f"{kept} of {source} operations fuzzed; left out on purpose:")
    for line in left:
        print("  " + line)


main()
