"""TEST DOUBLE of an x402 facilitator's HTTP API (POST /verify, POST /settle).

The real facilitator submits transferWithAuthorization to Base mainnet, which cannot run here.
This one answers as the real one does for a payment it accepts: valid, then settled with a
made-up transaction hash. It counts settlements, which the suite reads from GET /settled.
Usage: python facilitator_double.py PORT
"""

import hashlib
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SETTLED = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer({"settled": len(SETTLED)})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        auth = body["paymentPayload"]["payload"]["authorization"]
        if self.path == "/verify":
            self.answer({"isValid": True, "payer": auth["from"]})
        elif self.path == "/settle":
            SETTLED.append(auth["nonce"])
            tx = "0x" + hashlib.sha256(auth["nonce"].encode()).hexdigest()
            self.answer({"success": True, "transaction": tx, "network": body["paymentRequirements"]["network"],
                         "payer": auth["from"]})
        else:
            self.send_response(404)
            self.end_headers()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
