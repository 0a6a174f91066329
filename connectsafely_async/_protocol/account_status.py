"""``GET /linkedin/account/status``: the health of one LinkedIn account, free of I/O.

Without an account id the service answers for the most recently used account; with one,
the path is ``/linkedin/account/{accountId}/status``. ``linkedinPlan`` comes only for ready
or warming accounts, and its ``isPremium`` predicts the visitors call's 403 ("LinkedIn
Premium may be required") before any walk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import attrs

from .. import _converters
from .errors import decode_json_object, raise_misfit
from .headers import parse_datetime
from .http import HttpRequest, HttpResponse

__all__ = [
    "ACCOUNT_STATUS_PATH",
    "AccountStatus",
    "LinkedInPlan",
    "build_account_status_request",
    "parse_account_status",
]

ACCOUNT_STATUS_PATH: Final = "/linkedin/account/status"


@attrs.frozen
class LinkedInPlan:
    """What LinkedIn sells the account (``linkedinPlan``; cached 12 hours by the service).

    Attributes:
        premium_type: the service's word for the plan, e.g. ``"NON_PREMIUM"``.
        is_premium: whether the account has LinkedIn Premium.
    """

    premium_type: str | None = None
    is_premium: bool | None = None
    has_sales_navigator: bool | None = None
    has_recruiter: bool | None = None
    has_away_messages: bool | None = None
    has_advertise_badge: bool | None = None
    has_hiring_manager: bool | None = None


@attrs.frozen
class AccountStatus:
    """The health of one LinkedIn account.

    Attributes:
        id: the account id (24 hex digits).
        status: ``"AVAILABLE"`` (ready), ``"IN_USE"`` (busy), ``"ERROR"`` (needs a re-login
            or a captcha: calls against it fail until fixed), or any other word the service
            grows: unknown values pass through.
        last_used: when the account was last used, when the service said in a readable way.
        linkedin_plan: the account's plan (only for ready or warming accounts).
    """

    id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    public_id: str | None = None
    platform: str | None = None
    status: str | None = None
    enabled: bool | None = None
    last_used: datetime | None = None
    has_tokens: bool | None = None
    linkedin_plan: LinkedInPlan | None = None

    @property
    def is_available(self) -> bool:
        """Whether the account is ready for calls (``status`` is ``"AVAILABLE"``)."""
        return self.status == "AVAILABLE"

    @property
    def visitors_allowed(self) -> bool | None:
        """Whether the visitors call will be answered: ``False`` when the plan says the
        account has no Premium (the call would be refused with a 403), ``None`` when the
        service sent no plan to tell by."""
        plan = self.linkedin_plan
        return None if plan is None else plan.is_premium


def build_account_status_request(account_id: str | None = None) -> HttpRequest:
    """The status request of ``account_id`` (``None``: the most recently used account).

    ``account_id`` goes into the path: check it first (24 hex digits).
    """
    if account_id is None:
        return HttpRequest("GET", ACCOUNT_STATUS_PATH)
    return HttpRequest("GET", f"/linkedin/account/{account_id}/status")


def parse_account_status(response: HttpResponse) -> AccountStatus:
    """Turn the status answer into an ``AccountStatus``.

    Raises:
        APIStatusError: a subclass chosen by status, for any non-2xx answer.
        ResponseValidationError: a 2xx that is not an account status.
    """
    data = decode_json_object(response)
    # lastUsed is informative only: a spelling we cannot read is None, never a failure.
    data = {**data, "lastUsed": parse_datetime(data.get("lastUsed"))}
    import cattrs  # with the converter, on first use: not part of the package's import

    try:
        return _converters.converter.structure(data, AccountStatus)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise_misfit("the account status answer", exc, data, response)
