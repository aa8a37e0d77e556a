"""Which estate a stack is: the one rule that settings and the policy pack share.

The stack's name decides. The stack named ``prod`` is production and every other stack (staging, a
developer's own copy) is not; the ``environment`` config key must say the same, and settings refuse a stack
file where it does not (:func:`expected_environment`). The name wins over the config key because it is
the one fact both sides can see and nobody can change in a pull request: it is part of every URN the policy
pack reads, and a stack is renamed only by `pulumi stack rename`, outside the repository. If the config key
decided, one edited line could turn protection off and, with it, the policy rules that check protection.

This module imports nothing heavy: the CrossGuard pack (``policy/``) imports it too.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

PROD_STACK: Final = "prod"
"""The name of the production stack; no other stack is production."""


class Environment(StrEnum):
    """The two kinds of stack. Prod protects state and pages on-call; staging does neither."""

    PROD = "prod"
    STAGING = "staging"


def is_prod_stack(stack: str) -> bool:
    """True for the production stack (by name; see the module docstring for why the name decides)."""
    return stack == PROD_STACK


def expected_environment(stack: str) -> Environment:
    """The environment a stack of this name must declare: prod for ``prod``, staging for every other stack."""
    return Environment.PROD if is_prod_stack(stack) else Environment.STAGING
