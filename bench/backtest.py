"""Backtest benchmark: a realistic 18-rule telecom playbook (and the live playbook it would replace)
replayed over 1,000,000 seeded synthetic messages. Prints one JSON document.

Measures evaluation only — reading history from the database is measured elsewhere. Messages are
generated lazily in chunks so memory stays flat; the time spent generating is clocked apart and
taken out of the backtest's time, and reported on its own.

    python bench/backtest.py [--messages 1000000] [--seed 7] [--no-live]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from socialdesk.adapters.playbooks import parse_playbook
from socialdesk.domain.backtest import HistoricalMessage, backtest
from socialdesk.domain.playbook import Evaluation, Facts

CANDIDATE = """
version: 1
targets:
  pr: {webhook: https://hooks.example/pr, email: [pr@telco.example]}
  legal: {email: [legal@telco.example]}
  marketing: {webhook: https://hooks.example/marketing}
rules:
  - name: spam and bots
    when: {any: [{spam_p: {gte: 0.85}}, {regex: "(free|win) .*(iphone|gift ?card)"}]}
    then: [{suppress: spam}]
    stop: true
  - name: praise needs no answer
    when: {sentiment: positive, needs_response: false, question: false, pii: false}
    then: [{suppress: praise}, {tag: praise}]
  - name: competitor listening
    when: {listening_query: competitors}
    then: [{route: Marketing}, {tag: competitor}, {suppress: listening only}]
    stop: true
  - name: card or bank details in public
    when: {visibility: public, pii: [card, iban]}
    then: [{private: required}, {priority: {add: 30}}, {tag: pii-public}]
  - name: other personal data in public
    when: {visibility: public, pii: [email, phone, address, order_number]}
    then: [{private: suggested}, {tag: pii}]
  - name: billing
    when: {any: [{intent: billing}, {keywords: [bill, invoice, overcharged, "direct debit"]}]}
    then: [{route: Billing}, {sla: standard}]
  - name: refunds
    when: {any: [{intent: refund_return}, {keywords: [refund, money back, compensation]}]}
    then: [{route: Billing}, {tag: refund}]
  - name: outages
    when:
      any:
        - intent: technical_problem
        - keywords: [outage, no signal, "no service", down, "5g", broadband, wifi]
    then: [{route: Network}, {priority: {add: 10}}]
  - name: account access
    when: {intent: account_access}
    then: [{route: Accounts}]
  - name: moving house
    when: {keywords: [moving house, new address, relocate]}
    then: [{route: Accounts}, {tag: moving}]
  - name: legal threats
    when: {keywords: [lawyer, solicitor, ombudsman, ofcom, sue, court]}
    then: [{notify: legal}, {priority: 90}, {route: Escalations}]
  - name: VIP customers
    when: {customer_tag: [vip, business-gold]}
    then: [{sla: vip}, {priority: {add: 20}}, {tag: vip}]
  - name: high-reach complaint
    when:
      all:
        - sentiment: negative
        - visibility: public
        - any: [{followers: {gte: 50000}}, {verified: true}]
    then: [{route: Escalations}, {notify: pr}, {priority: {add: 25}}]
  - name: angry follow-up
    when: {follow_up: true, sentiment: negative, needs_response_p: {gte: 0.7}}
    then: [{priority: {add: 15}}, {tag: chaser}]
  - name: email is slower
    when: {platform: email}
    then: [{sla: email}]
  - name: out of hours acknowledgement
    when: {business_hours: false, first_message: true, visibility: private, needs_response: true}
    then: [{auto_ack: ack_out_of_hours}]
  - name: spanish speakers
    when: {language: es}
    then: [{route: Spanish}, {tag: es}]
  - name: urgent stays urgent
    when: {priority: {gte: 85}, not: {platform: email}}
    then: [{sla: urgent}]
"""

# The live playbook: what the candidate replaces (no PII moves, refunds with Accounts, no
# high-reach escalation, a blunter spam threshold).
LIVE = """
version: 1
targets:
  legal: {email: [legal@telco.example]}
rules:
  - name: spam
    when: {spam_p: {gte: 0.95}}
    then: [{suppress: spam}]
    stop: true
  - name: billing
    when: {keywords: [bill, invoice]}
    then: [{route: Billing}]
  - name: refunds
    when: {keywords: [refund]}
    then: [{route: Accounts}]
  - name: outages
    when: {intent: technical_problem}
    then: [{route: Network}]
  - name: legal threats
    when: {keywords: [lawyer, ombudsman]}
    then: [{notify: legal}, {priority: 90}]
  - name: VIP customers
    when: {customer_tag: vip}
    then: [{sla: vip}]
  - name: out of hours
    when: {business_hours: false}
    then: [{auto_ack: ack_out_of_hours}]
"""

SLA_MINUTES = {"urgent": 15.0, "vip": 30.0, "standard": 60.0, "email": 480.0}

OPENERS = [
    "hi @telco",
    "@telco",
    "hello,",
    "dear telco team,",
    "",
    "yo",
    "@telco_help",
    "good morning",
]
BODIES = [
    ("my bill is wrong again this month, overcharged by 20 quid", "billing", "negative"),
    ("why is there a second direct debit on my account?", "billing", "negative"),
    ("can I get a refund for the days without service", "refund_return", "negative"),
    ("still waiting on my money back after cancelling", "refund_return", "negative"),
    (
        "no signal in the whole of the city centre since this morning",
        "technical_problem",
        "negative",
    ),
    ("broadband keeps dropping every evening, is there an outage", "technical_problem", "negative"),
    ("my 5g is slower than 3g lol", "technical_problem", "negative"),
    ("can't log in to the app, password reset never arrives", "account_access", "negative"),
    (
        "I'm moving house next week, how do I move my broadband to the new address",
        "other",
        "neutral",
    ),
    ("when does the new iPhone come out on your network?", "product_question", "neutral"),
    ("what roaming plans do you have for Spain?", "product_question", "neutral"),
    ("thanks for sorting my issue so fast, great service!", "praise", "positive"),
    ("love the new coverage in my village", "praise", "positive"),
    ("I will be speaking to my lawyer about this contract", "complaint_about_staff", "negative"),
    ("going to the ombudsman if this isn't fixed", "complaint_about_staff", "negative"),
    ("the agent in the store was rude to my mother", "complaint_about_staff", "negative"),
    ("WIN a FREE iPhone click here for your gift card", "other", "neutral"),
    ("ok", "other", "neutral"),
    ("hola, no tengo señal desde ayer", "technical_problem", "negative"),
    ("my card number is 4111 1111 1111 1111 please take the payment", "billing", "neutral"),
    ("switching to a competitor, their 5g is better", "other", "negative"),
    ("is anyone else's wifi down?", "technical_problem", "negative"),
]
PLATFORMS = [
    ("x", "public", "post", 0.34),
    ("x", "private", "dm", 0.12),
    ("facebook", "public", "comment", 0.14),
    ("facebook", "private", "dm", 0.08),
    ("instagram", "public", "comment", 0.08),
    ("email", "private", "email", 0.16),
    ("chat", "private", "chat", 0.08),
]
TEAMS = ["Billing", "Network", "Accounts", "General", None]


def messages(count: int, seed: int, clock: list[float]) -> Iterator[HistoricalMessage]:
    """Seeded synthetic history, made in chunks; the wall and CPU time spent making them is added
    to clock[0] and clock[1]."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    pii_kinds = [frozenset(), frozenset({"email"}), frozenset({"phone"}), frozenset({"card"})]
    no_tags: frozenset[str] = frozenset()
    tag_sets = [no_tags, frozenset({"vip"}), frozenset({"business-gold"})]
    channels = {p: (i + 1, f"Telco {p}") for i, (p, *_rest) in enumerate(PLATFORMS)}
    weights = [w for *_rest, w in PLATFORMS]
    chunk = 50_000
    made = 0
    while made < count:
        began, began_cpu = time.perf_counter(), time.process_time()
        batch: list[HistoricalMessage] = []
        for _ in range(min(chunk, count - made)):
            plat, visibility, kind, _w = rng.choices(PLATFORMS, weights)[0]
            body, intent, sentiment = rng.choice(BODIES)
            text = f"{rng.choice(OPENERS)} {body}"
            spam = rng.random() ** 6
            first = rng.random() < 0.6
            pii = pii_kinds[0] if rng.random() < 0.93 else rng.choice(pii_kinds[1:])
            if "4111" in body:
                pii = pii_kinds[3]
            channel_id, channel_name = channels[plat]
            created = start + timedelta(seconds=rng.randrange(0, 31 * 86400))
            facts = Facts(
                platform=plat,
                channel_id=channel_id,
                channel_name=channel_name,
                visibility=visibility,
                kind=kind,
                text=text,
                created_at=created,
                sentiment=sentiment if rng.random() < 0.85 else "neutral",
                needs_response=sentiment != "positive" and rng.random() < 0.9,
                needs_response_p=rng.random(),
                intent=intent if rng.random() < 0.8 else "other",
                language="es" if "hola" in body else "en",
                pii=pii,
                spam_p=spam,
                priority=rng.randrange(0, 101),
                question="?" in text,
                followers=int(rng.lognormvariate(5.5, 2.2)) if visibility == "public" else None,
                verified=rng.random() < 0.01,
                customer_tags=tag_sets[0] if rng.random() < 0.96 else rng.choice(tag_sets[1:]),
                business_hours=8 <= created.hour < 20,
                listening_query="competitors" if rng.random() < 0.05 else None,
                first_message=first,
                message_id=made,
                conversation_id=made // 2,
            )
            answered = rng.random() < 0.9
            minutes = rng.expovariate(1 / 70.0) if first and answered else None
            batch.append(HistoricalMessage(facts, rng.choice(TEAMS), minutes))
            made += 1
        clock[0] += time.perf_counter() - began
        clock[1] += time.process_time() - began_cpu
        yield from batch


def sla_minutes(facts: Facts, evaluation: Evaluation) -> float | None:
    """What a caller would compute from its SLA policies: the policy's target, 30 minutes at most
    for priority 80 and above; no target for listening posts."""
    if facts.listening_query is not None:
        return None
    target = SLA_MINUTES[evaluation.sla_policy or "standard"]
    if evaluation.priority is not None and evaluation.priority >= 80:
        target = min(target, 30.0)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-live", action="store_true", help="evaluate the candidate only")
    args = parser.parse_args()

    began = time.perf_counter()
    candidate = parse_playbook(CANDIDATE, "candidate.yaml")
    live = None if args.no_live else parse_playbook(LIVE, "live.yaml")
    parse_s = time.perf_counter() - began

    generation = [0.0, 0.0]
    ticks: list[int] = []
    began, began_cpu = time.perf_counter(), time.process_time()
    report = backtest(
        candidate,
        live,
        messages(args.messages, args.seed, generation),
        sla_minutes=sla_minutes,
        progress=ticks.append,
    )
    total_s = time.perf_counter() - began
    backtest_s = total_s - generation[0]
    # CPU time too: on a shared machine wall time measures the neighbours as well.
    backtest_cpu_s = time.process_time() - began_cpu - generation[1]
    result: dict[str, Any] = {
        "benchmark": "backtest",
        "python": platform.python_version(),
        "messages": report.messages,
        "rules": {
            "candidate": len(candidate.rules),
            "live": 0 if live is None else len(live.rules),
        },
        "parse_seconds": round(parse_s, 4),
        "generation_seconds": round(generation[0], 2),
        "generation_cpu_seconds": round(generation[1], 2),
        "backtest_seconds": round(backtest_s, 2),
        "backtest_cpu_seconds": round(backtest_cpu_s, 2),
        "messages_per_s": round(report.messages / backtest_s),
        "messages_per_cpu_s": round(report.messages / backtest_cpu_s),
        "microseconds_per_message": round(backtest_s / report.messages * 1e6, 2),
        "progress_calls": len(ticks),
        "report": report.as_dict(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
