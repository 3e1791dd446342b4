"""Who acted, as matching stores it. Token claims are not request fields: a subject or org
longer than its column would be a 500 on PostgreSQL, so they are cut to the column (the subject,
informational) or refused (an org, which is an identity and must not be shortened)."""

from __future__ import annotations

from shared.auth import Principal
from shared.errors import Forbidden

#: The width of every ``*_by`` column (declared_by, recorded_by, posted_by, created_by …).
SUBJECT_LENGTH = 120
#: The width of an organiser's org column (matchmaking events).
ORG_LENGTH = 40


def actor(caller: Principal) -> str:
    """The token subject, cut to the ``*_by`` columns' width."""
    return caller.subject[:SUBJECT_LENGTH]


def org_of(caller: Principal) -> str | None:
    """The token's organisation (upper case), or None; 403 if it cannot be an organisation id."""
    if not caller.org:
        return None
    if len(caller.org) > ORG_LENGTH:
        raise Forbidden(f"the token's org is longer than {ORG_LENGTH} characters: not an "
                        "organisation id", detail_zh="令牌中的单位代码过长，不是有效的单位标识")
    return caller.org.upper()
