"""The secondary types: what calls hand back for you to read, and the names to annotate it.

The top level (``connectsafely_async``) holds what you build and catch: the two clients,
``Visitor``, ``VisitorsPage``, ``TimeRange``, ``Checkpoint``, the settings objects and the
errors. The rest lives here, as ``openai.types`` does for its client::

    from connectsafely_async.types import AccountVisitors, Walk, WalkStats

    def report(results: dict[str, AccountVisitors]) -> None: ...
"""

from ._blocking_client import SyncIterator, SyncWalk
from ._errors import AttemptedAction, ValidationIssue
from ._many import AccountVisitor, AccountVisitors
from ._models import AppliedFilters, Pagination, RateLimit
from ._pagination import Walk, WalkStats
from ._protocol.account_status import AccountStatus, LinkedInPlan
from ._protocol.accounts import Account
from ._protocol.invitation import SentInvitation
from ._protocol.message import MessageType, SentMessage
from ._protocol.profile import Experience, GeoLocation, Location, Profile
from ._protocol.relationship import Relationship

__all__ = [
    "Account",
    "AccountStatus",
    "AccountVisitor",
    "AccountVisitors",
    "AppliedFilters",
    "AttemptedAction",
    "Experience",
    "GeoLocation",
    "LinkedInPlan",
    "Location",
    "MessageType",
    "Pagination",
    "Profile",
    "RateLimit",
    "Relationship",
    "SentInvitation",
    "SentMessage",
    "SyncIterator",
    "SyncWalk",
    "ValidationIssue",
    "Walk",
    "WalkStats",
]
