"""Who uses the simulated platform: accounts, their networks, devices and browsers; staff; hosts.

Realism here is what makes near-misses: many users share a few corporate NAT and carrier-grade NAT
addresses (so benign per-IP failure counts are never zero), browsers are a realistic mix, and some
accounts are far more active than others. Attacker addresses are drawn from the same networks but
from a disjoint part of each prefix, so ground truth can say "this IP never sent benign traffic".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from watchhouse.simulate.clock import cdf, draw, rng_for
from watchhouse.simulate.names import FIRST_NAMES, LAST_NAMES


@dataclass(frozen=True)
class Network:
    """An autonomous system with the /16 prefixes its addresses are drawn from."""

    asn: int
    country: str
    kind: str  # residential | mobile | corporate | hosting
    prefixes: tuple[tuple[int, int], ...]


NETWORKS: tuple[Network, ...] = (
    Network(3320, "DE", "residential", ((79, 192), (84, 150), (91, 40), (217, 80))),
    Network(3209, "DE", "residential", ((88, 64), (94, 134), (178, 24))),
    Network(3215, "FR", "residential", ((90, 12), (86, 246), (2, 8))),
    Network(12322, "FR", "residential", ((82, 64), (88, 160), (78, 192))),
    Network(2856, "GB", "residential", ((81, 129), (86, 128), (109, 144))),
    Network(5089, "GB", "residential", ((82, 20), (86, 0), (92, 232))),
    Network(3352, "ES", "residential", ((80, 24), (83, 32), (88, 26))),
    Network(1136, "NL", "residential", ((77, 160), (84, 80), (145, 128))),
    Network(5617, "PL", "residential", ((83, 24), (89, 64), (31, 0))),
    Network(3269, "IT", "residential", ((79, 10), (87, 2), (93, 40))),
    Network(7922, "US", "residential", ((73, 12), (24, 6), (98, 200))),
    Network(7018, "US", "residential", ((99, 100), (107, 200), (12, 70))),
    Network(812, "CA", "residential", ((99, 224), (174, 112))),
    Network(26599, "BR", "residential", ((177, 32), (187, 60))),
    Network(9829, "IN", "residential", ((117, 200), (59, 88))),
    Network(21928, "US", "mobile", ((172, 56), (172, 58))),
    Network(3302, "DE", "mobile", ((37, 80),)),
    Network(25135, "GB", "mobile", ((31, 94),)),
    Network(51207, "FR", "mobile", ((37, 170),)),
    Network(680, "DE", "corporate", ((141, 20), (134, 96))),
    Network(786, "GB", "corporate", ((128, 40), (129, 67))),
    Network(15169, "US", "hosting", ((35, 190), (34, 120))),
    Network(14061, "US", "hosting", ((159, 65), (167, 99), (138, 68))),
    Network(16276, "FR", "hosting", ((51, 75), (54, 38), (145, 239))),
    Network(24940, "DE", "hosting", ((95, 216), (116, 202), (88, 198))),
    Network(63949, "US", "hosting", ((45, 33), (172, 104))),
    Network(4134, "CN", "hosting", ((61, 177), (218, 92), (222, 186))),
    Network(9009, "GB", "hosting", ((185, 107), (89, 238))),
    Network(202425, "NL", "hosting", ((80, 94), (89, 248))),
    Network(49505, "RU", "hosting", ((45, 146), (185, 244))),
    Network(45090, "CN", "hosting", ((43, 130), (49, 232))),
)
RESIDENTIAL = tuple(i for i, n in enumerate(NETWORKS) if n.kind == "residential")
MOBILE = tuple(i for i, n in enumerate(NETWORKS) if n.kind == "mobile")
CORPORATE = tuple(i for i, n in enumerate(NETWORKS) if n.kind == "corporate")
HOSTING = tuple(i for i, n in enumerate(NETWORKS) if n.kind == "hosting")

BROWSER_UAS: tuple[tuple[str, float], ...] = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        0.24,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/121.0.0.0 Safari/537.36 Edg/121.0.2277.128",
        0.07,
    ),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0", 0.06),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3.1 Safari/605.1.15",
        0.08,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        0.07,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3.1 Mobile/15E148 Safari/604.1",
        0.16,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.6261.90 Mobile Safari/537.36",
        0.14,
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0", 0.03),
    ("Larkspur/5.12.1 (iPhone; iOS 17.3.1; Scale/3.00)", 0.08),
    ("Larkspur-Android/5.12.0 okhttp/4.12.0", 0.07),
)
BOT_UAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        ("66.249.66.1", "66.249.66.37", "66.249.68.4", "66.249.79.98"),
    ),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", ("40.77.167.23", "157.55.39.188")),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", ("5.255.253.40",)),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", ("69.171.250.17",)),
    ("UptimeRobot/2.0 (http://www.uptimerobot.com/)", ("69.162.124.226",)),
)


def user_names(rng: np.random.Generator, count: int, taken: set[str] | None = None) -> list[str]:
    """Unique account names in the styles people actually pick (anna.kowalski, leon_becker92, ...)."""
    taken = set() if taken is None else taken
    firsts = rng.choice(FIRST_NAMES, size=count * 2)
    lasts = rng.choice(LAST_NAMES, size=count * 2)
    styles = rng.integers(0, 5, size=count * 2)
    nums = rng.integers(1, 999, size=count * 2)
    out: list[str] = []
    for f, last, style, n in zip(firsts.tolist(), lasts.tolist(), styles.tolist(), nums.tolist(), strict=True):
        name = (f"{f}.{last}", f"{f}_{last}{n % 100}", f"{f}{last[0]}{n}", f"{f}.{last}{n}", f"{last}.{f}")[style]
        if name in taken:
            name = f"{name}{n}"
        if name in taken:
            continue
        taken.add(name)
        out.append(name)
        if len(out) == count:
            return out
    while len(out) < count:  # practically unreachable; keeps the contract for tiny name spaces
        name = f"user{len(taken)}"
        taken.add(name)
        out.append(name)
    return out


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_B64URL = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8)


def alphabet_tokens(rng: np.random.Generator, count: int, length: int, alphabet: npt.NDArray[np.uint8]) -> list[str]:
    """Random fixed-length strings over an alphabet, built as one byte matrix (no per-token Python work)."""
    if count == 0:
        return []
    chars = np.ascontiguousarray(alphabet[rng.integers(0, len(alphabet), size=(count, length))])
    out: list[str] = chars.view(f"S{length}").ravel().astype(f"U{length}").tolist()
    return out


def hex_tokens(rng: np.random.Generator, count: int, nbytes: int) -> list[str]:
    """Random lowercase hex strings of ``nbytes`` bytes (ids, hashes, fingerprints)."""
    return alphabet_tokens(rng, count, 2 * nbytes, _HEX)


def b64_tokens(rng: np.random.Generator, count: int, length: int) -> list[str]:
    """Random URL-safe base64 strings (cursors, click ids), which naive detectors mistake for payloads."""
    return alphabet_tokens(rng, count, length, _B64URL)


class IpAllocator:
    """Hands out addresses from a network's prefixes, never the same one twice.

    ``benign`` addresses use the lower half of the third octet and attacker addresses the upper
    half, so an attacker address can never collide with a benign one.
    """

    def __init__(self, rng: np.random.Generator, *, attacker: bool) -> None:
        self._rng = rng
        self._lo = 128 if attacker else 0
        self._used: set[str] = set()

    def take(self, network: int) -> str:
        net = NETWORKS[network]
        while True:
            a, b = net.prefixes[int(self._rng.integers(0, len(net.prefixes)))]
            c = self._lo + int(self._rng.integers(0, 128))
            ip = f"{a}.{b}.{c}.{int(self._rng.integers(1, 255))}"
            if ip not in self._used:
                self._used.add(ip)
                return ip

    def take_from(self, networks: tuple[int, ...]) -> tuple[str, int]:
        network = networks[int(self._rng.integers(0, len(networks)))]
        return self.take(network), network


@dataclass(frozen=True)
class Population:
    """The platform's accounts and infrastructure, fixed for a (seed, users) pair."""

    names: list[str]
    ip_index: npt.NDArray[np.int64]  # per user -> index into ips
    ua_index: npt.NDArray[np.int64]  # per user -> index into BROWSER_UAS
    devices: list[str]
    activity: npt.NDArray[np.float64]  # per user selection probability (sums to 1)
    ips: list[str]
    ip_country: list[str]
    ip_asn: list[int]
    visitor_ips: list[str]  # logged-out visitors
    staff: list[tuple[str, str, str]]  # (name, role, source ip)
    api_clients: list[tuple[str, str]]  # (name, source ip)
    hosts: list[str]
    admins: list[tuple[str, str]]  # (unix account, source ip)
    cards: list[tuple[str, str]]  # per user: (fingerprint, bin)
    activity_cdf: npt.NDArray[np.float64]
    user_ip: npt.NDArray[np.object_]  # per user, the address string (precomputed for vectorised lookups)
    user_ua: npt.NDArray[np.object_]

    @property
    def size(self) -> int:
        return len(self.names)

    def pick_users(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.int64]:
        return draw(rng, self.activity_cdf, n)


