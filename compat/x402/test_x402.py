"""The official x402 Python client (x402 2.25, throwaway eth_account key) against oneclaw.

A secret read past the free allowance answers 402; the client pays and gets the value. Then
the same payment replayed, a tampered signature, the high-s twin of a valid signature, a wrong
recipient, a smaller amount and an expired payment are each refused with 402 and the reason,
and one payment sent twice at once serves exactly one request.
Usage: ONECLAW_COMPAT_BASE_URL=… X402_PAY_TO=0x… X402_FACILITATOR=http://… python test_x402.py
Prints one line per check and ends with 'N passed, N failed'; exits 1 if any check failed.
"""

import base64
import json
import os
import sys
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from eth_account import Account
from x402 import x402ClientSync
from x402.http import x402HTTPClientSync
from x402.http.clients import wrapRequestsWithPayment
from x402.mechanisms.evm import EthAccountSigner
from x402.mechanisms.evm.exact.register import register_exact_evm_client
from x402.schemas import PaymentRequired

BASE = os.environ["ONECLAW_COMPAT_BASE_URL"].rstrip("/")
PAY_TO = os.environ["X402_PAY_TO"]
FACILITATOR = os.environ["X402_FACILITATOR"]
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
RESULTS = {"passed": 0, "failed": 0}
STATE = {}


def check(name, fn):
    try:
        fn()
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    except Exception:  # noqa: BLE001 - every failure is reported, then counted
        RESULTS["failed"] += 1
        print(f"FAIL {name}")
        traceback.print_exc()


def setup():
    email = f"x402-{uuid.uuid4().hex[:8]}@example.com"
    r = requests.post(f"{BASE}/v1/auth/signup", json={"email": email, "password": "x402-password-" + uuid.uuid4().hex})
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    vault = requests.post(f"{BASE}/v1/vaults", json={"name": "x402"}, headers=auth).json()["id"]  # request 1
    r = requests.put(f"{BASE}/v1/vaults/{vault}/secrets/api-keys/paid", json={"value": "paid-secret-value"}, headers=auth)
    assert r.status_code == 201, r.text  # request 2
    requests.get(f"{BASE}/v1/vaults", headers=auth)  # request 3: the allowance is used up
    STATE.update(auth=auth, url=f"{BASE}/v1/vaults/{vault}/secrets/api-keys/paid")
    client = x402ClientSync()
    register_exact_evm_client(client, EthAccountSigner(Account.create()))
    STATE["client"] = client


def read(headers=None):
    return requests.get(STATE["url"], headers={**STATE["auth"], **(headers or {})})


def required_from(response):
    assert response.status_code == 402, (response.status_code, response.text)
    header = response.headers["PAYMENT-REQUIRED"]
    return json.loads(base64.b64decode(header))


def sign(required_json):
    """The client's payment header for a PaymentRequired (as the x402 client builds it)."""
    payload = STATE["client"].create_payment_payload(PaymentRequired.model_validate(required_json))
    return x402HTTPClientSync(STATE["client"]).encode_payment_signature_header(payload)


def decode_header(headers):
    (name, value), = headers.items()
    return name, json.loads(base64.b64decode(value))


def encode_header(name, payload):
    return {name: base64.b64encode(json.dumps(payload).encode()).decode()}


def refused(headers, reason):
    r = read(headers)
    assert r.status_code == 402, (r.status_code, r.text[:300])
    assert "paid-secret-value" not in r.text
    assert reason in r.json().get("error", ""), (reason, r.json().get("error"))


def a_read_past_the_allowance_answers_402_with_requirements():
    required = required_from(read())
    assert required["x402Version"] == 2
    offer = required["accepts"][0]
    assert (offer["scheme"], offer["network"], offer["amount"]) == ("exact", "eip155:8453", "1000"), offer
    assert offer["payTo"].lower() == PAY_TO.lower() and offer["extra"]["name"] == "USD Coin"
    STATE["required"] = required


def the_official_client_pays_and_gets_the_value():
    session = wrapRequestsWithPayment(requests.Session(), STATE["client"])
    r = session.get(STATE["url"], headers=STATE["auth"])
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.json()["value"] == "paid-secret-value"
    receipt = json.loads(base64.b64decode(r.headers["PAYMENT-RESPONSE"]))
    assert receipt["success"] is True and receipt["transaction"].startswith("0x"), receipt
    assert requests.get(f"{FACILITATOR}/settled").json()["settled"] == 1


def the_same_payment_replayed_is_refused():
    headers = sign(STATE["required"])
    assert read(headers).status_code == 200
    refused(headers, "already used")


def a_tampered_signature_is_refused():
    name, payload = decode_header(sign(STATE["required"]))
    sig = payload["payload"]["signature"]
    payload["payload"]["signature"] = sig[:10] + ("0" if sig[10] != "0" else "1") + sig[11:]
    refused(encode_header(name, payload), "signature")


def the_high_s_twin_of_a_valid_signature_is_refused():
    name, payload = decode_header(sign(STATE["required"]))
    raw = bytes.fromhex(payload["payload"]["signature"][2:])
    s = int.from_bytes(raw[32:64], "big")
    v = raw[64]
    twin = raw[:32] + (N - s).to_bytes(32, "big") + bytes([55 - v if v in (27, 28) else 1 - v])
    payload["payload"]["signature"] = "0x" + twin.hex()
    refused(encode_header(name, payload), "high s")


def a_wrong_recipient_is_refused():
    other = json.loads(json.dumps(STATE["required"]))
    other["accepts"][0]["payTo"] = "0x000000000000000000000000000000000000dEaD"
    refused(sign(other), "invalid_payment_requirements")
    # Or with our requirements claimed, but the authorization to someone else.
    name, payload = decode_header(sign(other))
    payload["accepted"]["payTo"] = STATE["required"]["accepts"][0]["payTo"]
    refused(encode_header(name, payload), "recipient_mismatch")


def a_smaller_amount_is_refused():
    cheaper = json.loads(json.dumps(STATE["required"]))
    cheaper["accepts"][0]["amount"] = "500"
    refused(sign(cheaper), "invalid_payment_requirements")
    name, payload = decode_header(sign(cheaper))
    payload["accepted"]["amount"] = "1000"
    refused(encode_header(name, payload), "value_mismatch")


def an_expired_payment_is_refused():
    short = json.loads(json.dumps(STATE["required"]))
    short["accepts"][0]["maxTimeoutSeconds"] = 2  # the client signs validBefore = now + 2
    name, payload = decode_header(sign(short))
    payload["accepted"]["maxTimeoutSeconds"] = STATE["required"]["accepts"][0]["maxTimeoutSeconds"]
    refused(encode_header(name, payload), "expired")


def one_payment_sent_twice_at_once_serves_one_request():
    headers = sign(STATE["required"])
    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(lambda _: read(headers).status_code, range(2)))
    assert statuses == [200, 402], statuses


def main():
    setup()
    for fn in (a_read_past_the_allowance_answers_402_with_requirements, the_official_client_pays_and_gets_the_value,
               the_same_payment_replayed_is_refused, a_tampered_signature_is_refused,
               the_high_s_twin_of_a_valid_signature_is_refused, a_wrong_recipient_is_refused,
               a_smaller_amount_is_refused, an_expired_payment_is_refused,
               one_payment_sent_twice_at_once_serves_one_request):
        check(fn.__name__.replace("_", " "), fn)
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
