"""Small scripted SMTP servers on loopback for the failures aiosmtpd does not play."""

from __future__ import annotations

import socket
import socketserver
import threading

from tests.smtp import free_port


class _Handler(socketserver.StreamRequestHandler):
    def say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        mode = self.server.mode
        if mode == "greeting_421":
            self.say("421 4.3.2 Service not available, closing")
            return
        self.say("220 scripted ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                if mode == "starttls_454":
                    self.wfile.write(b"250-scripted\r\n250 STARTTLS\r\n")
                    self.wfile.flush()
                else:
                    self.say("250 scripted")
            elif verb == "STARTTLS":
                self.say("454 4.7.0 TLS not available due to temporary reason")
            elif verb == "MAIL":
                self.say("250 OK")
            elif verb == "RCPT":
                self.say("550 5.1.1 No such user here" if mode == "rcpt_550" else "250 OK")
            elif verb == "DATA":
                self.say("354 go ahead")
                self._read_data(mode)
                if mode == "drop_in_data":
                    return
            elif verb == "RSET":
                self.say("250 OK")
            elif verb == "QUIT":
                self.say("221 bye")
                return
            else:
                self.say("502 not implemented")

    def _read_data(self, mode: str) -> None:
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if mode == "drop_in_data":
                self.request.shutdown(socket.SHUT_RDWR)
                return
            if line == b".\r\n":
                self.server.accepted += 1
                self.say("250 OK queued")
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ScriptedSmtp:
    """`mode`: greeting_421, rcpt_550, drop_in_data or starttls_454."""

    def __init__(self, mode: str) -> None:
        self.port = free_port()
        self.server = _Server(("127.0.0.1", self.port), _Handler)
        self.server.mode = mode
        self.server.accepted = 0
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def accepted(self) -> int:
        return self.server.accepted

    def start(self) -> ScriptedSmtp:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
