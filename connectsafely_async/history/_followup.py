"""From visitor to conversation, exactly once: the follow-up run over a store's events.

For each pending visitor event (new or returning) of one account, a decision: a ``normal``
message to a 1st-degree connection, an invitation with a note to anyone else (anonymous
visitors have no events). Nothing is sent unless asked (``send=True``: otherwise a preview).
Each action is claimed in the ledger before its request and settled after it, with its event
marked followed up in the same transaction (``_ledger``; the follow-up's own mark, so that
``watch`` acknowledging an event does not hide it from the follow-up), so whatever crashes
when:

- a person is never messaged or invited twice by the ledger;
- an action a killed run left unsettled is resolved first: an invitation through the
  relationship call, a message reported unknown (never resent);
- the account's budget (per action, in the store, shared by every run and process) is never
  exceeded: a run that reaches it stops acting and leaves the rest pending for later;
- a 429 that holds an account's invitations (``holdUntil``) holds them in the store too.

Like the sync runner it takes the client's calls, never the client's insides.
"""

from __future__ import annotations

import asyncio
import string
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

import connectsafely_async.history._ledger as ledger

from .._errors import (
    ActionOutcomeUnknownError,
    APIConnectionError,
    APIStatusError,
    ConnectSafelyError,
    RateLimitError,
)
from ._models import SeenVisitor, VisitorEvent
from ._threaded import ThreadedStore

if TYPE_CHECKING:
    from .._client import AsyncConnectSafely

__all__ = ["ActionCaps", "FollowUpItem", "FollowUpPlan", "FollowUpReport", "follow_up"]

#: The fields a template may name, each read from the visitor.
TEMPLATE_FIELDS: Final = ("first_name", "name", "headline", "public_identifier", "visits")
_NOT_INVITING: Final = "not a connection, and this plan does not invite: left for a later run"
MAX_NOTE_CHARS: Final = 300
Outcome = Literal["sent", "would_send", "unknown", "failed", "skipped", "deferred"]


