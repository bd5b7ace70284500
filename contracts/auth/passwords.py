"""The password policy: long enough, not common, no composition rules (ASVS 5.0 6.2).

"Common" is judged by zxcvbn, which knows the leaked-password lists, English words, names,
keyboard patterns, repeats, sequences and dates. It does not know Norwegian, so the words
Norwegians build passwords from (seasons, months, places, clubs, "passord") and the words
of this product and of the person's own name and address are added as extra dictionary
words: "Sommerferie2026" and "Kontraktsregister1" are refused, four random words pass.
"""

from __future__ import annotations

import re
import secrets
from functools import cache
from importlib import resources

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 200
# zxcvbn refuses longer input; what is left after 72 characters only adds strength.
_ZXCVBN_MAX = 72
# zxcvbn's score 3: more than 10^8 guesses, "safely unguessable" for an online attacker
# even without throttling, and slow to crack offline behind scrypt.
MIN_SCORE = 3

PRODUCT_WORDS = ("kontraktsregister", "kontrakt", "kontrakter", "register", "kommune")


class PasswordProblem(ValueError):
    """Why a password is refused: 'short', 'long' or 'common' (the views word it)."""


@cache
def norwegian_words() -> tuple[str, ...]:
    text = resources.files("contracts.auth").joinpath("data/common_words_nb.txt").read_text()
    return tuple(
        word for line in text.splitlines() if (word := line.strip()) and not word.startswith("#")
    )


def _personal_words(email: str | None, name: str | None) -> list[str]:
    words: list[str] = []
    if email:
        local, _, domain = email.lower().partition("@")
        parts = re.split(r"[._+-]", local)
        words += [local, "".join(parts), *parts, *domain.split(".")]
    if name:
        parts = name.lower().split()
        words += ["".join(parts), *parts]
    return [word for word in words if len(word) >= 3]


def check_password(password: str, *, email: str | None = None, name: str | None = None) -> None:
    """Raise PasswordProblem when the password may not be used."""
    if len(password) < MIN_LENGTH:
        raise PasswordProblem("short")
    if len(password) > MAX_LENGTH:
        raise PasswordProblem("long")
    extra_words = [*PRODUCT_WORDS, *norwegian_words(), *_personal_words(email, name)]
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=extra_words)
    if result["score"] < MIN_SCORE:
        raise PasswordProblem("common")


def generate() -> str:
    """A random password of 16 characters that the policy accepts."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            check_password(password)
        except PasswordProblem:  # a random run that happens to look like a word or pattern
            continue
        return password
