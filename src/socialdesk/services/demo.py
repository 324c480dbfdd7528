"""A seeded demo desk: a fictional mobile operator's care team and two weeks of its traffic.

Everything goes through the real services (intake, replies, notes, tags, assignment, close), so
the demo shows the desk as it is, not a picture of it. The same seed gives the same desk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from socialdesk.domain.agents import Agent, Role
from socialdesk.domain.connectors import SendResult
from socialdesk.domain.errors import InvalidTransition
from socialdesk.domain.messages import Author, MessageKind, NormalisedMessage
from socialdesk.services import conversations as actions
from socialdesk.services.agents import create_agent, create_team
from socialdesk.services.channels import create_channel
from socialdesk.services.delivery import record_sent
from socialdesk.services.intake import IntakePolicy, ingest
from socialdesk.services.playbooks import save_version
from socialdesk.services.ports import (
    Holidays,
    PasswordHasher,
    PlaybookParser,
    SecretBox,
    UnitOfWorkFactory,
)
from socialdesk.services.routing import configure_team
from socialdesk.services.sla import save_calendar, save_policy
from socialdesk.services.templates import create_template

BRAND = "Acme Mobile"
CHANNELS = [
    ("x", "@AcmeMobile", MessageKind.POST),
    ("x", "@AcmeMobileHelp", MessageKind.DM),
    ("facebook", "Acme Mobile", MessageKind.COMMENT),
    ("instagram", "@acmemobile", MessageKind.COMMENT),
    ("email", "support@acmemobile.example", MessageKind.EMAIL),
    ("chat", "acmemobile.example web chat", MessageKind.CHAT),
    ("phone", "+1 555 0100 care line", MessageKind.CALL),
]
TEAMS = ["Care", "Billing", "Escalations"]
AGENTS = [
    ("maria", "Maria Keller", Role.SUPERVISOR, ["Care", "Escalations"]),
    ("sam", "Sam Okafor", Role.AGENT, ["Care"]),
    ("li", "Li Wen", Role.AGENT, ["Care", "Billing"]),
    ("ahmed", "Ahmed Haddad", Role.AGENT, ["Billing"]),
]
FIRST = [
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Jo",
    "Kemal",
    "Lena",
    "Mo",
    "Nia",
    "Omar",
    "Pia",
    "Raj",
    "Sara",
    "Tom",
    "Uma",
]
LAST = [
    "Silva",
    "Novak",
    "Okoye",
    "Berg",
    "Tanaka",
    "Costa",
    "Meyer",
    "Rossi",
    "Khan",
    "Lopez",
    "Dubois",
    "Ivanova",
    "Smith",
    "Park",
]
OPENERS = {
    "outage": [
        "{brand} no signal at all in {city} since this morning, is there an outage?",
        "{brand} my data has been down for 3 hours in {city}. I work from home, this is costing me money",
        "Is anyone else's {brand} network dead in {city}?? Calls drop every 2 minutes",
    ],
    "billing": [
        "{brand} I was charged ${amount} twice this month. Please fix this, account ending {digits}",
        "Why is my bill ${amount} higher than last month? Nobody told me about a price change",
        "{brand} you billed me for roaming while I never left {city}. I want a refund",
    ],
    "order": [
        "{brand} ordered a {device} 9 days ago (order {order}), still no tracking. Where is it?",
        "Still waiting for my SIM card, order {order}. It said 2 days delivery",
        "My new {device} arrived with a cracked screen. Order {order}. What now?",
    ],
    "account": [
        "{brand} locked out of my account after the app update, reset link never arrives",
        "Can't log in to the {brand} app, it says my number is not registered but I've been a customer for 6 years",
    ],
    "question": [
        "{brand} does the unlimited plan include hotspot? Thinking of switching",
        "Hi {brand}, can I keep my number if I move to an eSIM on my {device}?",
        "What are your store opening hours in {city} on Sundays?",
    ],
    "praise": [
        "Shout out to {brand} support, sorted my issue in 5 minutes. Impressed!",
        "Switched to {brand} last month and the 5G in {city} is amazing",
    ],
    "staff": [
        "The agent in your {city} store was incredibly rude to my mother today. Unacceptable, {brand}",
    ],
}
FOLLOW_UPS = [
    "Any update on this?",
    "It's been hours and still nothing.",
    "Thanks, DM sent.",
    "That didn't work, still the same problem.",
    "Ok it works now, thank you!",
]
REPLIES = {
    "outage": "Sorry about this! We're seeing an issue in {city} and engineers are on it. "
    "We'll update you here as soon as it's fixed.",
    "billing": "That's not right, sorry. Please send us a DM with your account number and "
    "we'll check the charges straight away.",
    "order": "Sorry for the wait! Could you DM us your order number and postcode? "
    "We'll chase it with the courier.",
    "account": "Let's get you back in. Please DM us the number on the account and we'll "
    "send a new reset link.",
    "question": "Good question! Yes, it does. Happy to help you switch, just send us a DM.",
    "praise": "Thank you, that made our day! 💙",
    "staff": "We're very sorry to hear this. Please DM us the store and time so we can "
    "look into it with the store manager.",
}
TAGS = {
    "outage": "network",
    "billing": "billing",
    "order": "delivery",
    "account": "login",
    "staff": "complaint",
    "praise": "praise",
    "question": "sales",
}
CITIES = ["Leeds", "Austin", "Lyon", "Porto", "Bristol", "Denver", "Turin"]
DEVICES = ["Pixel 9", "iPhone 16", "Galaxy S25", "Moto G"]


@dataclass(frozen=True, slots=True)
class DemoSummary:
    channels: int
    conversations: int
    messages: int
    agents: int


DEMO_PLAYBOOK = """\
version: 1
description: Acme Mobile's care rules (demo)
rules:
  - name: spam and bots
    when: {spam_p: {gte: 0.85}}
    then: [{suppress: spam}]
    stop: true
  - name: praise needs no answer
    when: {sentiment: positive, needs_response: false, question: false}
    then: [{suppress: praise}, {tag: praise}]
  - name: account data in public
    when: {visibility: public, pii: [card, iban, email, phone]}
    then: [{private: required}, {tag: pii}]
  - name: billing and refunds
    when: {any: [{intent: billing}, {intent: refund_return}, {keywords: [bill, refund, charged]}]}
    then: [{route: Billing}]
  - name: angry VIPs and big accounts
    when:
      all:
        - sentiment: negative
        - any: [{customer_tag: vip}, {followers: {gte: 10000}}, {verified: true}]
    then: [{route: Escalations}, {priority: {add: 20}}, {tag: escalated}, {sla: priority}]
  - name: late answers
    when: {sla_state: breached}
    then: [{tag: late}]
