"""The calls that follow "who viewed my profile", as the fake serves them: no I/O here.

:class:`FollowUps` holds what those calls change (the actions performed, pending
invitations, the per-account caps and holds) and answers each call with a :class:`Reply`
for a decoded request, at a time ``now`` (seconds since the epoch, from the server's
settable clock). The documented caps, per LinkedIn account:

- profile fetches: 120 unique profiles in any rolling 24 hours (a repeat within the
  service's 6-hour cache is free, unless ``forceRefresh``);
- invitations: 90 a week, the week starting Monday 00:00 UTC; the attempt past the cap
  holds the account's invitations for 24 hours (429 with ``holdUntil``), and every attempt
  during a hold extends it;
- messages: 100 a day (the UTC calendar day).

Every answer of these calls carries its action's ``X-RateLimit-*`` headers (``Action``
``profile``, ``invitation`` or ``message``, with its cap, used, remaining and reset).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Final, Literal

import attrs

from ._data import make_account
from ._visitors import Reply

__all__ = [
    "DAY",
    "INVITATIONS_PER_WEEK",
    "MESSAGES_PER_DAY",
    "PROFILES_PER_DAY",
    "FollowUps",
    "PerformedAction",
]

DAY: Final = 86400.0
WEEK: Final = 7 * DAY
PROFILES_PER_DAY: Final = 120
INVITATIONS_PER_WEEK: Final = 90
MESSAGES_PER_DAY: Final = 100
MAX_NOTE_CHARS: Final = 300
_PROFILE_CACHE: Final = 6 * 3600.0
# 1970-01-01 was a Thursday: the first Monday 00:00 UTC is 4 days later.
_FIRST_MONDAY: Final = 4 * DAY
_ACCOUNT_ID: Final = re.compile(r"[0-9a-fA-F]{24}")
_HELD: Final = "Connection requests blocked for 24 hours (other activities remain unaffected)"

ActionKind = Literal["message", "invitation"]


@attrs.frozen
class PerformedAction:
    """One action the fake performed: what a real account would have sent.

    Attributes:
        account_id: the LinkedIn account it was sent from.
        kind: ``"message"`` or ``"invitation"``.
        recipient: the person's public identifier, however the request named them.
        text: the message, or the invitation's note (``None``: no note).
        at: when it was performed, by the server's clock (aware UTC).
    """

    account_id: str
    kind: ActionKind
    recipient: str
    text: str | None
    at: datetime


@attrs.define
class _Account:
    status: str = "AVAILABLE"
    premium: bool = True
    hold_until: float = -math.inf
    invitations: list[float] = attrs.Factory(list)
    messages: list[float] = attrs.Factory(list)
    # Fetches that counted against the cap: (when, public id).
    fetches: list[tuple[float, str]] = attrs.Factory(list)
    # Public id -> when it was last fetched from LinkedIn (the service's cache).
    cached: dict[str, float] = attrs.Factory(dict)
    invited: set[str] = attrs.Factory(set)


def _iso(seconds: float) -> str:
    when = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def week_start(now: float) -> float:
    """Monday 00:00 UTC of the week holding ``now``."""
    return now - (now - _FIRST_MONDAY) % WEEK


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, {"success": False, "error": message}, headers=dict(headers or {}))


def _zod(path: str, message: str) -> Reply:
    issue = {"code": "invalid_type", "path": [path], "message": message}
    return Reply(400, {"success": False, "error": {"name": "ZodError", "issues": [issue]}})


class FollowUps:
    """The state and the answers of the follow-up calls (see the module docstring).

    Args:
        accounts: the ids of the server's accounts (a live view: accounts added later
            count too).
        default_account_id: the account a request naming none is for.
        find_person: looks a person up by public id or URN in an account's visitors:
            their visitor record, or ``None``.
    """

    def __init__(
        self,
        *,
        accounts: Callable[[], list[str]],
        default_account_id: str,
        find_person: Callable[[str, str], Mapping[str, Any] | None],
    ) -> None:
        self._account_ids = accounts
        self._default = default_account_id
        self._find_in_visitors = find_person
        self._accounts: dict[str, _Account] = {}
        self._people: dict[str, dict[str, Any]] = {}
        self._degrees: dict[tuple[str, str], str] = {}
        #: Every message and invitation performed, in order.
        self.actions: list[PerformedAction] = []
        self._invitation_count = 0

    # -- scripting ---------------------------------------------------------------------------

    def account(self, account_id: str) -> _Account:
        state = self._accounts.get(account_id)
        if state is None:
            state = self._accounts[account_id] = _Account()
        return state

    def is_premium(self, account_id: str) -> bool:
        """Whether the account has Premium (the default), without making it any state."""
        state = self._accounts.get(account_id)
        return state is None or state.premium

    def add_person(self, record: Mapping[str, Any], *, account_id: str | None, degree: str) -> None:
        public_id = record["publicIdentifier"]
        self._people[public_id] = dict(record)
        for account in [account_id] if account_id is not None else self._account_ids():
            self._degrees[(account, public_id)] = degree

    def connect(self, account_id: str, public_id: str) -> None:
        self._degrees[(account_id, public_id)] = "1st"

    # -- the calls -----------------------------------------------------------------------------

    def account_status(self, account_id: str | None, now: float) -> Reply:
        account, problem = self._resolve(account_id, missing="No LinkedIn account found")
        if problem is not None:
            return problem
        state = self.account(account)
        record = make_account(account)
        body: dict[str, Any] = {
            "id": account,
            "firstName": record["firstName"],
            "lastName": record["lastName"],
            "publicId": record["publicId"],
            "platform": "LINKEDIN",
            "status": state.status,
            "enabled": True,
            "lastUsed": _iso(now),
            "hasTokens": True,
        }
        if state.status != "ERROR":  # the plan comes only for ready or warming accounts
            body["linkedinPlan"] = {
                "premiumType": "PREMIUM" if state.premium else "NON_PREMIUM",
                "isPremium": state.premium,
                "hasSalesNavigator": False,
                "hasRecruiter": False,
                "hasAwayMessages": False,
                "hasAdvertiseBadge": False,
                "hasHiringManager": False,
            }
        return Reply(200, body)

    def relationship(self, account_id: str | None, person: str) -> Reply:
        account, problem = self._resolve(
            account_id, missing="LinkedIn account not found or not accessible"
        )
        if problem is not None:
            return problem
        record = self._person(account, person)
        if record is None:
            return _error(404, f"LinkedIn profile not found: {person}")
        public_id = record["publicIdentifier"]
        connected = self._degree(account, public_id) == "1st"
        invited = public_id in self.account(account).invited
        status = "CONNECTED" if connected else "INVITATION_SENT" if invited else "NOT_CONNECTED"
        return Reply(200, {
            "connected": connected,
            "invitationSent": invited,
            "invitationReceived": False,
            "status": status,
            "profileUrn": record.get("entityUrn"),
            "accountId": account,
        })

    def message(self, body: Any, now: float) -> Reply:
        body = body if isinstance(body, dict) else {}
        account, problem = self._resolve(body.get("accountId"), missing="No LinkedIn account found")
        if problem is not None:
            return problem
        person = body.get("recipientProfileUrn") or body.get("recipientProfileId")
        text = body.get("message")
        if not isinstance(person, str) or not person:
            return _zod("recipientProfileId", "Required (or recipientProfileUrn)")
        if not isinstance(text, str) or not text.strip():
            return _zod("message", "Required")
        message_type = body.get("messageType", "normal")
        if message_type not in ("normal", "inmail"):
            return _zod("messageType", "Expected 'normal' | 'inmail'")
        subject = body.get("subject")
        if message_type == "inmail" and not (isinstance(subject, str) and subject.strip()):
            return _zod("subject", "A subject is required for an InMail")
        record = self._person(account, person)
        if record is None:
            return _error(404, "Recipient profile not found")
        state = self.account(account)
        public_id = record["publicIdentifier"]
        if message_type == "normal" and self._degree(account, public_id) != "1st":
            return _error(400, "Cannot message this person: not a 1st-degree connection")
        if message_type == "inmail" and not state.premium:
            return _error(400, "Cannot send an InMail: no Premium InMail credits")
        day = now - now % DAY
        state.messages = [at for at in state.messages if at >= day]
        headers = _limit_headers("message", MESSAGES_PER_DAY, len(state.messages), day + DAY)
        if len(state.messages) >= MESSAGES_PER_DAY:
            headers["Retry-After"] = str(math.ceil(day + DAY - now))
            return _error(429, "Daily message limit reached (100 messages a day)", headers)
        state.messages.append(now)
        self._perform(account, "message", public_id, text, now)
        return Reply(200, {
            "success": True,
            "message": "Message sent successfully",
            "recipientProfileUrn": record.get("entityUrn"),
        }, headers=_limit_headers("message", MESSAGES_PER_DAY, len(state.messages), day + DAY))

    def invitation(self, body: Any, now: float) -> Reply:
        body = body if isinstance(body, dict) else {}
        account, problem = self._resolve(body.get("accountId"), missing="No LinkedIn account found")
        if problem is not None:
            return problem
        person = body.get("profileUrn") or body.get("profileId")
        if not isinstance(person, str) or not person:
            return _error(400, "Missing required fields or already connected")
        note = body.get("customMessage", body.get("message"))
        if note is not None and not isinstance(note, str):
            return _zod("customMessage", "Expected string")
        if note is not None and len(note) > MAX_NOTE_CHARS:
            return Reply(400, {
                "success": False, "code": "validation_error",
                "message": f"customMessage must be at most {MAX_NOTE_CHARS} characters",
            })
        record = self._person(account, person)
        if record is None:
            return _error(404, "Profile not found")
        state = self.account(account)
        monday = week_start(now)
        state.invitations = [at for at in state.invitations if at >= monday]
        headers = _limit_headers(
            "invitation", INVITATIONS_PER_WEEK, len(state.invitations), monday + WEEK
        )
        if now < state.hold_until or len(state.invitations) >= INVITATIONS_PER_WEEK:
            # Past the cap the account is held a day; trying during a hold extends it.
            state.hold_until = now + DAY
            hold = {"success": False, "error": _HELD, "holdUntil": _iso(state.hold_until)}
            return Reply(429, hold, headers=headers)
        public_id = record["publicIdentifier"]
        if self._degree(account, public_id) == "1st" or public_id in state.invited:
            return _error(400, "Missing required fields or already connected", headers)
        state.invitations.append(now)
        state.invited.add(public_id)
        self._perform(account, "invitation", public_id, note or None, now)
        self._invitation_count += 1
        return Reply(200, {
            "success": True,
            "message": "Connection request sent successfully",
            "invitationId": f"inv_{self._invitation_count:06d}",
            "timestamp": _iso(now),
        }, headers=_limit_headers(
            "invitation", INVITATIONS_PER_WEEK, len(state.invitations), monday + WEEK
        ))

    def profile(self, body: Any, now: float) -> Reply:
        body = body if isinstance(body, dict) else {}
        account, problem = self._resolve(body.get("accountId"), missing="No LinkedIn account found")
        if problem is not None:
            return problem
        person = body.get("profileId")
        if not isinstance(person, str) or not person:
            return _error(400, "Missing or invalid profileId")
        record = self._person(account, person)
        if record is None:
            return _error(404, "Profile not found")
        state = self.account(account)
        public_id = record["publicIdentifier"]
        state.fetches = [(at, who) for at, who in state.fetches if at > now - DAY]
        unique = {who for _, who in state.fetches}
        reset = (state.fetches[0][0] if state.fetches else now) + DAY
        cached = now - state.cached.get(public_id, -math.inf) < _PROFILE_CACHE
        if body.get("forceRefresh") is True or not cached:
            if public_id not in unique and len(unique) >= PROFILES_PER_DAY:
                headers = _limit_headers("profile", PROFILES_PER_DAY, len(unique), reset)
                headers["Retry-After"] = str(math.ceil(reset - now))
                return _error(429, "Maximum 120 unique profiles per day", headers)
            state.fetches.append((now, public_id))
            state.cached[public_id] = now
            unique.add(public_id)
        headers = _limit_headers("profile", PROFILES_PER_DAY, len(unique), reset)
        return Reply(200, {"success": True, "profile": self._profile_body(
            account, record, body)}, headers=headers)

    # -- helpers -----------------------------------------------------------------------------

    def _resolve(self, account_id: Any, *, missing: str) -> tuple[str, Reply | None]:
        if account_id is None:
            return self._default, None
        if not isinstance(account_id, str) or not _ACCOUNT_ID.fullmatch(account_id):
            return "", _error(400, "Invalid account ID format")
        if account_id not in self._account_ids():
            return "", _error(404, missing)
        return account_id, None

    def _person(self, account: str, person: str) -> Mapping[str, Any] | None:
        for record in self._people.values():
            if person in (record.get("publicIdentifier"), record.get("entityUrn")):
                return record
        return self._find_in_visitors(account, person)

    def _degree(self, account: str, public_id: str) -> str | None:
        if (account, public_id) in self._degrees:
            return self._degrees[(account, public_id)]
        record = self._find_in_visitors(account, public_id)
        return None if record is None else record.get("connectionDegree")

    def _perform(self, account: str, kind: ActionKind, recipient: str, text: str | None,
                 now: float) -> None:
        at = datetime.fromtimestamp(now, tz=timezone.utc)
        self.actions.append(PerformedAction(account, kind, recipient, text, at))

    def _profile_body(
        self, account: str, record: Mapping[str, Any], body: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = str(record.get("name") or "").split(" ", 1)
        profile: dict[str, Any] = {
            "firstName": record.get("firstName", name[0]),
            "lastName": record.get("lastName", name[1] if len(name) > 1 else ""),
            "headline": record.get("headline"),
            "publicIdentifier": record["publicIdentifier"],
            "entityUrn": record.get("entityUrn"),
            "connectionDegree": self._degree(account, record["publicIdentifier"]),
            "isPremium": False,
            "followerCount": 500,
            "location": {"name": "Lisbon, Portugal"},
        }
        if body.get("includeGeoLocation") is True:
            profile["geoLocation"] = {"city": "Lisbon", "country": "Portugal"}
        if body.get("includeExperience") is True:
            profile["experience"] = [
                {"title": "Engineer", "companyName": "Tiny Startup"},
                {"position": "Intern", "company": "Big Corp"},
            ]
        if body.get("includeContact") is True:
            profile["contact"] = {"email": f"{record['publicIdentifier']}@example.com"}
        return profile


def _limit_headers(action: str, cap: int, used: int, reset: float) -> dict[str, str]:
    return {
        "X-RateLimit-Action": action,
        "X-RateLimit-Limit": str(cap),
        "X-RateLimit-Used": str(used),
        "X-RateLimit-Remaining": str(max(0, cap - used)),
        "X-RateLimit-Reset": _iso(reset),
    }

