"""Generated passwords, following the password policy (length and character classes)."""

from __future__ import annotations

import secrets
import string

from accesshive.config.policy import PasswordPolicy

_CLASSES = {
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "digit": string.digits,
}


def generate_password(policy: PasswordPolicy) -> str:
    """At least one character of every required class, the rest from all of them."""
    pools = [
        policy.symbols if cls == "symbol" else _CLASSES[cls] for cls in policy.character_classes
    ]
    chars = [secrets.choice(pool) for pool in pools]
    alphabet = "".join(pools)
    chars += [secrets.choice(alphabet) for _ in range(policy.length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)
