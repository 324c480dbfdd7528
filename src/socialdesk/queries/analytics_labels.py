"""Names for what the analytics report by id: channels, teams and agents (the filters' choices
and the breakdown's row labels), and the platforms the desk has channels on. Three small
statements, however many rows a breakdown has."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t
from socialdesk.domain.platforms import capabilities_for
from socialdesk.queries.analytics import Dimension

NOBODY = {
    Dimension.PLATFORM: "no platform",
    Dimension.CHANNEL: "no channel",
    Dimension.TEAM: "no team",
    Dimension.AGENT: "unassigned",
    Dimension.INTENT: "no intent",
    Dimension.TAG: "no tag",
}


@dataclass(frozen=True, slots=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class AnalyticsLabels:
    platforms: list[str]
    channels: list[Choice]
    teams: list[Choice]
    agents: list[Choice]

    def labels(self, by: Dimension, keys: Iterable[str]) -> list[str]:
        """How breakdown rows are named: the platform's label, the channel's, team's or agent's
        name (`#id` if it is gone), the intent or tag itself; an empty key says what is missing."""
        named = {
            Dimension.CHANNEL: self.channels,
            Dimension.TEAM: self.teams,
            Dimension.AGENT: self.agents,
        }.get(by, [])
        names = {str(c.id): c.name for c in named}
        found = []
        for key in keys:
            if not key:
                found.append(NOBODY[by])
            elif by is Dimension.PLATFORM:
                found.append(capabilities_for(key).label)
            elif by in (Dimension.INTENT, Dimension.TAG):
                found.append(key)
            else:
                found.append(names.get(key, f"#{key}"))
        return found


def analytics_labels(conn: Connection) -> AnalyticsLabels:
    ch, tm, ag = t.channels.c, t.teams.c, t.agents.c
    channels = conn.execute(select(ch.id, ch.platform, ch.name).order_by(ch.platform, ch.name))
    channel_rows = list(channels)
    return AnalyticsLabels(
        platforms=sorted({platform for _, platform, _ in channel_rows}),
        channels=[
            Choice(i, f"{capabilities_for(p).label} · {name}") for i, p, name in channel_rows
        ],
        teams=[Choice(i, n) for i, n in conn.execute(select(tm.id, tm.name).order_by(tm.name))],
        agents=[
            Choice(i, display or username)
            for i, username, display in conn.execute(
                select(ag.id, ag.username, ag.display_name).order_by(ag.username)
            )
        ],
    )
