"""The simulated workspace's people and channels: deterministic for a seed.

Offices in Berlin (de), Hanoi (vi) and New York (en), a few departments, a manager line (every
few people report to the first person of their office), and one admin who runs the programme.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ADMIN_ID = "UADMIN0001"
COMMUNITY_CHANNEL = ("C0MENTORING", "reverse-mentoring")
GENERAL_CHANNEL = ("C0GENERAL", "general")
# The regional programmes' channels of `sandbox --example` (bot/sandbox/example.py).
DACH_CHANNEL = ("C0DACH", "mentoring-dach")
VIETNAM_CHANNEL = ("C0VIETNAM", "mentoring-vietnam")
EXAMPLE_CHANNELS = (DACH_CHANNEL, VIETNAM_CHANNEL)
# A regional channel's members: that office's people (and the admins); the rest: everyone.
CHANNEL_OFFICES = {DACH_CHANNEL[0]: "Berlin", VIETNAM_CHANNEL[0]: "Hanoi"}


def channel_members(channel_id: str, people: list[SeedPerson]) -> list[str]:
    office = CHANNEL_OFFICES.get(channel_id)
    return [p.user_id for p in people if office is None or p.is_admin or p.office.city == office]


@dataclass(frozen=True)
class Office:
    city: str
    timezone: str
    locale: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


OFFICES = (
    Office(
        "Berlin",
        "Europe/Berlin",
        "de-DE",
        (
            "Jürgen",
            "Lena",
            "Jörg",
            "Sophie",
            "Maximilian",
            "Anna",
            "Lukas",
            "Marie",
            "Björn",
            "Greta",
        ),
        ("Müller", "Schäfer", "Weiß", "Groß", "Köhler", "Brückner", "Fischer", "Hoffmann"),
    ),
    Office(
        "Hanoi",
        "Asia/Ho_Chi_Minh",
        "vi-VN",
        ("Minh", "Thảo", "Đức", "Hương", "Quang", "Ngọc", "Tuấn", "Lan", "Hải", "Phương"),
        ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"),
    ),
    Office(
        "New York",
        "America/New_York",
        "en-US",
        ("Ava", "Noah", "Mia", "Ethan", "Zoe", "Liam", "Chloe", "Owen", "Maya", "Caleb"),
        ("Johnson", "Rivera", "Chen", "Okafor", "Brooks", "Patel", "Kim", "Walsh"),
    ),
)
DEPARTMENTS = ("Marketing", "Finance", "Engineering", "Sales", "HR", "Operations")


@dataclass(frozen=True)
class SeedPerson:
    user_id: str
    name: str
    office: Office
    department: str
    manager_id: str | None
    is_admin: bool = False

    @property
    def vietnamese(self) -> bool:
        return self.office.locale.startswith("vi")

    @property
    def handle(self) -> str:
        """Slack's `name` of the member (what a mention carries after the `|`)."""
        return self.name.lower().replace(" ", ".")

    @property
    def display_name(self) -> str:
        return f"{self.name} ({self.office.city})"


def seed_people(count: int, seed: int, offices: tuple[Office, ...] = OFFICES) -> list[SeedPerson]:
    """The admin plus `count` members spread over the offices (the three by default)."""
    rng = random.Random(seed)
    people = [
        SeedPerson(ADMIN_ID, "Hannah Admin", OFFICES[0], "HR", None, is_admin=True),
    ]
    heads: dict[str, str] = {}
    used: set[str] = set()
    for index in range(count):
        office = offices[index % len(offices)]
        first = rng.choice(office.first_names)
        last = rng.choice(office.last_names)
        # Vietnamese names put the family name first.
        name = f"{last} {first}" if office.locale.startswith("vi") else f"{first} {last}"
        while name in used:
            name += " Jr." if not office.locale.startswith("vi") else " B"
        used.add(name)
        user_id = f"U{index + 1:04d}{office.city[:2].upper()}"
        head = heads.get(office.city)
        manager = head if head is not None and index % 4 != 0 else None
        if head is None:
            heads[office.city] = user_id
        people.append(SeedPerson(user_id, name, office, rng.choice(DEPARTMENTS), manager))
    return people
