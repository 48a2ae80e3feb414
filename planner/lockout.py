"""Lockout after repeated failed sign-ins, per login and per client, with a growing delay.

A :class:`SignInGuard` counts failed sign-ins in a sliding window. After
``max_failures`` failures for one login (whether or not that user exists, so
the lockout itself reveals no user names), or ``max_client_failures`` from
one client (an address, over any logins), further attempts are refused
without checking the password for ``lock_s`` seconds; each new lockout of
the same login or client doubles the delay, up to ``max_lock_s``. A success
clears the login's count. Every lockout is logged.

One guard serves a whole server process (it is thread-safe): keep it for the
life of the app (``st.cache_resource``) and pass it to
:func:`planner.auth.authenticate`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from planner.errors import InputError, Problem

__all__ = ["SignInGuard"]

logger = logging.getLogger(__name__)


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    lockouts: int = 0


@dataclass
class SignInGuard:
    """Refuse sign-ins for a while after repeated failures.

    Parameters
    ----------
    max_failures
        Failures of one login within ``window_s`` that lock it.
    max_client_failures
        Failures from one client within ``window_s`` that lock the client.
    window_s
        How long a failure counts.
    lock_s
        The first lockout's length; each further one doubles it.
    max_lock_s
        The longest lockout.
    clock
        Seconds from a monotonic clock (for tests).
    """

    max_failures: int = 5
    max_client_failures: int = 20
    window_s: float = 15 * 60.0
    lock_s: float = 30.0
    max_lock_s: float = 15 * 60.0
    clock: Callable[[], float] = time.monotonic
    _records: dict[str, _Record] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        bad = [
            Problem(f"{name} must be above zero", fix="use a positive number")
            for name in ("max_failures", "max_client_failures", "window_s", "lock_s", "max_lock_s")
            if getattr(self, name) <= 0
        ]
        if bad:
            raise InputError("invalid sign-in guard", bad)

    @staticmethod
    def _keys(login: str, client: str | None) -> list[str]:
        keys = [f"login:{login.strip().casefold()}"]
        if client:
            keys.append(f"client:{client}")
        return keys

    def retry_after(self, login: str, client: str | None = None) -> float:
        """Seconds until ``login`` (from ``client``) may try again; 0 when it may now."""
        now = self.clock()
        with self._lock:
            waits = [
                self._records[k].locked_until - now
                for k in self._keys(login, client)
                if k in self._records
            ]
        return max([0.0, *waits])

    def failed(self, login: str, client: str | None = None) -> None:
        """Record a failed sign-in; lock the login or the client when it passes the limit."""
        now = self.clock()
        with self._lock:
            for key in self._keys(login, client):
                record = self._records.setdefault(key, _Record())
                record.failures.append(now)
                while record.failures and record.failures[0] <= now - self.window_s:
                    record.failures.popleft()
                limit = self.max_failures if key.startswith("login:") else self.max_client_failures
                if len(record.failures) >= limit:
                    delay = min(self.max_lock_s, self.lock_s * 2**record.lockouts)
                    record.locked_until = now + delay
                    record.lockouts += 1
                    record.failures.clear()
                    logger.warning(
                        "sign-in locked for %.0f s after %d failures (%s)", delay, limit, key
                    )

    def succeeded(self, login: str) -> None:
        """Forget the failures of ``login`` after a successful sign-in."""
        with self._lock:
            self._records.pop(self._keys(login, None)[0], None)
