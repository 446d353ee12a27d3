"""Stopping the development servers the tests start as subprocesses (Synapse, llama.cpp's server)."""
from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen, grace_sec: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `grace_sec`; a no-op once it has exited."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace_sec)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
