# A real SMTP server for tests (aiosmtpd): writes each message it receives, decoded, as JSON
# to FOLDER; in "refuse" mode it answers every message 550. Prints "ready" once listening.
#   python smtp-sink.py PORT FOLDER accept|refuse
import email, email.policy, json, os, sys, threading, uuid
from aiosmtpd.controller import Controller
port, folder, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class Handler:
    async def handle_DATA(self, server, session, envelope):
        if mode == "refuse":
            return "550 5.7.1 refused by the test server"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "from": envelope.mail_from, "to": envelope.rcpt_tos, "subject": str(message["subject"]),
            "message_id": str(message["message-id"]),
            "text": text.get_content() if text else "", "html": html.get_content() if html else "",
        }
        name = os.path.join(folder, f"{uuid.uuid4()}.json")
        with open(name + ".tmp", "w") as out:
            json.dump(record, out)
        os.rename(name + ".tmp", name)
        return "250 OK"
controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
threading.Event().wait()
