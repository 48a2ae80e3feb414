"""Password hashing: Argon2id for new hashes (argon2-cffi), scrypt hashes still verified.

New hashes are Argon2id (:class:`Argon2Params`, RFC 9106's low-memory
profile by default: 64 MiB, 3 passes, 4 lanes) through argon2-cffi's
:class:`argon2.PasswordHasher`, the well-kept reference binding. Hashes
written by earlier versions (``$scrypt$...``, :class:`ScryptParams`) still
verify, and :func:`needs_rehash` flags them so the app re-hashes at the next
sign-in. Every stored hash names its own cost; costs read from a stored hash
are bounded, so a tampered row cannot make a sign-in allocate gigabytes.

:func:`stand_in_hash` gives, for a table of users, a hash of a random
password with the same scheme and cost as the table's own hashes: verifying
it for an unknown login costs what a known login costs, so the answer time
does not tell which logins exist.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import secrets
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from planner.errors import InputError, Problem

__all__ = [
    "DEFAULT_PARAMS",
    "Argon2Params",
    "HashParams",
    "ScryptParams",
    "hash_params",
    "hash_password",
    "needs_rehash",
    "stand_in_hash",
    "verify_password",
]

logger = logging.getLogger(__name__)

_SCRYPT = "scrypt"
_SALT_BYTES = 16
_KEY_BYTES = 32
#: Upper bounds accepted when *reading* a stored hash.
_MAX_LOG2_N = 20
_MAX_R = 32
_MAX_P = 16
_MAX_MEMORY_KIB = 1 << 20  # 1 GiB
_MAX_TIME_COST = 20
_MAX_LANES = 16


@dataclass(frozen=True)
class ScryptParams:
    """Cost parameters of scrypt (hashes of earlier versions; still verified).

    Parameters
    ----------
    log2_n
        Base-2 logarithm of the CPU/memory cost N.
    r
        Block size.
    p
        Parallelisation.
    """

    log2_n: int = 15
    r: int = 8
    p: int = 3

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.log2_n <= _MAX_LOG2_N:
            problems.append(
                Problem(f"log2_n={self.log2_n} is out of range", fix=f"use 1..{_MAX_LOG2_N}")
            )
        if not 1 <= self.r <= _MAX_R:
            problems.append(Problem(f"r={self.r} is out of range", fix=f"use 1..{_MAX_R}"))
        if not 1 <= self.p <= _MAX_P:
            problems.append(Problem(f"p={self.p} is out of range", fix=f"use 1..{_MAX_P}"))
        if problems:
            raise InputError("invalid scrypt parameters", problems)

    @property
    def n(self) -> int:
        """The cost N itself."""
        return 1 << self.log2_n

    @property
    def maxmem(self) -> int:
        """Memory limit handed to OpenSSL, with headroom over the need of 128 r (N + p + 2)."""
        return 2 * 128 * self.r * (self.n + self.p + 2) + (1 << 20)

    @property
    def work(self) -> int:
        """A comparable measure of the cost (memory times passes)."""
        return self.n * self.r * self.p

    def encode(self) -> str:
        """Return the parameter field of a stored hash, e.g. ``ln=15,r=8,p=3``."""
        return f"ln={self.log2_n},r={self.r},p={self.p}"


@dataclass(frozen=True)
class Argon2Params:
    """Cost parameters of Argon2id.

    Parameters
    ----------
    time_cost
        Passes over the memory.
    memory_kib
        Memory, in KiB.
    parallelism
        Lanes.
    """

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.time_cost <= _MAX_TIME_COST:
            problems.append(Problem("time_cost is out of range", fix=f"use 1..{_MAX_TIME_COST}"))
        if not 1 <= self.parallelism <= _MAX_LANES:
            problems.append(Problem("parallelism is out of range", fix=f"use 1..{_MAX_LANES}"))
        if not 8 * self.parallelism <= self.memory_kib <= _MAX_MEMORY_KIB:
            problems.append(
                Problem(
                    "memory_kib is out of range",
                    fix=f"use {8 * self.parallelism}..{_MAX_MEMORY_KIB} KiB",
                )
            )
        if problems:
            raise InputError("invalid Argon2 parameters", problems)

    @property
    def work(self) -> int:
        """A comparable measure of the cost (memory in bytes times passes)."""
        return self.memory_kib * 1024 * self.time_cost

    def hasher(self) -> PasswordHasher:
        """An argon2-cffi hasher with these costs."""
        return PasswordHasher(
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            hash_len=_KEY_BYTES,
            salt_len=_SALT_BYTES,
            type=Type.ID,
        )


HashParams = ScryptParams | Argon2Params

#: Parameters of new hashes.
DEFAULT_PARAMS = Argon2Params()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _password_bytes(password: str) -> bytes:
    """Encode a password after NFC normalisation, so composed and decomposed accents match."""
    return unicodedata.normalize("NFC", password).encode("utf-8")


def _derive(password: str, salt: bytes, params: ScryptParams) -> bytes:
    return hashlib.scrypt(
        _password_bytes(password),
        salt=salt,
        n=params.n,
        r=params.r,
        p=params.p,
        maxmem=params.maxmem,
        dklen=_KEY_BYTES,
    )


def hash_password(
    password: str, *, params: HashParams = DEFAULT_PARAMS, salt: bytes | None = None
) -> str:
    """Return a salted hash of ``password`` for storage.

    Argon2id by default (``$argon2id$v=19$m=65536,t=3,p=4$<salt>$<key>``);
    scrypt (``$scrypt$ln=15,r=8,p=3$<salt>$<key>``) when given
    :class:`ScryptParams`. The hash carries its own parameters and a fresh
    random salt, so hashing the same password twice gives two strings.

    Parameters
    ----------
    password
        The plain-text password; never stored or logged.
    params
        The cost; keep the default outside tests.
    salt
        A fixed salt of at least 8 bytes, only for reproducible files such as
        the bundled samples' demo users; a fresh random salt by default.

    Raises
    ------
    InputError
        If ``salt`` is shorter than 8 bytes.
    """
    if salt is None:
        salt = secrets.token_bytes(_SALT_BYTES)
    elif len(salt) < 8:
        raise InputError(
            "the salt is too short",
            [Problem(f"the salt has {len(salt)} bytes", fix="use at least 8 (16 is the default)")],
        )
    if isinstance(params, Argon2Params):
        return params.hasher().hash(unicodedata.normalize("NFC", password), salt=salt)
    key = _derive(password, salt, params)
    return f"${_SCRYPT}${params.encode()}${_b64(salt)}${_b64(key)}"


def _parse_scrypt(stored: str) -> tuple[ScryptParams, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != _SCRYPT:
        return None
    try:
        fields = dict(item.split("=", 1) for item in parts[2].split(","))
        params = ScryptParams(int(fields["ln"]), int(fields["r"]), int(fields["p"]))
        salt, key = _unb64(parts[3]), _unb64(parts[4])
    except (ValueError, KeyError, InputError):
        return None
    if len(salt) < 8 or len(key) != _KEY_BYTES:
        return None
    return params, salt, key


def hash_params(stored: object) -> HashParams | None:
    """Return the cost a stored hash was made with, or ``None`` if it is malformed or too costly."""
    if not isinstance(stored, str) or not stored:
        return None
    if stored.startswith("$argon2id$"):
        try:
            p = extract_parameters(stored)
            return Argon2Params(p.time_cost, p.memory_cost, p.parallelism)
        except (InvalidHashError, InputError, ValueError):
            return None
    parsed = _parse_scrypt(stored)
    return None if parsed is None else parsed[0]


def verify_password(password: str, stored: str | None) -> bool:
    """Tell whether ``password`` matches the stored hash, comparing in constant time.

    A missing or malformed hash (or one naming a cost beyond the bounds)
    never matches, and is logged without its content.
    """
    params = hash_params(stored)
    if params is None or stored is None:
        if stored:
            logger.warning("a stored password hash is malformed; the sign-in is refused")
        return False
    if isinstance(params, Argon2Params):
        try:
            return params.hasher().verify(stored, unicodedata.normalize("NFC", password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    parsed = _parse_scrypt(stored)
    assert parsed is not None  # hash_params parsed it
    _, salt, key = parsed
    return hmac.compare_digest(_derive(password, salt, params), key)


def needs_rehash(stored: str, *, params: HashParams = DEFAULT_PARAMS) -> bool:
    """Tell whether a stored hash should be replaced at the next sign-in.

    True for a malformed hash, for a hash of another scheme than ``params``
    (every scrypt hash once the default is Argon2id), and for a weaker cost.
    """
    old = hash_params(stored)
    if old is None or type(old) is not type(params):
        return True
    if isinstance(old, Argon2Params) and isinstance(params, Argon2Params):
        return old.memory_kib < params.memory_kib or old.work < params.work
    assert isinstance(old, ScryptParams) and isinstance(params, ScryptParams)
    return old.n * old.r < params.n * params.r or old.work < params.work


@functools.lru_cache(maxsize=8)
def _dummy_hash(params: HashParams) -> str:
    """A hash of a random password at ``params``, verified for unknown logins."""
    return hash_password(secrets.token_urlsafe(16), params=params)


def stand_in_hash(stored_hashes: Iterable[object], *, default: HashParams = DEFAULT_PARAMS) -> str:
    """Return a hash of a random password with the most common cost among ``stored_hashes``.

    Verifying it for an unknown login (or one without a password) does the
    work a real user's hash needs, whatever the cost the table was hashed at.
    """
    costs = Counter(p for p in map(hash_params, stored_hashes) if p is not None)
    params = costs.most_common(1)[0][0] if costs else default
    return _dummy_hash(params)