"""


def set_up_rules(
    uow: UnitOfWorkFactory, parse: PlaybookParser, holidays: Holidays, now: datetime
) -> None:
    """The demo's business hours, SLA policies, templates, team skills and its live playbook."""
    save_calendar(
        uow(),
        holidays,
        name="default",
        timezone="Europe/London",
        weekly={"mon-sun": "07:00-23:00"},
        holiday_country="GB",
        holiday_subdivision=None,
        extra_holidays=[],
        now=now,
    )
    for name, targets in (
        ("default", [{"first_response": 60, "next_response": 120, "resolution": 2880}]),
        ("priority", [{"first_response": 15, "next_response": 30, "resolution": 480}]),
    ):
        save_policy(
            uow(),
            name=name,
            targets=targets,
            calendar="default",
            pause_when_pending=True,
            warn_before_minutes=15,
            now=now,
        )
    create_template(
        uow(),
        None,
        "dm_us",
        "Sorry about this, {customer.first_name}! Please DM us so we can check your account.",
        now,
    )
    create_template(
        uow(),
        None,
        "thanks",
        "Thanks {customer.first_name}, glad we could help! {agent.first_name}",
        now,
    )
    with uow() as unit:
        for team in unit.teams.list_all():
            assert team.id is not None
            skills = {
                "Billing": {"intents": ["billing", "refund_return"]},
                "Care": {"languages": ["en"]},
            }.get(team.name)
            configure_team(unit, team.id, skills=skills, mode="least_loaded")
        unit.commit()
    save_version(uow(), parse, None, DEMO_PLAYBOOK, "demo rules", now)


