#!/usr/bin/env python3
"""A real SMTP server for outdial-notify's tests (aiosmtpd).

Usage: smtp_sink.py PORT OUTDIR

Listens on 127.0.0.1:PORT until killed. Each accepted message is written to OUTDIR as
NNNN.json: {"mail_from", "rcpt_tos", "from", "to", "subject", "body"} with the headers and
the body decoded (RFC 2047 words, transfer encodings). Recipients are refused by address:

- reject@example.com: 550 5.1.1 (permanent: no such mailbox);
- busy@example.com:   451 4.3.0 (transient: try again later).
"""

import email
import email.policy
import json
import os
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        addr = address.lower()
        if addr == "reject@example.com":
            return "550 5.1.1 <reject@example.com>: mailbox unavailable"
        if addr == "busy@example.com":
            return "451 4.3.0 <busy@example.com>: try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "body": msg.get_content(),
        }
        with self.lock:
            self.count += 1
            n = self.count
        tmp = os.path.join(self.outdir, f"{n:04}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp, os.path.join(self.outdir, f"{n:04}.json"))
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    outdir = sys.argv[2]
    controller = Controller(Sink(outdir), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"smtp sink listening on 127.0.0.1:{port}", flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
