"""The ``openai`` backend against a real OpenAI-compatible HTTP server on loopback, with faults."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pandas as pd
import pytest

from synthstruct.errors import InputError
from synthstruct.schema.model import TextColumn
from synthstruct.text.base import TextRequest
from synthstruct.text.column import TextColumnGenerator
from synthstruct.text.openai import OpenAITextGenerator


class _ScriptedServer:
    """A tiny chat-completions server; ``behaviour(n, body)`` decides the n-th answer."""

    def __init__(self, behaviour: Callable[[int, dict[str, Any]], tuple[int, bytes, float]]) -> None:
        self.behaviour = behaviour
        self.calls = 0
        self.bodies: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    n = outer.calls
                    outer.calls += 1
                    outer.bodies.append(body)
                    outer.auth.append(self.headers.get("Authorization"))
                status, payload, delay = outer.behaviour(n, body) if self.path == "/v1/chat/completions" \
                    else (404, b"{}", 0.0)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _answer(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


def _echo(n: int, body: dict[str, Any]) -> tuple[int, bytes, float]:
    last = body["messages"][-1]["content"].splitlines()
    rating = next((line for line in last if line.startswith("Rating:")), "Rating: ?")
    return 200, _answer(f"Answer {n} for {rating}, the fit was comfortable and the colour looked right."), 0.0


@pytest.fixture
def server_factory() -> Iterator[Callable[..., _ScriptedServer]]:
    servers: list[_ScriptedServer] = []

    def make(behaviour: Callable[[int, dict[str, Any]], tuple[int, bytes, float]]) -> _ScriptedServer:
        servers.append(_ScriptedServer(behaviour))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def _request(i: int = 0) -> TextRequest:
    msgs = ({"role": "system", "content": "s"}, {"role": "user", "content": f"Write it.\nRating: {i}\n"})
    return TextRequest(messages=msgs, max_words=30, target_words=20, context={"Rating": str(i)}, seed=i)


def _backend(url: str, **extra: Any) -> OpenAITextGenerator:
    opts = {"base_url": url, "model": "m", "timeout": 1.0, "max_retries": 2, "backoff": 0.01, "concurrency": 3}
    return OpenAITextGenerator(options={**opts, **extra})


def test_answers_in_order_with_key_from_env(server_factory, monkeypatch) -> None:
    monkeypatch.setenv("TEST_LLM_KEY", "k-123")
    srv = server_factory(_echo)
    out = _backend(srv.url, api_key_env="TEST_LLM_KEY").generate([_request(i) for i in range(6)], seed=5)
    assert [o.split(" for ")[1].split(",")[0] for o in out] == [f"Rating: {i}" for i in range(6)]
    assert srv.auth == ["Bearer k-123"] * 6
    assert {b["model"] for b in srv.bodies} == {"m"} and all("seed" in b and b["max_tokens"] > 30 for b in srv.bodies)


def test_steering_words_are_counted_as_not_applied(server_factory) -> None:
    """A server's ``logit_bias`` takes its own tokenizer's ids, so label steering is not sent: the requests are
    counted and answered as unsteered ones."""
    from dataclasses import replace

    srv = server_factory(_echo)
    backend = _backend(srv.url)
    plain = [_request(i) for i in range(3)]
    out = backend.generate([replace(plain[0], steer=(("awful", 3.0),)), *plain[1:]], seed=5)
    assert backend.stats_["steer_not_applied"] == 1 and not any("logit_bias" in b for b in srv.bodies)
    again = _backend(srv.url).generate(plain, seed=5)
    assert [o.split(" for ")[1] for o in out] == [o.split(" for ")[1] for o in again]  # the server numbers its answers


def test_500_and_malformed_json_are_retried(server_factory) -> None:
    def flaky(n: int, body: dict[str, Any]) -> tuple[int, bytes, float]:
        return [(500, b"oops", 0.0), (200, b"{not json", 0.0), (200, _answer(""), 0.0)][n] if n < 3 else _echo(n, body)

    srv = server_factory(flaky)
    backend = _backend(srv.url, concurrency=1, max_retries=3)
    assert backend.generate([_request(1)], seed=0)[0].startswith("Answer 3")
    assert backend.stats_["retries"] == 3 and backend.stats_["error_http_500"] == 1
    assert backend.stats_["error_malformed"] == 1 and backend.stats_["error_empty"] == 1 and backend.stats_["failed"] == 0


def test_slow_answers_time_out_then_count_as_failed(server_factory) -> None:
    srv = server_factory(lambda n, body: (200, _answer("late"), 1.5))
    backend = _backend(srv.url, timeout=0.3, max_retries=1)
    started = time.perf_counter()
    assert backend.generate([_request(0), _request(1)], seed=0) == ["", ""]
    assert time.perf_counter() - started < 3.0
    assert backend.stats_["error_timeout"] == 4 and backend.stats_["failed"] == 2


def test_client_errors_are_not_retried(server_factory) -> None:
    srv = server_factory(lambda n, body: (401, b'{"error": "bad key"}', 0.0))
    backend = _backend(srv.url)
    assert backend.generate([_request(0)], seed=0) == [""]
    assert srv.calls == 1 and backend.stats_["error_http_401"] == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spec(url: str, **backend: Any) -> TextColumn:
    return TextColumn(kind="text", generator="openai", conditioned_on=["Rating"], max_regenerations=1,
                      backend={"base_url": url, "timeout": 0.5, "max_retries": 1, "backoff": 0.01, **backend})


def test_connection_refused_is_reported_without_values() -> None:
    gen = TextColumnGenerator(_spec(f"http://127.0.0.1:{_closed_port()}/v1"), column="Review")
    gen.fit(pd.Series(["secret words of a real customer review text here"] * 5))
    rows = pd.DataFrame({"Rating": [1, 5]})
    with pytest.raises(InputError) as err:
        gen.generate(rows, __import__("numpy").random.default_rng(0))
    assert "columns.Review.backend" in str(err.value) and "secret" not in str(err.value)
    assert "error_connection" in str(err.value)


# Column-level tests: they run the PII scan on generated text (the scanner loads in ~20 s on a
# loaded 2-core machine), so they are marked slow.
@pytest.mark.slow
def test_connection_refused_with_fallback_uses_template() -> None:
    import numpy as np

    gen = TextColumnGenerator(_spec(f"http://127.0.0.1:{_closed_port()}/v1", fallback="template"), column="Review")
    gen.fit(pd.Series(["one two three four five six seven eight nine ten"] * 5))
    out = gen.generate(pd.DataFrame({"Rating": [1, 5]}), np.random.default_rng(0))
    assert gen.stats_["fallback_texts"] == 2 and gen.fallback_used_ == "template"
    assert "Rating: 1" in out[0] and "Rating: 5" in out[1]


@pytest.mark.slow
def test_column_generator_conditions_on_the_row_and_rejects_copies(server_factory) -> None:
    import numpy as np

    real = "the fabric was soft and the colour was exactly like the photo online"

    def copier(n: int, body: dict[str, Any]) -> tuple[int, bytes, float]:
        return (200, _answer(f"Honestly {real}"), 0.0) if n == 0 else _echo(n, body)

    srv = server_factory(copier)
    gen = TextColumnGenerator(_spec(srv.url, concurrency=1), column="Review")
    gen.fit(pd.Series([real, "short one", None]))
    out = gen.generate(pd.DataFrame({"Rating": [4, 2, 5, 1]}), np.random.default_rng(3))
    present = [o for o in out if isinstance(o, str)]
    assert present and all(real not in o for o in present)
    assert gen.stats_["rejected_copied"] == (1 if srv.bodies[0]["messages"] else 0)
    for o, r in zip(out, [4, 2, 5, 1]):
        if isinstance(o, str):
            assert f"Rating: {r}" in o
    assert "the fabric was soft" not in json.dumps(gen.to_state())
