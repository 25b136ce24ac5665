"""Starting the spec witness (``spec_witness.py``) as a separate process for the tests.

A real process on a loopback port, so the log's client meets an HTTP server it shares no code
with: the witness's keys, state file and port are its own, and ``stop`` / ``start`` make it go
down and come back with the state it persisted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SpecWitness:
    """One witness process: ``url`` to submit to, ``vkey`` its cosignature verifier key."""

    directory: Path
    name: str
    log_vkeys: list[str]
    delay: float = 0.0
    port: int = 0
    vkey: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SpecWitness:
        """Start (or restart, on the same port, key and state) and wait until it listens."""
        self.directory.mkdir(parents=True, exist_ok=True)
        ready = self.directory / "port"
        ready.unlink(missing_ok=True)
        command = [
            sys.executable, "-m", "tests.witness_peer.spec_witness",
            "--listen", f"127.0.0.1:{self.port}", "--name", self.name,
            "--key-file", str(self.directory / "witness.key"),
            "--state", str(self.directory / "state.json"),
            "--ready-file", str(ready), "--delay", str(self.delay),
        ]  # fmt: skip
        for vkey in self.log_vkeys:
            command += ["--log-vkey", vkey]
        with (self.directory / "witness.log").open("ab") as log:  # the child keeps its copy
            self.process = subprocess.Popen(  # noqa: S603 (our own script, fixed arguments)
                command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, env=dict(os.environ)
            )
        assert self.process.stdout is not None
        self.vkey = self.process.stdout.readline().decode().strip()
        self.process.stdout.close()
        deadline = time.monotonic() + 20
        while not ready.exists() or not ready.read_text().strip():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"witness did not start: {(self.directory / 'witness.log').read_text()}"
                )
            time.sleep(0.02)
        self.port = int(ready.read_text().strip())
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def policy_line(self, url: str | None = None) -> str:
        """Its line of a C2SP tlog-policy: ``witness <name> <vkey> <url>``."""
        return f"witness {self.name.replace('/', '-')} {self.vkey} {url or self.url}"
