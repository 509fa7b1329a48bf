"""Fraud: scam direct messages (messages.jsonl) and card testing (payments.jsonl).

Scam messages with a credential-harvesting look-alike link are labelled computer forgery (a fake
login page presented as the platform's); the other scams (advance fee, investment) are fraud.
"""

from __future__ import annotations

import numpy as np

from watchhouse.core.taxonomy import CrimeCode
from watchhouse.simulate.benign.commerce import SHOPS
from watchhouse.simulate.clock import iso_ms_one, rng_for
from watchhouse.simulate.config import PLATFORM_DOMAIN, PLATFORM_NAME
from watchhouse.simulate.crimes.base import CrimeEvent, Instance, PlanContext, spread
from watchhouse.simulate.formats import message_json, payment_json
from watchhouse.simulate.population import HOSTING, RESIDENTIAL, hex_tokens

_BRAND = PLATFORM_DOMAIN.split(".", 1)[0]


def lookalike_domains(brand: str = _BRAND) -> tuple[str, ...]:
    """Look-alike domains of the platform: typos, homoglyphs, security words, subdomain tricks."""
    swapped = brand[:4] + brand[5] + brand[4] + brand[6:]
    return (
        f"{swapped}.com",
        f"{brand}r.com",
        "1" + brand[1:] + ".net",
        brand.replace("m", "rn") + "-login.com",
        f"{brand}-support.com",
        f"secure-{brand}.com",
        f"{brand}-verify.net",
        f"{brand}.account-verify.info",
        f"{brand}-example.com",
        f"login-{brand}.help",
    )


LOOKALIKES = lookalike_domains()

_PHISH = (
    "{brand} Support: unusual activity was detected on your account. Verify your identity within 24 hours "
    "or it will be suspended: https://{domain}/verify?id={token}",
    "Someone tried to log in to your account from a new device. If this wasn't you, secure it now: https://{domain}/login?session={token}",
    "Congratulations! Your profile was selected for a free {brand} Premium year. Claim it here: https://{domain}/claim/{token}",
    "Your account has been reported for copyright violation. Appeal within 12h or lose access: https://{domain}/appeal?case={token}",
)
_FRAUD = (
    "Dear friend, I am barrister {name}, attorney to a late client who shares your surname. "
    "{amount} million USD is unclaimed and I need your assistance to transfer the funds. "
    "You will receive 40%. Reply with your full name and bank details.",
    "Hi! I made {money} last week with this crypto trading platform, guaranteed 30% daily returns. "
    "Send 250 USDT to start and my mentor will show you. Write me on telegram @{handle}",
    "Hello, this is the {brand} payments team. Your payout is on hold; "
    "pay a {fee} EUR verification fee by gift card to release it.",
    "I'm a professional investor, I can double your bitcoin in 48 hours, limited slots. Send to wallet bc1q{token}",
)


def plan_scams(ctx: PlanContext, rng: np.random.Generator) -> list[Instance]:
    """A few freshly registered accounts messaging many existing users."""
    out: list[Instance] = []
    for number in range(1, ctx.instance_count(rng, 2.0) + 1):
        senders = ctx.fresh_names(int(rng.integers(2, 6)))
        ips = [ctx.ips.take_from(HOSTING if rng.random() < 0.5 else RESIDENTIAL)[0] for _ in senders]
        duration = ctx.duration(rng, 30, 180)
        start = ctx.start_time(rng, duration)
        count = int(rng.integers(60, 500))
        phish_share = float(rng.uniform(0.2, 0.8))
        irng = rng_for(ctx.seed, "scam_messages", number)

        def build(
            irng: np.random.Generator = irng,
            senders: list[str] = senders,
            ips: list[str] = ips,
            start: int = start,
            duration: int = duration,
            count: int = count,
            phish_share: float = phish_share,
        ) -> list[CrimeEvent]:
            events = []
            recipients = irng.choice(ctx.pop.size, size=count).tolist()
            ids, tokens = hex_tokens(irng, count, 8), hex_tokens(irng, count, 6)
            for i, t in enumerate(spread(irng, start, duration, count)):
                s = int(irng.random() * len(senders))
                phish = irng.random() < phish_share
                template = (_PHISH if phish else _FRAUD)[int(irng.integers(0, 4))]
                text = template.format(
                    brand=PLATFORM_NAME,
                    domain=LOOKALIKES[int(irng.random() * len(LOOKALIKES))],
                    token=tokens[i],
                    name=("James Okoro", "Richard Walls", "Abdul Karim")[i % 3],
                    amount=("4.5", "7.2", "12.8")[i % 3],
                    money=("3,400 EUR", "$5,200", "12k")[i % 3],
                    handle=f"invest_{tokens[i][:5]}",
                    fee=(49, 99, 150)[i % 3],
                )
                code = CrimeCode.COMPUTER_FORGERY if phish else CrimeCode.COMPUTER_FRAUD
                line = message_json(
                    iso_ms_one(t), "m-" + ids[i], ips[s], senders[s], ctx.pop.names[recipients[i]], text
                )
                events.append(CrimeEvent(t, line, code))
            return events

        details = {"messages": count, "lookalike_domains": list(LOOKALIKES)}
        out.append(
            Instance("scam_messages", number, "messages", start, ips, senders, senders + ips, details, build, count)
        )
    return out


def plan_card_testing(ctx: PlanContext, rng: np.random.Generator) -> list[Instance]:
    """Stolen card numbers validated with tiny payments from one account: many cards, mostly declined."""
    out: list[Instance] = []
    for number in range(1, ctx.instance_count(rng, 1.5) + 1):
        account = ctx.fresh_names(1)[0]
        ip = ctx.ips.take_from(HOSTING if rng.random() < 0.6 else RESIDENTIAL)[0]
        duration = ctx.duration(rng, 10, 60)
        start = ctx.start_time(rng, duration)
        count = int(rng.integers(40, 400))
        payee = SHOPS[int(rng.random() * len(SHOPS))]
        irng = rng_for(ctx.seed, "card_testing", number)

        def build(
            irng: np.random.Generator = irng,
            account: str = account,
            ip: str = ip,
            start: int = start,
            duration: int = duration,
            count: int = count,
            payee: str = payee,
        ) -> list[CrimeEvent]:
            events = []
            fps, ids = hex_tokens(irng, count, 16), hex_tokens(irng, count, 8)
            bins = irng.choice(
                ["414720", "426684", "440066", "517805", "531993", "402400", "489504"], size=count
            ).tolist()
            amount = float(irng.choice([0.5, 1.0, 0.99, 1.99, 2.0]))
            currency = str(irng.choice(["USD", "EUR"]))
            reasons = (
                "card_declined",
                "incorrect_cvc",
                "expired_card",
                "insufficient_funds",
                "do_not_honor",
                "invalid_number",
            )
            for i, t in enumerate(spread(irng, start, duration, count)):
                ok = irng.random() < 0.08
                reason = None if ok else reasons[int(irng.random() * len(reasons))]
                line = payment_json(
                    iso_ms_one(t),
                    "t-" + ids[i],
                    ip,
                    account,
                    payee,
                    "success" if ok else "failure",
                    reason,
                    amount,
                    currency,
                    "card",
                    (fps[i], bins[i]),
                )
                events.append(CrimeEvent(t, line, CrimeCode.COMPUTER_FRAUD))
            return events

        details = {"payments": count, "payee": payee}
        out.append(
            Instance("card_testing", number, "payments", start, [ip], [account], [account, ip], details, build, count)
        )
    return out
