"""Benign direct messages and media uploads.

Chat mentions money, banks and transfers innocently ("I'll transfer you the 20 for the tickets"),
and shares ordinary links, so a scam detector cannot key on vocabulary alone.
"""

from __future__ import annotations

import numpy as np

from watchhouse.simulate.clock import I64, iso_ms, poisson_times
from watchhouse.simulate.config import PLATFORM_DOMAIN
from watchhouse.simulate.formats import dumps, message_json
from watchhouse.simulate.population import Population, hex_tokens

MESSAGES_PER_USER_DAY = 5.0
UPLOADS_PER_USER_DAY = 0.5

_MESSAGES = (
    "hey, are we still on for tonight?",
    "haha yes 😂",
    "I'll transfer you the 20 for the tickets tomorrow",
    "can you send me your bank details for the rent split? or just use the app",
    "the bank was closed again, I'll pay you back monday",
    "did you see the new post from the hiking group?",
    "happy birthday!! 🎉 <3",
    "thanks, got the money, all good",
    "lol that's so true",
    "sending you the photos from the weekend",
    f"check this out https://{PLATFORM_DOMAIN}/p/48213",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "what time does the match start?",
    "my account got logged out, had to reset my password, annoying",
    "ok see you at 7",
    "can you pick up bread on the way? I'll pay you back",
    "we won the quiz! the prize money is 50 euro, drinks on us",
    "mum says hi",
    "is the meeting still on? select a time here and I'll join",
    "sorry, wrong chat",
    "bitcoin is down again, glad I sold",
    "I got a weird message claiming to be support, ignored it",
    "the invoice is attached in the email I sent",
    "see you soon ❤️",
    "did you get home ok?",
)
_FILES = (
    ("IMG_{n}.jpg", "image/jpeg", 2_400_000),
    ("PXL_2026030{d}_{n}.jpg", "image/jpeg", 3_100_000),
    ("Screenshot 2026-03-0{d} at 10.{n2}.png", "image/png", 900_000),
    ("photo.jpg", "image/jpeg", 1_200_000),
    ("video_{n}.mp4", "video/mp4", 24_000_000),
    ("document.pdf", "application/pdf", 350_000),
    ("meme_{n}.gif", "image/gif", 1_800_000),
)


def messages(rng: np.random.Generator, pop: Population, start_us: int, end_us: int) -> tuple[I64, list[str]]:
    """Benign direct messages of one slice."""
    ts = poisson_times(rng, MESSAGES_PER_USER_DAY * pop.size, start_us, end_us)
    n = len(ts)
    senders = pop.pick_users(rng, n).tolist()
    recipients = pop.pick_users(rng, n).tolist()
    texts = rng.choice(len(_MESSAGES), size=n).tolist()
    ids = hex_tokens(rng, n, 8)
    lines = [
        message_json(stamp, "m-" + eid, pop.ips[int(pop.ip_index[s])], pop.names[s], pop.names[r], _MESSAGES[k])
        for stamp, eid, s, r, k in zip(iso_ms(ts), ids, senders, recipients, texts, strict=True)
    ]
    return ts, lines


def uploads(rng: np.random.Generator, pop: Population, start_us: int, end_us: int) -> tuple[I64, list[str]]:
    """Benign media uploads of one slice; hashes are random, as for never-seen-before photos."""
    ts = poisson_times(rng, UPLOADS_PER_USER_DAY * pop.size, start_us, end_us)
    n = len(ts)
    users = pop.pick_users(rng, n).tolist()
    kinds = rng.choice(len(_FILES), size=n, p=[0.3, 0.2, 0.15, 0.1, 0.08, 0.07, 0.1]).tolist()
    nums = rng.integers(1000, 9999, size=n).tolist()
    sizes = rng.gamma(2.0, 0.5, size=n)
    sha, md5, pdq, ids = hex_tokens(rng, n, 32), hex_tokens(rng, n, 16), hex_tokens(rng, n, 32), hex_tokens(rng, n, 8)
    lines = []
    for i, (stamp, u, k) in enumerate(zip(iso_ms(ts), users, kinds, strict=True)):
        pattern, mime, mean = _FILES[k]
        name = pattern.format(n=nums[i], d=1 + nums[i] % 9, n2=nums[i] % 60)
        hashes = {"sha256": sha[i], "md5": md5[i]}
        if mime.startswith("image/"):
            hashes["pdq"] = pdq[i]
        obj = {
            "@timestamp": stamp,
            "event": {"dataset": "media", "id": "f-" + ids[i]},
            "source": {"ip": pop.ips[int(pop.ip_index[u])]},
            "user": {"name": pop.names[u]},
            "file": {"name": name, "mime_type": mime, "size": int(sizes[i] * mean), "hash": hashes},
        }
        lines.append(dumps(obj))
    return ts, lines
