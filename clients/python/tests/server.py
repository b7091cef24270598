"""A real allot server for the client's tests: `allot serve` on a free port
of 127.0.0.1 over a temporary data directory, stopped (SIGTERM, then
SIGKILL by its own pid if it has not exited within 10 s) when the test
ends.

The binary comes from ALLOT_BIN, else the workspace's target directory
(CARGO_TARGET_DIR, else target/) under debug/ or release/."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Dict, List, Optional

REPO = pathlib.Path(__file__).resolve().parents[3]


def allot_binary() -> pathlib.Path:
    """The `allot` server binary to test."""
    explicit = os.environ.get("ALLOT_BIN")
    if explicit:
        return pathlib.Path(explicit)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for profile in ("debug", "release"):
        candidate = target / profile / "allot"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"no allot binary under {target}/debug or release: run `cargo build -p allot-server` or set ALLOT_BIN"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `allot serve` (demo network and stock).

    ``tokens`` maps token secrets to their roles; with any, authentication
    is on."""

    def __init__(self, tokens: Optional[Dict[str, List[str]]] = None):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="allot-python-client-"))
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        command = [
            str(allot_binary()),
            "serve",
            "--listen",
            self.target,
            "--no-metrics",
            "--no-explorer",
            "--decisions-dir",
            str(self.dir / "decisions"),
        ]
        if tokens:
            config = self.dir / "allot.toml"
            blocks = []
            for n, (secret, roles) in enumerate(tokens.items()):
                digest = hashlib.sha256(secret.encode()).hexdigest()
                quoted = ", ".join(f'"{r}"' for r in roles)
                blocks.append(f'[[auth.tokens]]\nname = "token-{n}"\nsha256 = "{digest}"\nroles = [{quoted}]\n')
            config.write_text("\n".join(blocks))
            command += ["--config", str(config)]
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "warn")
        self.log = open(self.dir / "serve.log", "wb")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def log_tail(self) -> str:
        self.log.flush()
        return (self.dir / "serve.log").read_text(errors="replace")[-4000:]

    def wait_ready(self, client, timeout_s: float = 120.0) -> None:
        """Waits until the server answers GetNetwork, or fails with its log."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"allot exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                client.wait_ready(timeout_s=2.0)
                return
            except Exception:
                time.sleep(0.2)
        raise RuntimeError(f"allot not ready after {timeout_s} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
