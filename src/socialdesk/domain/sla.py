"""Response due times. Pure: takes the times it needs; never reads the clock.

The core applies one response target to every waiting customer (first and next response). Business
hours, calendars and per-priority policies refine this in the playbook and SLA work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class ResponseTargets:
    first_response: timedelta = timedelta(hours=1)
    next_response: timedelta = timedelta(hours=1)

    def due(self, waiting_since: datetime | None, answered_before: bool) -> datetime | None:
        """When the brand must have answered a customer waiting since `waiting_since`."""
        if waiting_since is None:
            return None
        target = self.next_response if answered_before else self.first_response
        return waiting_since + target
