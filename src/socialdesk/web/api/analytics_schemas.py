"""Response bodies of the analytics API, with the names and definitions of docs/metrics.md.

The field descriptions are the definitions the dashboard shows on hover too, so the API's
documentation (/openapi.json) and the page cannot drift apart. Each model is built from the read
side's DTOs by its `of` method; the CSV downloads flatten these same models.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from socialdesk.domain.handle_time import MIN_REPLIES, HandleSource
from socialdesk.domain.staffing_days import StaffingDay
from socialdesk.queries.analytics import (
    Attainment,
    BreakdownRow,
    Cut,
    Dimension,
    Durations,
    Overview,
    Point,
)
from socialdesk.queries.staffing import PlannedHour, StaffingView

MEDIAN = "median and p90 (nearest rank) in seconds; null when there is none"


class DurationsOut(BaseModel):
    count: int = Field(description="how many times were measured")
    median_seconds: float | None
    p90_seconds: int | None

    @classmethod
    def of(cls, d: Durations) -> DurationsOut:
        return cls(count=d.count, median_seconds=d.median_seconds, p90_seconds=d.p90_seconds)


class AttainmentOut(BaseModel):
    met: int
    total: int
    share: float | None = Field(description="met ÷ total; null when total is 0")

    @classmethod
    def of(cls, a: Attainment) -> AttainmentOut:
        return cls(met=a.met, total=a.total, share=a.share)


class CutOut(BaseModel):
    """The range [start, end) in UTC and the filters the numbers are for."""

    start: datetime
    end: datetime
    tz: str = Field(description="the zone whose local days the range and series follow")
    hours: Literal["calendar", "business"]
    platform: str | None
    channel: int | None
    team: int | None
    agent: int | None
    intent: str | None
    tag: str | None

    @classmethod
    def of(cls, cut: Cut) -> CutOut:
        return cls(
            start=cut.start,
            end=cut.end,
            tz=cut.tz,
            hours="business" if cut.business else "calendar",
            platform=cut.platform,
            channel=cut.channel_id,
            team=cut.team_id,
            agent=cut.agent_id,
            intent=cut.intent,
            tag=cut.tag,
        )


class OverviewOut(BaseModel):
    """Every metric of docs/metrics.md over one range and cut."""

    cut: CutOut
    inbound: int = Field(
        description="customer messages (posts, comments, DMs, e-mails, chats, calls)"
    )
    outbound: int = Field(
        description="replies by agents (or imported as the brand's); not auto-acknowledgements"
    )
    auto_acks: int = Field(description="automatic acknowledgements sent by the playbook")
    negative_share: float | None = Field(
        description="negative customer messages ÷ customer messages"
    )
    by_platform: dict[str, int] = Field(description="customer messages per platform")
    social_share: float | None = Field(
        description="customer messages on x, facebook and instagram ÷ all customer messages "
        "(the rest: e-mail, chat, phone, …)"
    )
    needing_response: int = Field(
        description="customer messages that need a response, not in suppressed conversations"
    )
    responded: int = Field(description="of those, the ones that got a reply")
    suppressed: int = Field(
        description="customer messages that need a response in conversations the playbook "
        "suppressed (counted apart, outside the response rate)"
    )
    response_rate: float | None = Field(description="responded ÷ needing_response")
    first_response: DurationsOut = Field(
        description=f"first reply − start of the customer's wait; {MEDIAN}"
    )
    next_response: DurationsOut = Field(
        description=f"each later reply − start of that wait; {MEDIAN}"
    )
    resolution: DurationsOut = Field(
        description=f"close − first message, per conversation closed in the range; {MEDIAN}"
    )
    first_sla: AttainmentOut = Field(
        description="first responses within their SLA target (business time) ÷ first "
        "responses that had a target"
    )
    next_sla: AttainmentOut = Field(description="the same for next responses")
    sentiment_before: dict[str, int] = Field(
        description="engaged conversations by the sentiment of the customer's last message "
        "before the brand's first reply"
    )
    sentiment_after: dict[str, int] = Field(
        description="the same for the customer's last message after the first reply"
    )
    turned_around: AttainmentOut = Field(
        description="conversations negative before engagement that were neutral or positive "
        "after ÷ negative ones where the customer wrote again"
    )
    positive_after_engagement: int = Field(
        description="positive customer messages written after the brand's first reply"
    )
    csat: AttainmentOut = Field(description="CSAT answers of 4 or 5 ÷ CSAT answers (1–5)")
    csat_mean: float | None = Field(description="the mean CSAT answer")
    nps: float | None = Field(description="% of NPS answers 9–10 − % of answers 0–6 (−100 to 100)")
    nps_answers: int = Field(description="answers to NPS surveys in the range")
    surveys_asked: int = Field(description="surveys sent in the range")
    surveys_answered: int = Field(description="of those, the ones answered")
    survey_response_rate: float | None = Field(description="surveys_answered ÷ surveys_asked")
    reviews: int = Field(description="QA reviews made in the range")
    qa_score: float | None = Field(
        description="the mean review score (0–100, weighted by the rubric)"
    )

    @classmethod
    def of(cls, cut: Cut, o: Overview) -> OverviewOut:
        asked = o.surveys_asked
        return cls(
            cut=CutOut.of(cut),
            inbound=o.inbound,
            outbound=o.outbound,
            auto_acks=o.auto_acks,
            negative_share=o.negative_share,
            by_platform=o.by_platform,
            social_share=o.social_share,
            needing_response=o.needing_response,
            responded=o.responded,
            suppressed=o.suppressed,
            response_rate=o.response_rate,
            first_response=DurationsOut.of(o.first_response),
            next_response=DurationsOut.of(o.next_response),
            resolution=DurationsOut.of(o.resolution),
            first_sla=AttainmentOut.of(o.first_sla),
            next_sla=AttainmentOut.of(o.next_sla),
            sentiment_before=o.sentiment_before,
            sentiment_after=o.sentiment_after,
            turned_around=AttainmentOut.of(o.turned_around),
            positive_after_engagement=o.positive_after_engagement,
            csat=AttainmentOut.of(o.csat),
            csat_mean=o.csat_mean,
            nps=o.nps,
            nps_answers=o.nps_answers,
            surveys_asked=asked,
            surveys_answered=o.surveys_answered,
            survey_response_rate=round(o.surveys_answered / asked, 4) if asked else None,
            reviews=o.reviews,
            qa_score=o.qa_score,
        )


class PointOut(BaseModel):
    start: datetime = Field(description="the bucket's start (UTC)")
    local_start: datetime = Field(description="the same instant in the cut's zone")
    inbound: int
    outbound: int
    negative: int = Field(description="negative customer messages")
    backlog: int = Field(description="conversations open at the bucket's end")

    @classmethod
    def of(cls, p: Point, zone: ZoneInfo) -> PointOut:
        return cls(
            start=p.start,
            local_start=p.start.astimezone(zone),
            inbound=p.inbound,
            outbound=p.outbound,
            negative=p.negative,
            backlog=p.backlog,
        )


class SeriesOut(BaseModel):
    cut: CutOut
    interval: Literal["hour", "day"] = Field(description="hours, or local days of the zone")
    points: list[PointOut]

    @classmethod
    def of(cls, cut: Cut, points: list[Point], *, hourly: bool) -> SeriesOut:
        zone = ZoneInfo(cut.tz)
        return cls(
            cut=CutOut.of(cut),
            interval="hour" if hourly else "day",
            points=[PointOut.of(p, zone) for p in points],
        )


class BreakdownRowOut(BaseModel):
    key: str = Field(description="the platform, id (channel, team, agent), intent or tag; '' none")
    label: str = Field(description="what the key names, for people")
    inbound: int
    outbound: int
    needing_response: int
    responded: int
    response_rate: float | None
    first_response: DurationsOut
    first_sla: AttainmentOut

    @classmethod
    def of(cls, row: BreakdownRow, label: str) -> BreakdownRowOut:
        return cls(
            key=row.key,
            label=label,
            inbound=row.inbound,
            outbound=row.outbound,
            needing_response=row.needing_response,
            responded=row.responded,
            response_rate=row.response_rate,
            first_response=DurationsOut.of(row.first_response),
            first_sla=AttainmentOut.of(row.first_sla),
        )


class BreakdownOut(BaseModel):
    cut: CutOut
    by: Dimension
    rows: list[BreakdownRowOut] = Field(description="largest inbound first")


class StaffingAssumptionsOut(BaseModel):
    """What the plan assumed, and where the handle time came from."""

    tz: str
    weeks: int = Field(description="weeks planned, from the next local midnight")
    history_weeks: int = Field(description="weeks of history the forecast learnt from")
    history_start: datetime
    history_end: datetime
    start: datetime = Field(description="the first planned hour (UTC)")
    handle_seconds: float = Field(description="the handle time the plan used")
    handle_source: HandleSource = Field(
        description=f"given (typed), measured (the median of at least {MIN_REPLIES} replies), "
        "or setting (too few replies: SOCIALDESK_STAFFING_HANDLE_MINUTES)"
    )
    replies_measured: int = Field(description="replies whose work time could be estimated")
    measured_handle_seconds: float | None = Field(
        description="their median work time (docs/staffing.md)"
    )
    concurrency: int = Field(description="conversations an agent works at once")
    target_share: float
    target_seconds: float
    shrinkage: float = Field(description="share of paid time off the queue (breaks, meetings)")
    platform: str | None
    team: int | None


class StaffingHourOut(BaseModel):
    hour_start: datetime = Field(description="UTC")
    local_start: datetime = Field(description="the same instant in the plan's zone")
    expected: float = Field(description="forecast messages needing a response in the hour")
    low: float = Field(description="80 % interval, low end")
    high: float = Field(description="80 % interval, high end")
    basis_weeks: int = Field(description="weeks of history behind it (0: borrowed from others)")
    traffic_erlangs: float
    agents: int = Field(description="agents on the queue to meet the target (Erlang C)")
    agents_scheduled: int = Field(description="agents to schedule, shrinkage included")
    service_level: float = Field(description="share answered within the target with them")
    occupancy: float
    asa_seconds: float = Field(description="average speed of answer")

    @classmethod
    def of(cls, h: PlannedHour) -> StaffingHourOut:
        f, p = h.forecast, h.staffing
        return cls(
            hour_start=f.hour_start,
            local_start=h.local_start,
            expected=round(f.expected, 2),
            low=round(f.low, 2),
            high=round(f.high, 2),
            basis_weeks=f.basis_weeks,
            traffic_erlangs=round(p.traffic_erlangs, 3),
            agents=p.agents,
            agents_scheduled=p.agents_scheduled,
            service_level=round(p.service_level, 4),
            occupancy=round(p.occupancy, 4),
            asa_seconds=round(p.asa_seconds, 1),
        )


class StaffingDayOut(BaseModel):
    day: date = Field(description="a local day of the plan's zone")
    hours: int
    expected_volume: float
    peak_agents: int
    peak_scheduled: int
    agent_hours: int = Field(description="the day's agents on queue, summed over its hours")
    scheduled_hours: int

    @classmethod
    def of(cls, d: StaffingDay) -> StaffingDayOut:
        return cls(
            day=d.day,
            hours=d.hours,
            expected_volume=round(d.expected_volume, 2),
            peak_agents=d.peak_agents,
            peak_scheduled=d.peak_scheduled,
            agent_hours=d.agent_hours,
            scheduled_hours=d.scheduled_hours,
        )


class StaffingOut(BaseModel):
    assumptions: StaffingAssumptionsOut
    hours: list[StaffingHourOut]
    days: list[StaffingDayOut]

    @classmethod
    def of(cls, v: StaffingView) -> StaffingOut:
        ask, handle = v.ask, v.handle
        return cls(
            assumptions=StaffingAssumptionsOut(
                tz=ask.tz,
                weeks=ask.weeks,
                history_weeks=ask.history_weeks,
                history_start=v.history_start,
                history_end=v.history_end,
                start=v.start,
                handle_seconds=round(handle.seconds, 1),
                handle_source=handle.source,
                replies_measured=handle.replies_measured,
                measured_handle_seconds=handle.measured_seconds,
                concurrency=ask.concurrency,
                target_share=ask.target_share,
                target_seconds=ask.target_seconds,
                shrinkage=ask.shrinkage,
                platform=ask.platform,
                team=ask.team_id,
            ),
            hours=[StaffingHourOut.of(h) for h in v.hours],
            days=[StaffingDayOut.of(d) for d in v.days],
        )
