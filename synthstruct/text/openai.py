"""The ``openai`` backend: any OpenAI-compatible ``/v1/chat/completions`` server.

vLLM, llama.cpp's ``llama-server``, Ollama and hosted APIs all speak this protocol. Options (schema
``backend:`` mapping): ``base_url`` (default ``http://127.0.0.1:8000/v1``), ``model``, ``api_key_env``
(name of the environment variable holding the key; the key itself never goes in a schema),
``timeout`` (seconds per request), ``max_retries``, ``backoff`` (first retry delay, doubled each
time), ``concurrency`` (parallel requests), ``temperature``, ``top_p``.

Timeouts, connection errors, 429 and 5xx answers, malformed JSON and empty answers are retried with
exponential backoff; a request that still fails yields ``""`` and is counted in ``stats_`` (by kind,
never with content), so the column generator can regenerate, fall back or report it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from synthstruct.text.base import TextRequest, option

__all__ = ["OpenAITextGenerator"]

log = logging.getLogger(__name__)

_TOKENS_PER_WORD = 1.6


class _Retryable(Exception):
    """A failure worth retrying; ``kind`` names it in the stats."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class OpenAITextGenerator:
    """Chat completions from an OpenAI-compatible server, with retries and bounded concurrency.

    Args:
        options: Schema ``backend`` options (see the module docstring).
        column: Column name (for messages).
    """

    name = "openai"

    def __init__(self, *, options: dict[str, Any] | None = None, column: str = "") -> None:
        opts = dict(options or {})
        self.column = column
        self.base_url = str(option(opts, "base_url", str, "http://127.0.0.1:8000/v1", column=column)).rstrip("/")
        self.model = option(opts, "model", str, "default", column=column)
        self.api_key_env = option(opts, "api_key_env", str, "OPENAI_API_KEY", column=column)
        self.timeout = option(opts, "timeout", float, 60.0, column=column)
        self.max_retries = option(opts, "max_retries", int, 3, column=column)
        self.backoff = option(opts, "backoff", float, 0.5, column=column)
        self.concurrency = max(option(opts, "concurrency", int, 4, column=column), 1)
        self.temperature = option(opts, "temperature", float, 0.8, column=column)
        self.top_p = option(opts, "top_p", float, 0.95, column=column)
        self._lock = threading.Lock()
        self.stats_: dict[str, int] = {"requests": 0, "retries": 0, "failed": 0}
        #: Set by the text column when the run is resumable (:class:`~synthstruct.text.answer_cache.AnswerCache`).
        self.answer_cache: Any = None

    def _count(self, key: str, by: int = 1) -> None:
        with self._lock:
            self.stats_[key] = self.stats_.get(key, 0) + by

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env or "", "")
        return {"Authorization": f"Bearer {key}"} if key else {}

    def generate(self, requests: Sequence[TextRequest], *, seed: int) -> list[str]:
        """Answers in request order; ``""`` for requests that failed after all retries."""
        import httpx

        if not requests:
            return []
        if any(r.steer for r in requests):  # a server's logit_bias takes its own tokenizer's ids: not applied
            self._count("steer_not_applied", sum(bool(r.steer) for r in requests))
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        with httpx.Client(base_url=self.base_url, timeout=self.timeout, headers=self._headers(),
                          limits=limits) as client:
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                return list(pool.map(lambda r: self._with_retries(client, r, seed), requests))

    def _with_retries(self, client: Any, request: TextRequest, seed: int) -> str:
        cache = self.answer_cache
        key = None
        if cache is not None:
            from synthstruct.text.answer_cache import answer_key

            key = answer_key("openai", self.base_url, self.model, list(request.messages), request.seed,
                             request.max_words, seed, self.temperature, self.top_p)
            saved = cache.get(key)
            if saved is not None:
                return saved[0]
        answer = self._answer(client, request, seed)
        if cache is not None and key is not None and answer:  # failures are retried on resume
            cache.put(key, [answer])
        return answer

    def _answer(self, client: Any, request: TextRequest, seed: int) -> str:
        self._count("requests")
        delay = self.backoff
        for attempt in range(self.max_retries + 1):
            try:
                return self._once(client, request, seed)
            except _Retryable as err:
                self._count(f"error_{err.kind}")
                if attempt == self.max_retries:
                    break
                self._count("retries")
                time.sleep(delay)
                delay *= 2
            except _Fatal as err:
                self._count(f"error_{err.kind}")
                break
        self._count("failed")
        return ""

    def _once(self, client: Any, request: TextRequest, seed: int) -> str:
        import httpx

        payload = {"model": self.model, "messages": list(request.messages), "temperature": self.temperature,
                   "top_p": self.top_p, "seed": int(seed) ^ int(request.seed),
                   "max_tokens": int(request.max_words * _TOKENS_PER_WORD) + 16}
        try:
            resp = client.post("/chat/completions", json=payload)
        except httpx.TimeoutException:
            raise _Retryable("timeout") from None
        except httpx.TransportError:
            raise _Retryable("connection") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise _Retryable(f"http_{resp.status_code}")
        if resp.status_code >= 400:
            raise _Fatal(f"http_{resp.status_code}")
        try:
            content = resp.json()["choices"][0]["message"]["content"]
        except (json.JSONDecodeError, ValueError, KeyError, IndexError, TypeError):
            raise _Retryable("malformed") from None
        if not isinstance(content, str) or not content.strip():
            raise _Retryable("empty")
        return content


class _Fatal(Exception):
    """A failure that retrying cannot fix (4xx other than 429)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind
