"""``CONNECTSAFELY_LOG=debug|info``: turn the SDK's logging on from the environment.

Like ``OPENAI_LOG``: set it, and the ``connectsafely_async`` logger writes to stderr at that
level, with no logging code in the program. ``info`` shows retries and rate-limit pauses;
``debug`` adds one line per request (method, path, offset, status, time, request id). No
record ever carries the API key: the SDK logs no headers and no bodies.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Final

__all__ = ["ENV_LOG", "configure_from_environment"]

ENV_LOG: Final = "CONNECTSAFELY_LOG"
_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO}
_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _EnvironmentHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler this switch installs, recognisable so it is installed once."""


def configure_from_environment() -> None:
    """Read ``CONNECTSAFELY_LOG`` and configure the ``connectsafely_async`` logger.

    Unset or empty: nothing changes (the program's own logging setup rules). An unknown
    value is reported with a warning and otherwise ignored.
    """
    value = os.environ.get(ENV_LOG, "").strip().lower()
    if not value:
        return
    level = _LEVELS.get(value)
    if level is None:
        warnings.warn(
            f"{ENV_LOG}={value!r} is not one of {', '.join(_LEVELS)}; ignored",
            RuntimeWarning, stacklevel=2,
        )
        return
    logger = logging.getLogger("connectsafely_async")
    logger.setLevel(level)
    if not any(isinstance(handler, _EnvironmentHandler) for handler in logger.handlers):
        handler = _EnvironmentHandler()  # stderr
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
