"""What each account was seen with (devices, countries, networks), as sorted 64-bit hashes.

Why hashes and not a frame of strings: the takeover detector asks, for every login of every
batch, "has this account used this device (country, network) before?", and it must remember
every account's history for months. Kept as a Polars frame of ``(user, kind, value)`` strings,
each batch re-grouped the whole history by three string columns to merge what it saw, and that
merge was most of the detector's time. Here an entry is one ``uint64`` (a hash of account, kind
and value) in numpy arrays sorted by hash: a lookup is a binary search, a merge an insert into
sorted arrays. Collisions of 64-bit hashes among millions of entries are below one in a billion.

The country *names* an account used are also kept (a takeover finding lists them), one row per
live (account, country) entry, added when the entry is new and dropped when it expires: a batch of
accounts logging in from where they always do costs them nothing.

:meth:`AccountHistory.observe` answers and records a whole batch of logins in one pass. Why: an
account logs in several times a day from the same device and place, so a batch holds about three
logins per distinct (account, device, country, network) combination, and nearly all of those
combinations were seen in earlier batches. The combinations are found once (one sort of one
64-bit hash per login) and looked up in a table of known combinations (:mod:`.history_tables`),
which keeps each one's last-seen time; only the few never seen before are split into their
entries, looked up and merged. The entries carry no time of their own: an entry lives while a
live combination holds it (state version 3; versions 1 and 2 kept a time per entry and per
account, and load as combinations of one key each).

Values are hashed as they come: text as text, numbers (AS numbers) as numbers. Why: turning a
batch's AS numbers into text only to hash them cost more than the rest of reading the batch. A
history saved by state version 1 hashed numbers as their decimal text, and its entries cannot be
re-hashed (only hashes are kept), so it loads in a mode that goes on hashing numbers as text
(:attr:`AccountHistory.numbers_as_text`) and is saved with that mode named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.history_tables import REFS, ComboTable, CountedKeys
from watchhouse.detectors.accounts.sketches import HASH_VERSION, U64, _decode, among, hash_keys

I64 = npt.NDArray[np.int64]
STATE_VERSION = 3
#: state versions :meth:`AccountHistory.load_json` reads (1: numbers were hashed as their text;
#: 1 and 2: entries and accounts with a time each, no combinations)
READABLE_VERSIONS = (1, 2, 3)
#: salts that keep (account, device "x") and (account, country "x") apart
KIND_SALTS: dict[str, int] = {"device": 0x51, "country": 0xC0, "asn": 0xA5}
#: salts of the one-key combinations a version 1 or 2 state loads as, by the slot of their key
#: (the account's, or an entry's): they never equal a real combination's hash
LEGACY_SALTS: dict[int, int] = {0: 0x0C, 1: 0xE1}
#: the kept country names, as a checkpoint holds them (version 2 also held a time per name)
COUNTRY_SCHEMA: dict[str, pl.DataType] = {"user": pl.String(), "value": pl.String()}
#: the kept country names: the entry's hash, the account and the country
NAME_SCHEMA: dict[str, pl.DataType] = {"_k": pl.UInt64(), "user": pl.String(), "value": pl.String()}
#: a batch's new country names (``Observed.countries``): as kept, and the row of the login that
#: first used each, so a finding about a later login of the same batch can list it as known
_NO_NAMES = pl.DataFrame(schema={**NAME_SCHEMA, "row": pl.Int64()})


#: the seed :func:`.hash_keys` hashes with (the one-query hashing below must give the same hashes)
SEED = 0x5EED


def value_hashes(values: pl.Series, *, numbers_as_text: bool = False) -> U64:
    """64-bit hashes of a column of values (nulls hash to a fixed value): text with
    :func:`.hash_keys`, integers as integers (the same Polars hash, no text made), or as their
    decimal text when ``numbers_as_text`` (how state version 1 hashed them)."""
    if values.dtype.is_integer() and not numbers_as_text:
        hashed: U64 = values.cast(pl.Int64).hash(seed=SEED).to_numpy().astype(np.uint64, copy=False)
        return hashed
    return hash_keys(values)


def pair_hashes(users: U64, values: U64, salt: int) -> U64:
    """One 64-bit hash per (account hash, value hash) pair, mixed (splitmix64 finaliser) so that
    related pairs do not land on related hashes."""
    with np.errstate(over="ignore"):
        x = users * np.uint64(0x9E3779B97F4A7C15) ^ (values + np.uint64(salt)) * np.uint64(0xC2B2AE3D27D4EB4F)
        x ^= x >> np.uint64(31)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(29)
    return x


def _hash_expr(name: str, dtype: pl.DataType, *, numbers_as_text: bool) -> pl.Expr:
    """The expression :func:`value_hashes` (or, for text, :func:`.hash_keys`) computes."""
    column = pl.col(name)
    if dtype.is_integer() and not numbers_as_text:
        return column.cast(pl.Int64).hash(seed=SEED)
    return column.cast(pl.String).hash(seed=SEED)


@dataclass
class Hashed:
    """A batch of logins' account hashes and, per kind, its value hashes and which logins have a
    value: what :meth:`AccountHistory.observe` reads, from one query (:meth:`AccountHistory.hashed`)."""

    users: U64
    values: dict[str, U64]
    present: dict[str, npt.NDArray[np.bool_]]


@dataclass(frozen=True)
class Unvouched:
    """Which logins :meth:`AccountHistory.observe` judges but does not learn from: those of an
    account already known that lack a ``witness`` value (a device id) and are new in every one of
    ``places`` (country and network).

    Why: history is what says "this is the owner", and it learned from every successful login,
    the intruder's too. An attacker whose password spray succeeded from abroad taught the account
    his country and network, and his return days later, from there, to change the email was "a
    known place" (simulation seed 1: only impossible travel caught it). A login with nothing known
    about it and no device to vouch for it is exactly the one nobody can say is the owner's; it
    stays unknown, so the next one from that place is judged as new again. An owner's trip is
    still learned from any login of it with a device, or with a known network or country."""

    witness: str
    places: tuple[str, ...]

    def matches(
        self, present: dict[str, npt.NDArray[np.bool_]], new: dict[str, npt.NDArray[np.bool_]]
    ) -> npt.NDArray[np.bool_]:
        """Per login (``Observed.present`` and ``Observed.new``): no witness value, and new in
        every place kind (whether the account was known is for the caller to add)."""
        found = ~present[self.witness]
        for kind in self.places:
            found = found & new[kind]
        return found


@dataclass
class Observed:
    """What a batch of logins was, per login, before :meth:`AccountHistory.observe` recorded it.

    ``known``: the account was in the history, or logged in earlier in the same batch.
    ``new``: per kind, the value is set and is the account's first use of it (neither in the
    history nor on an earlier login of the batch)."""

    known: npt.NDArray[np.bool_]
    new: dict[str, npt.NDArray[np.bool_]]
    #: per kind, each login's value hash (:func:`value_hashes`; a null has one fixed hash)
    hashes: dict[str, U64]
    #: the names of the batch's new (account, country) entries (:data:`NAME_SCHEMA`), to
    #: :meth:`AccountHistory.keep_countries` once the batch's findings are worded
    countries: pl.DataFrame
    #: per kind, whether each login has a value (read once here, reused by the travel test)
    present: dict[str, npt.NDArray[np.bool_]]
    #: each distinct combination's last login (row): the travel test looks for accounts seen in
    #: two countries, and remembers each account's latest login, among these instead of all logins
    last_rows: npt.NDArray[np.intp]


def _groups(keys: U64) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """``order`` sorting ``keys`` and the ``starts`` of its runs of equal keys (for ``reduceat``);
    within a run, positions ascend (a run's first position is its smallest).

    Why packed: an argsort of the keys costs about three times a plain sort of one word per key
    holding its top bits and its position (the position is then read back from the low bits).
    Keys agreeing in those top bits but not in all (rare) make it use the argsort instead."""
    n = keys.size
    if n < 2:
        return np.arange(n, dtype=np.intp), np.zeros(min(n, 1), dtype=np.intp)
    bits = np.uint64(max(1, (n - 1).bit_length()))
    packed = (keys >> bits) << bits
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64((1 << int(bits)) - 1)).astype(np.intp)
    ordered = keys[order]
    change = ordered[1:] != ordered[:-1]
    packed >>= bits
    if bool((change & (packed[1:] == packed[:-1])).any()):
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        change = ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(np.r_[True, change])
    return order, starts


def _present(values: pl.Series) -> npt.NDArray[np.bool_]:
    if values.null_count() == 0:  # the usual column: no mask to read
        return np.ones(values.len(), dtype=bool)
    present: npt.NDArray[np.bool_] = values.is_not_null().to_numpy()
    return present


class AccountHistory:
    """Per account: the devices, countries and networks (ASNs) it used, and when it last did.

    ``combos`` holds each (account, device, country, network) combination seen with its
    last-seen time; ``entries`` one hash per (account, kind, value) and ``users`` one per account
    with any entry, each counting the live combinations that hold it (see :mod:`.history_tables`).
    :meth:`expire` forgets combinations last seen before its horizon, and with them the entries
    and accounts no live combination holds; the country names go with their entries."""

    #: name chunks beyond this are concatenated (appends are small; lookups are rare)
    MAX_CHUNKS = 64

    def __init__(self) -> None:
        self.combos = ComboTable()
        self.entries = CountedKeys()
        self.users = CountedKeys()
        self._names: list[pl.DataFrame] = []
        #: hash integer values as their decimal text, as state version 1 did (set when such a
        #: state is loaded: its entries' hashes must keep matching)
        self.numbers_as_text = False

    def _hashes(self, values: pl.Series) -> U64:
        return value_hashes(values, numbers_as_text=self.numbers_as_text)

    def __len__(self) -> int:
        return len(self.entries)

    def hashed(self, logins: pl.DataFrame, kinds: tuple[str, ...]) -> Hashed:
        """The ``user`` and ``kinds`` hashes of ``logins`` (as :func:`.hash_keys` and
        :meth:`_hashes` give them) and which logins have each kind, in one query. Why one: each
        column hashed alone was a query of its own, and a query's fixed cost (about 0.1 ms) once
        per column was a tenth of the detector's time on a batch."""
        with_nulls = [kind for kind in kinds if logins[kind].null_count()]
        columns = logins.select(
            _hash_expr("user", pl.String(), numbers_as_text=False).alias("user"),
            *(_hash_expr(kind, logins.schema[kind], numbers_as_text=self.numbers_as_text) for kind in kinds),
            *(pl.col(kind).is_not_null().alias(f"present:{kind}") for kind in with_nulls),
        )
        hashes = {name: columns[name].to_numpy().astype(np.uint64, copy=False) for name in ("user", *kinds)}
        present = {
            kind: columns[f"present:{kind}"].to_numpy() if kind in with_nulls else np.ones(logins.height, dtype=bool)
            for kind in kinds
        }
        return Hashed(hashes.pop("user"), hashes, present)

    def known_users(self, users: U64) -> npt.NDArray[np.bool_]:
        return self.users.contains(users)

    def seen_before(self, users: U64, kind: str, values: pl.Series) -> npt.NDArray[np.bool_]:
        """Whether each (account, value of ``kind``) is in the history."""
        return self.entries.contains(pair_hashes(users, self._hashes(values), KIND_SALTS[kind]))

    def observe(
        self,
        logins: pl.DataFrame,
        users: U64,
        kinds: tuple[str, ...],
        *,
        hashed: Hashed | None = None,
        unvouched: Unvouched | None = None,
    ) -> Observed:
        """Judge ``logins`` (``user``, ``ts`` ascending, the ``kinds`` columns; ``users`` their
        accounts' hashes) against the history as it was, then record them (as :meth:`add`).

        Gives the same answers as :meth:`known_users`, :meth:`seen_before` and a first-in-batch
        test per login followed by :meth:`add`, from the distinct combinations only, and of those
        only the ones never seen before are split into entries: a combination already known holds
        only known entries of a known account. The country names are returned rather than kept,
        so that findings about this batch list the countries known before it; pass them to
        :meth:`keep_countries` afterwards. ``hashed``: :meth:`hashed`'s answer for ``logins``, when
        the caller has it already. ``unvouched``: which logins are judged but not recorded."""
        if len(kinds) > REFS - 1:
            raise ValueError(f"at most {REFS - 1} kinds")
        n = logins.height
        ts = logins["ts"].to_numpy()
        if hashed is None:
            values = {kind: self._hashes(logins[kind]) for kind in kinds}
            present = {kind: _present(logins[kind]) for kind in kinds}
        else:
            values, present = hashed.values, hashed.present
        new = {kind: np.zeros(n, dtype=bool) for kind in kinds}
        if n == 0:
            return Observed(np.zeros(0, dtype=bool), new, values, _NO_NAMES, present, np.zeros(0, dtype=np.intp))
        combo = users
        for kind in kinds:  # a null hashes to one fixed value, so it is part of the combination too
            combo = pair_hashes(combo, values[kind], KIND_SALTS[kind])
        order, starts = _groups(combo)
        # each combination's first and last logins (row order: ``_groups`` keeps it within a
        # combination) and its latest time (rows come in ts order: the last row's, once checked)
        first, last = order[starts], order[np.r_[starts[1:] - 1, n - 1]]
        latest = ts[last] if bool((ts[1:] >= ts[:-1]).all()) else np.maximum.reduceat(ts[order], starts)
        observed = Observed(np.ones(n, dtype=bool), new, values, _NO_NAMES, present, last)
        found = self.combos.touch(combo[first], latest)
        if not found.all():
            miss = np.flatnonzero(~found)
            observed.countries, withheld = self._record(
                logins, users, observed, combo[first[miss]], first[miss], latest[miss], unvouched
            )
            if withheld.any():
                # every login of a withheld combination is judged as its first was: the first
                # taught the history nothing, so the place is as new to the next as to it
                for group in miss[withheld]:
                    rows = order[starts[group] : starts[group + 1] if group + 1 < starts.size else n]
                    for flags in observed.new.values():
                        flags[rows] = flags[rows[0]]
        return observed

    def _record(
        self,
        logins: pl.DataFrame,
        users: U64,
        observed: Observed,
        keys: U64,
        first: npt.NDArray[np.intp],
        seen: I64,
        unvouched: Unvouched | None = None,
    ) -> tuple[pl.DataFrame, npt.NDArray[np.bool_]]:
        """Record the combinations ``keys`` not seen before (sorted; ``first`` their first rows,
        ``seen`` their latest times), mark in ``observed`` the logins of unknown accounts and the
        first uses of new values, and return the names of new country entries with which of
        ``keys`` were withheld: a combination whose first login is ``unvouched`` is judged alike
        but not recorded."""
        kinds = tuple(observed.new)
        m = keys.size
        refs = np.zeros((m, REFS), dtype=np.uint64)
        held = np.zeros((m, REFS), dtype=bool)
        c_users = refs[:, 0] = users[first]
        for slot, kind in enumerate(kinds, start=1):
            held[:, slot] = observed.present[kind][first]
            refs[:, slot] = pair_hashes(c_users, observed.hashes[kind][first], KIND_SALTS[kind])
        recorded = np.any(held[:, 1:], axis=1)
        held[:, 0] = recorded
        countries = _NO_NAMES
        withheld = np.zeros(m, dtype=bool)
        holds = held[:, 1:]
        if holds.any():
            all_keys = refs[:, 1:][holds]
            rows = np.broadcast_to(first[:, None], holds.shape)[holds]
            kind_of = np.broadcast_to(np.arange(REFS - 1, dtype=np.int8), holds.shape)[holds]
            order, starts = _groups(all_keys)
            unique = all_keys[order[starts]]
            key_rows = np.minimum.reduceat(rows[order], starts)
            key_kind = kind_of[order[starts]]
            if unvouched is None:
                fresh = ~self.entries.merge(unique, np.diff(np.r_[starts, all_keys.size]).astype(np.int64))
                for number, kind in enumerate(kinds):
                    observed.new[kind][key_rows[fresh & (key_kind == number)]] = True
                kept = fresh
            else:
                fresh = ~self.entries.contains(unique)
                combo_of = np.broadcast_to(np.arange(m)[:, None], holds.shape)[holds]
                withheld, key_rows = self._vouched(
                    observed, users, first, unvouched, (rows, kind_of, combo_of), order, starts, fresh
                )
                recorded &= ~withheld
                held[:, 0] = recorded
                # each entry counted once per recorded combination holding it; one held only by
                # withheld combinations is asked about (its freshness above) but not inserted
                counts = np.add.reduceat(recorded[combo_of][order].astype(np.int64), starts)
                self.entries.merge(unique, counts)
                kept = fresh & (counts > 0)
            if "country" in kinds:
                named = kept & (key_kind == kinds.index("country"))
                if named.any():
                    hashed = pl.Series(unique[named], dtype=pl.UInt64)
                    first_rows = key_rows[named]
                    countries = logins.select("user", value="country")[first_rows].select(
                        _k=hashed, user="user", value="value", row=pl.Series(first_rows, dtype=pl.Int64)
                    )
        # accounts: known before the batch, or not at their first login of it
        order, starts = _groups(c_users)
        account_first = np.minimum.reduceat(first[order], starts)
        holding = np.add.reduceat(recorded[order].astype(np.int64), starts)
        known_before = self.users.merge(c_users[order[starts]], holding)
        observed.known[account_first[~known_before]] = False
        self.combos.insert(keys[recorded], seen[recorded], refs[recorded], held[recorded])
        return countries, withheld

    def _vouched(
        self,
        observed: Observed,
        users: U64,
        first: npt.NDArray[np.intp],
        rule: Unvouched,
        pairs: tuple[npt.NDArray[np.intp], npt.NDArray[np.int8], npt.NDArray[np.intp]],
        order: npt.NDArray[np.intp],
        starts: npt.NDArray[np.intp],
        fresh: npt.NDArray[np.bool_],
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
        """Mark the first uses of new values as :meth:`_record` does, except that a withheld
        combination's login is no use: a value it used is still new to later logins of the batch,
        as it is to later batches. Returns which combinations are withheld and, per entry, its
        first use by a recorded one.

        ``pairs``: per (new combination, value held) its first row, kind number and combination;
        ``order``/``starts`` group the pairs by entry, ``fresh`` says which entries the history
        lacks. Whether a combination is withheld depends on the flags of its first login, which
        depend on which earlier ones were withheld: starting from none, each round can only
        withhold more (fewer uses leave more values new), so a few rounds reach the answer that
        judging the logins one by one would give."""
        rows, kind_of, combo_of = pairs
        entry_of = np.empty(rows.size, dtype=np.intp)
        entry_of[order] = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, rows.size]))
        never = np.iinfo(np.intp).max
        withheld = np.zeros(first.size, dtype=bool)
        while True:
            uses = np.where(withheld[combo_of], never, rows)[order]
            first_use = np.minimum.reduceat(uses, starts)
            new_pair = fresh[entry_of] & (rows <= first_use[entry_of])
            for number, flags in enumerate(observed.new.values()):
                flags[first] = False  # only these rows are ever set, and only here
                flags[rows[new_pair & (kind_of == number)]] = True
            more = self._unvouched(observed, users, first, rule)
            if not (more & ~withheld).any():
                return withheld, first_use
            withheld |= more

    def _unvouched(
        self, observed: Observed, users: U64, first: npt.NDArray[np.intp], rule: Unvouched
    ) -> npt.NDArray[np.bool_]:
        """Which new combinations (``first``: their first logins) ``rule`` withholds: without the
        witness value, new in every place kind, of an account already known at that login (in
        the history, or by an earlier login of the batch, as :attr:`Observed.known` says; an
        account's very first login is always learned, or it would never become known)."""
        withheld = rule.matches(observed.present, observed.new)[first]
        if withheld.any():
            candidates = np.flatnonzero(withheld)
            accounts = users[first[candidates]]
            unsure = ~self.users.contains(accounts)  # not in the history: known only if seen earlier
            if unsure.any():
                # those accounts' first logins of the batch, from their own rows only (a sort of
                # the whole batch's accounts cost more than the rest of this rare path)
                asked = accounts[unsure]
                rows = np.flatnonzero(among(users, asked))
                ordered = np.argsort(users[rows], kind="stable")
                names, at = np.unique(users[rows][ordered], return_index=True)
                opening = rows[ordered[at]][np.searchsorted(names, asked)]
                withheld[candidates[unsure]] = first[candidates[unsure]] != opening
        return withheld

    def add(self, logins: pl.DataFrame, users: U64, kinds: tuple[str, ...]) -> None:
        """Record what ``logins`` (``user``, ``ts`` and the ``kinds`` columns) used, at their ``ts``."""
        self.keep_countries(self.observe(logins, users, kinds).countries)

    def keep_countries(self, named: pl.DataFrame) -> None:
        """Keep the names of new country entries (``Observed.countries``) for :meth:`countries`."""
        if named.height:
            self._names.append(named.select(list(NAME_SCHEMA)))
            if len(self._names) > self.MAX_CHUNKS:
                self._names = [pl.concat(self._names)]

    def expire(self, horizon: int) -> None:
        """Forget combinations last seen before ``horizon``, and the entries and accounts that no
        live combination holds any more."""
        gone = self.combos.expire(horizon)
        if gone is None:
            return
        refs, held = gone
        self.users.release(refs[:, 0][held[:, 0]])
        before = len(self.entries)
        self.entries.release(refs[:, 1:][held[:, 1:]])
        if len(self.entries) < before and self._names:
            names = pl.concat(self._names)
            alive = self.entries.contains(names["_k"].to_numpy())
            self._names = [names.filter(pl.Series(alive))] if alive.any() else []

    def countries(self, user: str) -> list[str]:
        """The countries ``user`` logged in from that are still remembered, sorted."""
        rows = pl.concat(self._names).filter(pl.col("user") == user) if self._names else None
        if rows is None or rows.height == 0:
            return []
        return sorted(rows["value"].unique().to_list())

    def to_json(self) -> dict[str, Any]:
        names = pl.concat(self._names).select("user", "value").sort("user", "value") if self._names else None
        return {
            "version": STATE_VERSION,
            "hash": HASH_VERSION,
            "numbers": "text" if self.numbers_as_text else "numbers",
            "combos": self.combos.to_json(),
            "countries": (names if names is not None else pl.DataFrame(schema=COUNTRY_SCHEMA)).to_dict(as_series=False),
        }

    def load_json(self, state: dict[str, Any]) -> None:
        version = state.get("version")
        if version not in READABLE_VERSIONS:
            raise ValueError(f"unsupported account history state version {version!r}")
        if state.get("hash") != HASH_VERSION:
            raise ValueError(f"history hashed with {state.get('hash')!r}, this process hashes with {HASH_VERSION!r}")
        self.combos = ComboTable.from_json(state["combos"]) if version == STATE_VERSION else _legacy_combos(state)
        self.entries = CountedKeys.counting(self.combos.refs[:, 1:][self.combos.held[:, 1:]])
        self.users = CountedKeys.counting(self.combos.refs[:, 0][self.combos.held[:, 0]])
        self.numbers_as_text = version == 1 or state.get("numbers") == "text"
        countries = pl.DataFrame({name: state["countries"][name] for name in COUNTRY_SCHEMA}, schema=COUNTRY_SCHEMA)
        keys = pair_hashes(hash_keys(countries["user"]), hash_keys(countries["value"]), KIND_SALTS["country"])
        names = countries.select(_k=pl.Series(keys, dtype=pl.UInt64), user="user", value="value")
        self._names = [names] if names.height else []


def _legacy_combos(state: dict[str, Any]) -> ComboTable:
    """A version 1 or 2 history (entries and accounts, each with its last-seen time, and no
    combinations) as combinations of one key each: every entry and account then stays known
    until its own time expires, as it did, and logins seen since form real combinations."""
    tables = [_decode_seen(state["entries"]), _decode_seen(state["users"])]
    parts = []
    for slot, (keys, seen) in zip((1, 0), tables, strict=True):
        refs = np.zeros((keys.size, REFS), dtype=np.uint64)
        held = np.zeros((keys.size, REFS), dtype=bool)
        refs[:, slot], held[:, slot] = keys, True
        parts.append((pair_hashes(keys, np.zeros_like(keys), LEGACY_SALTS[slot]), seen, refs, held))
    return ComboTable.of(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def _decode_seen(table: dict[str, Any]) -> tuple[U64, I64]:
    n = int(table["n"])
    return _decode(table["keys"], np.uint64, (n,)), _decode(table["seen"], np.int64, (n,))