def build_population(seed: int, users: int) -> Population:
    """Build the population deterministically; it depends only on seed and user count."""
    rng = rng_for(seed, "population")
    alloc = IpAllocator(rng, attacker=False)
    names = user_names(rng, users)
    ips: list[str] = []
    country: list[str] = []
    asn: list[int] = []

    def add(network: int) -> int:
        ips.append(alloc.take(network))
        country.append(NETWORKS[network].country)
        asn.append(NETWORKS[network].asn)
        return len(ips) - 1

    # Shared addresses: a few corporate/university NATs and carrier-grade NAT pools.
    corporate = [add(CORPORATE[i % len(CORPORATE)]) for i in range(max(2, users // 150))]
    cgnat = [add(MOBILE[i % len(MOBILE)]) for i in range(max(3, users // 25))]
    kind = rng.choice(3, size=users, p=[0.72, 0.16, 0.12])
    ip_index = np.empty(users, dtype=np.int64)
    home_nets = rng.choice(RESIDENTIAL, size=users)
    for i in range(users):
        if kind[i] == 0:
            ip_index[i] = add(int(home_nets[i]))
        elif kind[i] == 1:
            ip_index[i] = cgnat[int(rng.integers(0, len(cgnat)))]
        else:
            ip_index[i] = corporate[int(rng.integers(0, len(corporate)))]
    ua_p = np.array([w for _, w in BROWSER_UAS])
    ua_index = rng.choice(len(BROWSER_UAS), size=users, p=ua_p / ua_p.sum()).astype(np.int64)
    activity = rng.lognormal(0.0, 1.0, size=users)
    visitors = [alloc.take(int(n)) for n in rng.choice(RESIDENTIAL + MOBILE, size=max(20, users // 2))]
    staff_names = user_names(rng, max(3, users // 200), taken=set(names))
    roles = ("support", "support", "trust_safety", "support", "admin")
    staff = [(f"staff.{n}", roles[i % len(roles)], f"10.8.0.{10 + i % 240}") for i, n in enumerate(staff_names)]
    api_clients = [("svc-billing", "10.0.1.21"), ("svc-notify", "10.0.1.22"), ("svc-analytics", "10.0.1.23")]
    hosts = [f"web-{i + 1}" for i in range(max(2, users // 500))] + ["db-1", "bastion-1"]
    admins = [("deploy", "10.8.0.2"), ("ops", "10.8.0.3"), ("backup", "10.0.2.5")]
    fps = hex_tokens(rng, users, 16)
    bins = rng.choice(["412345", "453201", "476173", "535522", "542418", "401288", "374245", "520082"], size=users)
    return Population(
        names=names,
        ip_index=ip_index,
        ua_index=ua_index,
        devices=["d-" + h for h in hex_tokens(rng, users, 8)],
        activity=activity / activity.sum(),
        ips=ips,
        ip_country=country,
        ip_asn=asn,
        visitor_ips=visitors,
        staff=staff,
        api_clients=api_clients,
        hosts=hosts,
        admins=admins,
        cards=list(zip(fps, bins.tolist(), strict=True)),
        activity_cdf=cdf(activity),
        user_ip=np.array(ips, dtype=object)[ip_index],
        user_ua=np.array([u for u, _ in BROWSER_UAS], dtype=object)[ua_index],
    )
