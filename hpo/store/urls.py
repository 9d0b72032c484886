"""Storage URLs as text: the one place where a URL is turned into something printed or recorded.

A password can sit in a URL as ``user:password@host`` or as a query parameter (``?password=``,
``?sslpassword=``, a token, ...), each possibly percent-encoded; SQLAlchemy accepts all of them.
:func:`redact` masks every one; :func:`scrub` removes the same secrets from any other text (a
database driver's error message may quote its connection string).
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

import sqlalchemy.exc
from sqlalchemy.engine import URL, make_url

MASK = "***"
#: Query parameters whose values are secrets (matched anywhere in the name, any case).
SECRET_PARAMETER = re.compile(r"pass|pwd|secret|token|key|auth|cred", re.IGNORECASE)
UNPARSEABLE = "<unparseable storage URL>"


def _parse(url: str | URL) -> URL | None:
    try:
        return url if isinstance(url, URL) else make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError, TypeError):
        return None


def redact(url: str | URL) -> str:
    """``url`` with its password and every secret query parameter replaced by ``***``."""
    parsed = _parse(url)
    if parsed is None:
        return UNPARSEABLE
    query = {key: (MASK if SECRET_PARAMETER.search(key) else value) for key, value in parsed.query.items()}
    shown = parsed.set(query=query).render_as_string(hide_password=True)
    return shown.replace(quote_plus(MASK), MASK).replace(quote(MASK, safe=""), MASK)


def secrets(url: str | URL) -> list[str]:
    """The secret values in ``url`` (password and secret query parameters), raw and as written in it."""
    parsed = _parse(url)
    if parsed is None:
        return []
    values = [parsed.password] if parsed.password else []
    for key, value in parsed.query.items():
        if SECRET_PARAMETER.search(key):
            values += [value] if isinstance(value, str) else list(value)
    found = {str(v) for v in values if v}
    found |= {quote_plus(v) for v in found} | {quote(v, safe="") for v in found}
    return sorted((v for v in found if len(v) >= 3), key=len, reverse=True)  # longest first


def scrub(text: str, url: str | URL) -> str:
    """``text`` with every secret of ``url`` replaced by ``***``."""
    for value in secrets(url):
        text = text.replace(value, MASK)
    return text
