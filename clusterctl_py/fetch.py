"""Fetching release assets, at the I/O edge.

A tagged release asset never changes, so a fetched file is cached on disk
(`$XDG_CACHE_HOME/clusterctl-py`, private to the user): re-runs are fast and
work offline once the assets have been seen.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from clusterctl_py.errors import ClusterctlError


class FetchError(ClusterctlError):
    pass


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clusterctl-py"


def cache_path(url: str) -> Path:
    """Where the fetched text of `url` is kept."""
    return cache_dir() / hashlib.sha256(url.encode()).hexdigest()


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code == 429
    return isinstance(exc, (urllib.error.URLError, TimeoutError, ConnectionError))


def fetch_text(url: str, *, timeout: float = 30.0, retries: int = 5, use_cache: bool = True) -> str:
    """GET `url` as UTF-8 text; retries 5xx/429/network errors, fails at once on other 4xx."""
    cached = cache_path(url)
    if use_cache and cached.is_file():
        return cached.read_text(encoding="utf-8")

    @retry(
        retry=retry_if_exception(_transient),
        stop=stop_after_attempt(retries),
        wait=wait_exponential(multiplier=0.5, max=10),
        reraise=True,
    )
    def get() -> str:
        request = urllib.request.Request(url, headers={"User-Agent": "clusterctl-py"})
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - https release URLs
            return response.read().decode("utf-8")

    try:
        text = get()
    except urllib.error.HTTPError as exc:
        raise FetchError(f"GET {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise FetchError(f"GET {url}: {getattr(exc, 'reason', exc)}") from None
    if use_cache:
        cached.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = cached.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, cached)
    return text
