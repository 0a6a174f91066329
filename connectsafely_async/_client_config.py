"""The client's settings: defaults, environment names, and the checks of key and base URL.

Both checks run in the constructor, before anything is sent, and never echo what they refuse
whole: a key or a URL with credentials is exactly what an error message must not print.
"""

from __future__ import annotations

import ipaddress
import warnings
from typing import Any, Final
from urllib.parse import urlsplit

from ._errors import ConfigurationError, InsecureTransportWarning
from ._secrets import Secret
from ._urls import describe_url

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "ENV_ACCOUNT_ID",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "UNSET",
    "Unset",
    "check_api_key",
    "check_base_url",
]

DEFAULT_BASE_URL: Final = "https://api.connectsafely.ai"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
ENV_API_KEY: Final = "CONNECTSAFELY_API_KEY"
ENV_BASE_URL: Final = "CONNECTSAFELY_BASE_URL"
ENV_ACCOUNT_ID: Final = "CONNECTSAFELY_ACCOUNT_ID"


class Unset:
    """The "keep this client's value" sentinel of ``with_options`` (``None`` means "off")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()


def check_api_key(key: Secret) -> None:
    # Never echo the key, nor keep it in a local: messages and tracebacks are where keys leak.
    if not key.reveal():
        msg = f"no API key: pass api_key=... or set the {ENV_API_KEY} environment variable"
        raise ConfigurationError(msg)
    if not isinstance(key.reveal(), str):
        msg = f"api_key must be a string, got {type(key.reveal()).__name__}"
        raise TypeError(msg)
    if not _is_header_safe(key.reveal()):
        msg = "the API key contains whitespace or control characters; check how it was copied"
        raise ConfigurationError(msg)


def _is_header_safe(text: str) -> bool:
    return text.isascii() and text.isprintable() and not any(c.isspace() for c in text)


def check_base_url(base_url: Any, *, allow_insecure_http: bool) -> str:
    # The URL is never echoed whole: it may carry credentials, and a refused one is printed.
    if not isinstance(base_url, str):
        msg = f"base_url must be a string, got {type(base_url).__name__}"
        raise TypeError(msg)
    if any(c.isspace() or not c.isprintable() for c in base_url):
        # urlsplit would silently drop a CR, LF or tab; a URL holding one was mangled.
        msg = "base_url contains whitespace or control characters; check how it was set"
        raise ConfigurationError(msg)
    try:
        parts = urlsplit(base_url)
        hostname = parts.hostname
        parts.port  # noqa: B018 (reading it validates it)
    except ValueError:
        msg = "base_url is not a valid URL (check the host and port)"
        raise ConfigurationError(msg) from None
    if parts.scheme not in ("http", "https") or not hostname:
        scheme = parts.scheme if parts.scheme.isalnum() else "?"
        msg = f"base_url must be an http(s) URL with a host (got scheme {scheme!r})"
        raise ConfigurationError(msg)
    # Any "@": a password holding "/" ends urlsplit's authority early ("https://app:2024/
    # pw@host" reads as host "app"), so its username and password miss it.
    if "@" in base_url or parts.query or parts.fragment:
        where = describe_url(base_url, keep_user=False)
        msg = f"base_url {where} must not carry credentials, a query or a fragment"
        raise ConfigurationError(msg)
    if parts.scheme == "http" and not _is_loopback(hostname):
        if not allow_insecure_http:
            msg = (
                f"refusing plain http to {hostname}: the API key would travel unencrypted "
                "(use https, or pass allow_insecure_http=True)"
            )
            raise ConfigurationError(msg)
        warnings.warn(
            f"the API key will be sent unencrypted to {hostname} (plain http)",
            InsecureTransportWarning,
            stacklevel=3,
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
