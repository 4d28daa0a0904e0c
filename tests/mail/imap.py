"""A real IMAP server for the tests: Debian's Dovecot, unprivileged, on a free loopback port."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.smtp import free_port

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "replies@example.com", "imap-secret"

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
protocols = imap
listen = 127.0.0.1
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
  default_fields = uid={user} gid={group} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = {user}
  }}
  unix_listener stats-writer {{
    user = {user}
  }}
}}
"""


class Dovecot:
    """Start with `Dovecot().start()`; `.append(raw)` delivers a message; `.stop()` when done."""

    def __init__(self) -> None:
        if not os.path.exists(DOVECOT):
            raise RuntimeError(f"Dovecot is not installed ({DOVECOT} is missing): run scripts/system-deps.sh")
        self.root = Path(tempfile.mkdtemp(prefix="lf-dovecot-"))
        self.port = free_port()
        # Root hands the server to `nobody`; anyone else runs it as themselves.
        self.as_root = os.geteuid() == 0
        self.user = "nobody" if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self.group = grp.getgrgid(pwd.getpwnam(self.user).pw_gid).gr_name
        self.process: subprocess.Popen | None = None

    def start(self) -> Dovecot:
        for folder in ("run", "state", "mail", "home"):
            (self.root / folder).mkdir()
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        config = self.root / "dovecot.conf"
        config.write_text(CONFIG.format(root=self.root, user=self.user, group=self.group, port=self.port))
        command = [DOVECOT, "-F", "-c", str(config)]
        if self.as_root:
            os.chmod(self.root, 0o755)  # noqa: S103 - dovecot runs as nobody and must reach its files
            shutil.chown(self.root, self.user, self.group)
            for path in self.root.rglob("*"):
                shutil.chown(path, self.user, self.group)
            command = ["setpriv", f"--reuid={self.user}", f"--regid={self.group}", "--clear-groups", *command]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._wait_listening()
        return self

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Dovecot exited: {self.process.stdout.read().decode()} {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"Dovecot did not listen on {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        from imap_tools import MailBoxUnencrypted

        with MailBoxUnencrypted("127.0.0.1", self.port).login(USER, PASSWORD, folder) as box:
            box.append(raw, folder)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
