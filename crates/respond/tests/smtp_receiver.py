"""An SMTP server for crates/respond/tests/notify_smtp.rs: aiosmtpd on 127.0.0.1 that
requires STARTTLS (with the test's certificate) and AUTH, and writes each message it
accepts to OUT_DIR as msg-N.json (subject, body, envelope, whether TLS and AUTH were used).

Needs the PyPI package aiosmtpd (pip install aiosmtpd).

Usage: python3 smtp_receiver.py PORT CERT_PEM KEY_PEM OUT_DIR USER PASSWORD
Prints "ready" once it listens; runs until killed.
"""

import email
import email.policy
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, out_dir, user, password = sys.argv[1:7]

tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
tls.load_cert_chain(cert, key)


class Handler:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        record = {
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "from": str(message["from"]),
            "body": message.get_content(),
        }
        # Written under a temporary name, then renamed: the test never reads half a file.
        tmp = os.path.join(out_dir, f".msg-{self.count}.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(out_dir, f"msg-{self.count}.json"))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == user.encode()
        and auth_data.password == password.encode()
    )
    return AuthResult(success=ok)


controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=tls,
    require_starttls=True,
    authenticator=authenticator,
    auth_required=True,
)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
