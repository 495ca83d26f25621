#!/usr/bin/env python3
"""A real SMTP server for the mail tests (aiosmtpd, from PyPI): keeps every
accepted mail as a file, signs in one user, and answers as a test asks by
the recipient's local part: `reject…` gets a 550, `later…` a 451 the first
time it is tried. Prints "ready PORT" once it listens on 127.0.0.1."""

import argparse
import os
import sys
import logging
import warnings

warnings.filterwarnings("ignore")
logging.getLogger("mail.log").setLevel(logging.ERROR)
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--dir", required=True)
parser.add_argument("--user", required=True)
parser.add_argument("--password", required=True)
args = parser.parse_args()

seen_later = set()


class Keep:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if local.startswith("later") and address not in seen_later:
            seen_later.add(address)
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}.eml"
        tmp = os.path.join(args.dir, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(args.dir, name))
        return "250 2.0.0 Ok: queued"


def authenticate(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword):
        if auth_data.login.decode() == args.user and auth_data.password.decode() == args.password:
            return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


controller = Controller(
    Keep(),
    hostname="127.0.0.1",
    port=args.port,
    authenticator=authenticate,
    auth_require_tls=False,
    auth_required=True,
)
controller.start()
print(f"ready {args.port}", flush=True)
try:
    sys.stdin.read()  # until the test ends (its end of stdin closes)
finally:
    controller.stop()
