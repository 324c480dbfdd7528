"""Platforms (kinds of source) and what each lets us do when we answer.

A platform is an open set of short names: connectors for new platforms add their own profile, so
the name is a plain string, not an enum. The built-in profiles below are the facts the desk core needs
before any connector is configured (reply length limits, whether a private answer is possible).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLATFORM_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True, slots=True)
class PlatformCapabilities:
    """What an answer on this platform may be.

    `max_length` counts characters (None: no practical limit). `public_reply` means a reply visible to
    everyone under the customer's post; `private_message` a direct/private message to the customer;
    `reply_window_hours` is the time after the customer's last message in which a private message may
    still be sent (Messenger and Instagram: 24 h). `private_reply` is a private message that answers
    a public comment (Meta's private replies), allowed for `private_reply_window_hours` after it.
    """

    platform: str
    label: str
    max_length: int | None = None
    public_reply: bool = False
    private_message: bool = True
    reply_window_hours: int | None = None
    social: bool = True
    private_reply: bool = False
    private_reply_window_hours: int | None = None


BUILTIN_PLATFORMS: dict[str, PlatformCapabilities] = {
    p.platform: p
    for p in (
        PlatformCapabilities("x", "X", max_length=280, public_reply=True),
        PlatformCapabilities(
            "facebook",
            "Facebook",
            max_length=8000,
            public_reply=True,
            reply_window_hours=24,
            private_reply=True,
            private_reply_window_hours=7 * 24,
        ),
        PlatformCapabilities(
            "instagram",
            "Instagram",
            max_length=1000,
            public_reply=True,
            reply_window_hours=24,
            private_reply=True,
            private_reply_window_hours=7 * 24,
        ),
        PlatformCapabilities("whatsapp", "WhatsApp", max_length=4096, reply_window_hours=24),
        PlatformCapabilities("email", "E-mail", social=False),
        PlatformCapabilities("chat", "Chat", max_length=10000, social=False),
        PlatformCapabilities("phone", "Phone", private_message=False, social=False),
        PlatformCapabilities("sms", "SMS", max_length=1600, social=False),
        PlatformCapabilities("review", "Reviews", max_length=4000, public_reply=True),
    )
}


def capabilities_for(platform: str) -> PlatformCapabilities:
    """The profile of a platform; an unknown platform may take private answers of any length."""
    found = BUILTIN_PLATFORMS.get(platform)
    if found is not None:
        return found
    return PlatformCapabilities(platform, platform.title())