def load_demo(
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    secrets: SecretBox,
    policy: IntakePolicy,
    now: datetime,
    *,
    conversations: int = 320,
    seed: int = 7,
) -> DemoSummary:
    rng = random.Random(seed)
    teams = {name: create_team(uow(), name, now, None).id for name in TEAMS}
    agents: list[Agent] = []
    for username, display, role, member_of in AGENTS:
        agents.append(
            create_agent(
                uow(),
                hasher,
                username=username,
                role=role,
                password=None,
                display_name=display,
                email=f"{username}@acmemobile.example",
                team_names=member_of,
                now=now,
                actor_id=None,
            )
        )
    channels = []
    for platform, name, kind in CHANNELS:
        channel = create_channel(
            uow(), secrets, None, platform, name, {"demo": "true", "poll_seconds": "0"}, now
        )
        assert channel.id is not None
        channels.append((channel.id, platform, kind))
    people = [_person(rng, i) for i in range(conversations * 2 // 3)]

    openings: list[_Opening] = []
    for n in range(conversations):
        channel_id, platform, kind = rng.choice(channels)
        person = rng.choice(people)
        intent = rng.choices(list(OPENERS), weights=[4, 4, 3, 2, 3, 2, 1])[0]
        facts = _facts(rng)
        brand = "@AcmeMobile" if platform == "x" else BRAND
        started = now - timedelta(minutes=rng.randint(5, 14 * 24 * 60))
        first = NormalisedMessage(
            channel_id=channel_id,
            external_id=f"demo-{n}-0",
            text=rng.choice(OPENERS[intent]).format(brand=brand, **facts),
            created_at=started,
            kind=kind,
            author=_author(person, platform),
            subject=f"{intent.title()} question" if platform == "email" else None,
            meta=_call_meta(rng) if platform == "phone" else {},
        )
        openings.append(_Opening(n, first, intent, facts, started))
    results = ingest(uow, [o.first for o in openings], now=now, policy=policy, source="demo")
    cast = _Cast(uow, policy, rng, agents, teams, now)
    messages = len(openings)
    for opening, outcome in zip(openings, results.outcomes, strict=True):
        try:
            messages += cast.play(opening, outcome.conversation_id)
        except InvalidTransition:
            continue  # the customer's other thread joined this conversation and closed it
    return DemoSummary(len(channels), conversations, messages, len(agents))


@dataclass(frozen=True, slots=True)
class _Opening:
    n: int
    first: NormalisedMessage
    intent: str
    facts: dict[str, str]
    started: datetime


@dataclass(frozen=True, slots=True)
class _Cast:
    """The team acting out the demo's history."""

    uow: UnitOfWorkFactory
    policy: IntakePolicy
    rng: random.Random
    agents: list[Agent]
    teams: dict[str, int | None]
    now: datetime

    def play(self, opening: _Opening, conversation_id: int) -> int:
        """What happened next in one conversation: tags, assignment, replies, follow-ups, close."""
        uow, rng, now, intent = self.uow, self.rng, self.now, opening.intent
        added = 0
        agent = rng.choice(self.agents)
        team = "Billing" if intent == "billing" else "Escalations" if intent == "staff" else "Care"
        t = opening.started + timedelta(minutes=rng.randint(2, 20))
        if t >= now:
            return added
        actions.retag(uow(), agent, conversation_id, [TAGS[intent]], [], t)
        if rng.random() < 0.7:
            wanted = actions.Assignment(agent.id, self.teams[team])
            actions.assign(uow(), agent, conversation_id, wanted, t)
        if rng.random() < 0.2:
            mention = rng.choice(self.agents).username
            note = f"Checked the account, looks like a {intent} case. @{mention} FYI"
            actions.add_note(uow(), agent, conversation_id, note, t)
            added += 1
        answered = rng.random() < 0.65
        if answered:
            t += timedelta(minutes=rng.randint(3, 150))
            if t >= now:
                return added
            if opening.first.kind is MessageKind.CALL:
                actions.add_note(uow(), agent, conversation_id, "Called the customer back.", t)
            else:
                draft = actions.ReplyDraft(text=REPLIES[intent].format(**opening.facts))
                sent = actions.reply(uow(), agent, conversation_id, draft, t).message
                assert sent.id is not None
                # History: this reply reached the platform back then.
                record_sent(uow(), sent.id, SendResult(f"demo-reply-{sent.id}"), t)
            added += 1
        if rng.random() < 0.45:
            t += timedelta(minutes=rng.randint(10, 600))
            if t >= now:
                return added
            follow = replace(
                opening.first,
                external_id=f"demo-{opening.n}-1",
                text=rng.choice(FOLLOW_UPS),
                created_at=t,
                in_reply_to=opening.first.external_id,
                subject=None,
                meta={},
            )
            ingest(uow, [follow], now=t, policy=self.policy, source="demo")
            added += 1
        if answered and rng.random() < 0.5:
            t += timedelta(minutes=rng.randint(30, 900))
            if t < now:
                reason = rng.choice(["resolved", "no reply needed", None])
                actions.close(uow(), agent, conversation_id, reason, t)
        elif not answered and rng.random() < 0.1:
            until = now + timedelta(hours=rng.randint(2, 48))
            actions.snooze(uow(), agent, conversation_id, until, now)
        return added


def _person(rng: random.Random, i: int) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "name": f"{first} {last}",
        "handle": f"{first.lower()}{last.lower()[:3]}{i}",
        "email": f"{first.lower()}.{last.lower()}{i}@mail.example",
        "phone": f"+1555{i:07d}",
        "followers": str(int(rng.lognormvariate(5, 1.8))),
        "verified": "1" if rng.random() < 0.03 else "",
        "psid": f"{7000000000 + i}",
    }


def _author(person: dict[str, str], platform: str) -> Author:
    if platform == "email":
        return Author(external_id=person["email"], name=person["name"], email=person["email"])
    if platform == "phone":
        return Author(external_id=person["phone"], name=person["name"])
    if platform == "chat":
        return Author(
            external_id=f"visitor-{person['handle']}", name=person["name"], email=person["email"]
        )
    if platform in ("facebook", "instagram"):
        return Author(
            external_id=f"{platform}-{person['psid']}", name=person["name"], handle=person["handle"]
        )
    return Author(
        external_id=f"x-{person['psid']}",
        handle=person["handle"],
        name=person["name"],
        followers=int(person["followers"]),
        verified=bool(person["verified"]),
    )


def _facts(rng: random.Random) -> dict[str, str]:
    return {
        "city": rng.choice(CITIES),
        "amount": f"{rng.randint(12, 180)}.{rng.randint(0, 99):02d}",
        "digits": f"{rng.randint(1000, 9999)}",
        "order": f"AM-{rng.randint(100000, 999999)}",
        "device": rng.choice(DEVICES),
    }


def _call_meta(rng: random.Random) -> dict[str, object]:
    return {
        "duration_seconds": rng.randint(40, 1500),
        "disposition": rng.choice(["answered", "voicemail", "callback requested"]),
    }