def _positive(_: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{attribute.name} must be a whole number, 0 or more, got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class ActionCaps:
    """The most actions one account may take: the documented caps by default.

    Set them lower for a new account: the vendor advises 10 to 15 messages a day there.

    Args:
        messages_per_day: direct messages per UTC day (documented: 100).
        invitations_per_week: invitations per week from Monday 00:00 UTC (documented: 90;
            past it the account is held for 24 hours).
    """

    messages_per_day: int = attrs.field(default=100, validator=_positive)
    invitations_per_week: int = attrs.field(default=90, validator=_positive)

    def cap(self, kind: ledger.ActionKind) -> int:
        return self.messages_per_day if kind == "message" else self.invitations_per_week


def _template(name: str, *, limit: int | None = None, optional: bool = False) -> Any:
    def check(_: object, __: object, value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str):
            msg = f"{name} must be a string, got {type(value).__name__}"
            raise TypeError(msg)
        if not value.strip():
            msg = f"{name} must not be empty"
            raise ValueError(msg)
        try:
            fields = {field for _, field, _, _ in string.Formatter().parse(value) if field}
        except ValueError as exc:
            msg = f"{name} is not a valid template ({exc})"
            raise ValueError(msg) from None
        unknown = sorted(fields - set(TEMPLATE_FIELDS))
        if unknown:
            msg = (f"{name} names {', '.join('{' + f + '}' for f in unknown)}; a template may "
                   f"name {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}")
            raise ValueError(msg)
        fixed = "".join(text for text, _, _, _ in string.Formatter().parse(value))
        if limit is not None and len(fixed) > limit:
            msg = f"{name} is over {limit} characters before any name is put in"
            raise ValueError(msg)

    return check


@attrs.frozen(kw_only=True)
class FollowUpPlan:
    """What a follow-up run says and how fast it goes.

    Templates are ``str.format`` text naming any of ``{first_name}``, ``{name}``,
    ``{headline}``, ``{public_identifier}`` and ``{visits}``.

    Args:
        message: the message to a 1st-degree connection (``messageType: normal``).
        note: the invitation's note to anyone else, at most 300 characters once filled
            in (``None``: invite without a note).
        invite: invite people who are not connections (``False``: message connections
            only, and leave the others' events for later).
        caps: the account's action budget (see ``ActionCaps``).
        pace: seconds between two actions (the vendor's guides pace them 30 to 60 s).

    Raises:
        TypeError, ValueError: an empty message, a template naming another field, a note
            over 300 characters already without its fields.
    """

    message: str = attrs.field(validator=_template("message"))
    note: str | None = attrs.field(default=None, validator=_template(
        "note", limit=MAX_NOTE_CHARS, optional=True))
    invite: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    caps: ActionCaps = attrs.field(factory=ActionCaps,
                                   validator=attrs.validators.instance_of(ActionCaps))
    pace: float = attrs.field(default=30.0)

    @pace.validator
    def _check_pace(self, _: object, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            msg = f"pace must be a number of seconds, 0 or more, got {value!r}"
            raise ValueError(msg)


@attrs.frozen(kw_only=True)
class FollowUpItem:
    """What a run did (or, in a preview, would do) for one visitor event.

    Attributes:
        visitor: the visitor, as the store knows them.
        action: ``"message"``, ``"invitation"`` or ``None`` (nothing to send).
        text: the message or note, filled in.
        outcome: ``"sent"``; ``"would_send"`` (a preview); ``"unknown"`` (the request may
            have gone out: never resent, check by hand); ``"failed"`` (the service refused
            it: not sent); ``"skipped"`` (nothing to do, see ``reason``); ``"deferred"``
            (the budget or a hold: the event stays pending for a later run).
        reason: why, for anything but ``"sent"``.
    """

    visitor: SeenVisitor
    action: ledger.ActionKind | None
    text: str | None
    outcome: Outcome
    reason: str | None = None


@attrs.frozen(kw_only=True)
class FollowUpReport:
    """One follow-up run of one account: an item per event it looked at, in order."""

    account_id: str
    items: tuple[FollowUpItem, ...] = ()
    sent_before_check: tuple[FollowUpItem, ...] = ()

    def of(self, outcome: Outcome) -> list[FollowUpItem]:
        return [item for item in (*self.sent_before_check, *self.items)
                if item.outcome == outcome]

    @property
    def sent(self) -> list[FollowUpItem]:
        return self.of("sent")

    @property
    def unknown(self) -> list[FollowUpItem]:
        return self.of("unknown")

    @property
    def deferred(self) -> list[FollowUpItem]:
        return self.of("deferred")

    @property
    def skipped(self) -> list[FollowUpItem]:
        return self.of("skipped")

    def counts(self) -> dict[str, int]:
        """How many items of each outcome."""
        counts: dict[str, int] = {}
        for item in (*self.sent_before_check, *self.items):
            counts[item.outcome] = counts.get(item.outcome, 0) + 1
        return counts


def _fields(visitor: SeenVisitor, visits: int) -> Mapping[str, object]:
    name = visitor.visitor.name or ""
    return {"first_name": name.split(" ", 1)[0], "name": name,
            "headline": visitor.visitor.headline or "",
            "public_identifier": visitor.visitor.public_identifier or "", "visits": visits}


def _decide(
    plan: FollowUpPlan, event: VisitorEvent
) -> tuple[ledger.ActionKind | None, str | None, str | None]:
    """The action, its filled-in text, or why there is none (pure)."""
    seen = event.visitor
    fields = _fields(seen, event.visits)
    if seen.visitor.connection_degree == "1st":
        return "message", plan.message.format_map(fields), None
    if not plan.invite:
        return "invitation", None, _NOT_INVITING
    note = None if plan.note is None else plan.note.format_map(fields)
    if note is not None and len(note) > MAX_NOTE_CHARS:
        return None, None, f"the note would be {len(note)} characters, over 300"
    return "invitation", note or "", None


def _recipient(seen: SeenVisitor) -> str | None:
    return seen.visitor.entity_urn or seen.visitor.public_identifier


async def follow_up(
    client: AsyncConnectSafely,
    store: ThreadedStore,
    plan: FollowUpPlan,
    *,
    account_id: str,
    send: bool,
    clock: Callable[[], float] | None = None,
) -> FollowUpReport:
    """Act once on each pending visitor event of ``account_id`` (see the module).

    Raises:
        ConnectSafelyError: the account cannot act (unknown, in ``ERROR``), or the store
            failed; nothing was sent after it.
        StoreLockedError: another run follows up this account.
    """
    now = clock or time.time
    status = await client.get_account_status(account_id)
    if status.status == "ERROR":
        msg = f"account {account_id} needs attention (status ERROR): fix it before acting"
        raise ConnectSafelyError(msg)
    await store._lock("followup", account_id)
    try:
        resolved = await _resolve_interrupted(client, store, account_id) if send else ()
        events = await store._call(ledger.unfollowed, account_id, 100_000)
        items = await _act(client, store, plan, account_id, events, send=send, now=now)
    finally:
        await store._unlock("followup", account_id)
    return FollowUpReport(account_id=account_id, items=tuple(items),
                          sent_before_check=tuple(resolved))


async def _resolve_interrupted(
    client: AsyncConnectSafely, store: ThreadedStore, account_id: str
) -> list[FollowUpItem]:
    """Settle what a killed run claimed and never settled, before anything new is sent."""
    items = []
    events = {e.id: e for e in await store._call(ledger.unfollowed, account_id, 100_000)}
    for action_id, _key, kind, recipient, event_id in await store._call(
            ledger.interrupted, account_id):
        event = events.get(event_id)
        public_id = event.visitor.visitor.public_identifier if event is not None else None
        if kind == "invitation" and public_id:
            try:
                relationship = await client.get_relationship(public_id, account_id=account_id)
            except ConnectSafelyError as error:
                await store._call(ledger.settle, action_id, "unknown",
                                  f"interrupted; the check failed: {error}", event_id)
                outcome: Outcome = "unknown"
            else:
                if not relationship.invited_or_connected:
                    # It never went out (the run died before the request): decide afresh.
                    await store._call(ledger.release, action_id)
                    continue
                await store._call(ledger.settle, action_id, "sent",
                                  "interrupted; the relationship shows it was sent", event_id)
                outcome = "sent"
        else:
            await store._call(ledger.settle, action_id, "unknown",
                              "interrupted after it may have been sent; not resent", event_id)
            outcome = "unknown"
        if event is not None:
            items.append(FollowUpItem(visitor=event.visitor, action=kind, text=None,
                                      outcome=outcome,
                                      reason=None if outcome == "sent" else
                                      f"a run stopped while sending to {recipient}"))
    return items


async def _act(
    client: AsyncConnectSafely, store: ThreadedStore, plan: FollowUpPlan, account_id: str,
    events: list[VisitorEvent], *, send: bool, now: Callable[[], float],
) -> list[FollowUpItem]:
    items: list[FollowUpItem] = []
    stopped: dict[str, str] = {}  # action kind -> why no more of them go out this run
    room: dict[str, tuple[int, str]] = {}  # a preview: what the budget allows, and why not
    acted = False
    for event in events:
        seen = event.visitor
        kind, text, reason = _decide(plan, event)
        recipient = _recipient(seen)
        if reason == _NOT_INVITING:  # the event stays for a plan that invites
            items.append(FollowUpItem(visitor=seen, action=None, text=None, outcome="deferred",
                                      reason=reason))
            continue
        if kind is None or recipient is None or text is None:
            items.append(FollowUpItem(visitor=seen, action=None, text=None, outcome="skipped",
                                      reason=reason or "no identifier to reach them by"))
            if send:
                await store._call(ledger.ack_event, event.id)
            continue
        if kind in stopped:
            items.append(FollowUpItem(visitor=seen, action=kind, text=text, outcome="deferred",
                                      reason=stopped[kind]))
            continue
        if not send:
            if kind not in room:
                room[kind] = await _room(store, plan, account_id, kind, now())
            left, why = room[kind]
            if left <= 0:
                stopped[kind] = why
                items.append(FollowUpItem(visitor=seen, action=kind, text=text,
                                          outcome="deferred", reason=why))
                continue
            room[kind] = (left - 1, why)
            items.append(FollowUpItem(visitor=seen, action=kind, text=text, outcome="would_send",
                                      reason="a preview: pass send=True (--send) to send"))
            continue
        claimed = await store._call(ledger.claim, account_id, seen.key, kind,
                                    recipient, text, event.id, now(), plan.caps.cap(kind))
        if claimed == "contacted":  # another run settled this person meanwhile
            await store._call(ledger.ack_event, event.id)
            items.append(FollowUpItem(visitor=seen, action=None, text=None, outcome="skipped",
                                      reason="contacted before: never twice"))
            continue
        if isinstance(claimed, str):
            stopped[kind] = (f"the service holds this account's {kind}s for now"
                             if claimed == "held" else f"the {kind} budget is spent for now")
            items.append(FollowUpItem(visitor=seen, action=kind, text=text, outcome="deferred",
                                      reason=stopped[kind]))
            continue
        if acted and plan.pace:
            await asyncio.sleep(plan.pace)
        acted = True
        item, stop = await _send(client, store, account_id, claimed, event, kind, text,
                                 recipient)
        items.append(item)
        if stop is not None:
            stopped[kind] = stop
    return items


async def _room(
    store: ThreadedStore, plan: FollowUpPlan, account_id: str, kind: ledger.ActionKind,
    now: float,
) -> tuple[int, str]:
    """How many more actions of ``kind`` the budget allows now, and why not more (read once
    per run of a preview, which claims nothing)."""
    if await store._call(ledger.held_until, account_id, kind, now) is not None:
        return 0, f"the service holds this account's {kind}s for now"
    spent = await store._call(ledger.used, account_id, kind, now)
    return max(0, plan.caps.cap(kind) - spent), f"the {kind} budget is spent for now"


async def _send(
    client: AsyncConnectSafely, store: ThreadedStore, account_id: str, action_id: int,
    event: VisitorEvent, kind: ledger.ActionKind, text: str, recipient: str,
) -> tuple[FollowUpItem, str | None]:
    """Send one claimed action and settle it; the item, and why to stop this kind if so."""
    seen = event.visitor
    call = store._call
    try:
        if kind == "message":
            result: Any = await client.send_message(recipient, text, account_id=account_id)
        else:
            result = await client.send_invitation(
                recipient, note=text or None, account_id=account_id,
                public_id=seen.visitor.public_identifier)
    except ActionOutcomeUnknownError as error:
        await call(ledger.settle, action_id, "unknown", str(error), event.id)
        return FollowUpItem(visitor=seen, action=kind, text=text, outcome="unknown",
                            reason=str(error)), None
    except RateLimitError as error:
        await call(ledger.release, action_id)
        if error.hold_until is not None:
            await call(ledger.hold, account_id, kind, error.hold_until.timestamp())
        why = f"the service said to wait ({error})"
        return FollowUpItem(visitor=seen, action=kind, text=text, outcome="deferred",
                            reason=why), why
    except (APIConnectionError, ConnectSafelyError) as error:
        if isinstance(error, APIStatusError) and 400 <= error.status_code < 500:
            # Refused for good (already connected, cannot message them): not sent, not again.
            await call(ledger.settle, action_id, "failed", str(error), event.id)
            return FollowUpItem(visitor=seen, action=kind, text=text, outcome="failed",
                                reason=str(error)), None
        await call(ledger.release, action_id)  # provably not sent: try again another run
        why = f"not sent ({error}); left for the next run"
        return FollowUpItem(visitor=seen, action=kind, text=text, outcome="deferred",
                            reason=why), why
    await call(ledger.settle, action_id, "sent", None, event.id)
    limit = getattr(result, "rate_limit", None)
    stop = None
    if limit is not None and limit.remaining is not None and limit.remaining <= 0:
        # What the service says is left beats our count: none until its reset, for every
        # run and process sharing the store.
        stop = f"the service says no {kind} is left for now"
        if limit.reset_at is not None:
            await call(ledger.hold, account_id, kind, limit.reset_at.timestamp())
    return FollowUpItem(visitor=seen, action=kind, text=text, outcome="sent"), stop
