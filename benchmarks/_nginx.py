"""A throwaway nginx that answers every chat completion with one fixed body.

Debian's nginx (installed with apt-get if missing), run in the foreground
(``daemon off``) with its own config, pid, logs and temp paths under
``benchmarks/.work/nginx``, listening on 127.0.0.1 only, stopped on exit.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path
from types import TracebackType

from _common import LOOPBACK, free_port, wait_for_port, work_dir

JUDGE_REPLY = '{"score": 0.8, "explanation": "ok"}'
_USAGE = {"prompt_tokens": 42, "completion_tokens": 12, "total_tokens": 54}


def chat_body(content: str, model: str = "bench-model") -> str:
    """A chat.completion whose assistant message is ``content``."""
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": _USAGE,
        }
    )


def tool_call_body() -> str:
    """The reply pydantic-ai's judge agent expects: a ``final_result`` tool call."""
    arguments = json.dumps({"reason": "ok", "pass": True, "score": 0.8})
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "bench-judge",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_bench",
                                "type": "function",
                                "function": {"name": "final_result", "arguments": arguments},
                            }
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": _USAGE,
        }
    )


def _quoted(text: str) -> str:
    """``text`` as an nginx single-quoted string."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ensure_nginx() -> str:
    """Path of the nginx binary; installs Debian's nginx-light if there is none."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "nginx-light"],
        check=True,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    return shutil.which("nginx") or "/usr/sbin/nginx"


#: Debian's echo module (nginx-light ships it): ``echo_sleep`` gives a fixed delay per request.
ECHO_MODULE = "/usr/share/nginx/modules/ngx_http_echo_module.so"


class Nginx:
    """``with Nginx(workers=1) as server: server.base_url``.

    With ``delay`` (seconds), ``{base_url}/slow/v1/chat/completions`` answers the
    same body after ``echo_sleep delay`` (a fixed-latency provider).
    """

    def __init__(self, workers: int = 1, delay: float | None = None) -> None:
        self.workers = workers
        self.delay = delay
        self.port = free_port()
        self.dir = work_dir("nginx")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (OpenAI clients add ``/v1``)."""
        return f"http://{LOOPBACK}:{self.port}"

    def config(self) -> str:
        d = self.dir
        temp = "\n".join(
            f"    {name}_temp_path {d / ('tmp-' + name)};"
            for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        slow = ""
        if self.delay is not None:
            slow = f"""
        location = /slow/v1/chat/completions {{
            default_type application/json;
            echo_read_request_body;
            echo_sleep {self.delay};
            echo {_quoted(chat_body(JUDGE_REPLY))};
        }}"""
        module = f"load_module {ECHO_MODULE};\n" if self.delay is not None else ""
        return f"""# written by benchmarks/_nginx.py
{module}daemon off;
master_process on;
worker_processes {self.workers};
pid {d / "nginx.pid"};
error_log {d / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
{temp}
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {{
        listen {LOOPBACK}:{self.port} backlog=4096;
        location = /v1/chat/completions {{
            default_type application/json;
            return 200 {_quoted(chat_body(JUDGE_REPLY))};
        }}
        location = /pe/v1/chat/completions {{
            default_type application/json;
            return 200 {_quoted(tool_call_body())};
        }}{slow}
        location = /v1/models {{
            default_type application/json;
            return 200 '{{"object": "list", "data": [{{"id": "bench-model", "object": "model"}}]}}';
        }}
    }}
}}
"""

    def __enter__(self) -> Nginx:
        binary = ensure_nginx()
        conf = self.dir / "nginx.conf"
        conf.write_text(self.config())
        self._process = subprocess.Popen(
            [binary, "-p", str(self.dir), "-c", str(conf), "-e", str(self.dir / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_port(self.port)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGQUIT)  # graceful stop of master and workers
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
