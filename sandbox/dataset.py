"""The portal's customers, generated from a seed.

``generate(seed)`` builds the Virtual Manager logins of two companies, their
personal accounts (лицевые счета) and the subscriber numbers on each account.
Only ``random.Random(seed)`` is used, so the same seed always gives the same
data and a different seed gives different data.

``generate(seed, logins=K, accounts=N, numbers=M)`` builds a data set of any
size instead (``python -m sandbox --logins K --accounts N --numbers M``): K
logins, N personal accounts per login, M numbers per account. A size left out
keeps the default shape of that level (two logins; three and two accounts;
three to six numbers), so ``generate(seed)`` is today's data set exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LOGIN_ACCOUNTS = (3, 2)
"""How many personal accounts each generated login has, in order."""

SUBSCRIBERS_PER_ACCOUNT = (3, 6)
"""The smallest and the largest number of subscribers on one account."""

SUBSCRIBER_TYPE = "GSM"

COMPANIES = (
    "ООО «Северный ветер»",
    "АО «Уральские самоцветы»",
    "ООО «Балтийский берег»",
    "ООО «Волжская мануфактура»",
    "АО «Сибирский тракт»",
    "ООО «Невская логистика»",
)

FOLDERS = (
    "Руководство",
    "Бухгалтерия",
    "Отдел продаж",
    "Отдел закупок",
    "Склад",
    "Логистика",
    "ИТ-отдел",
    "Служба безопасности",
)

SURNAMES = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов",
    "Новиков", "Морозов", "Петров", "Волков", "Соловьёв", "Васильев", "Зайцев",
    "Павлов", "Семёнов", "Голубев", "Виноградов", "Богданов", "Воробьёв",
)
"""Male surnames; each forms its female variant by adding «а»."""

MALE_NAMES = (
    "Александр", "Алексей", "Андрей", "Дмитрий", "Евгений", "Игорь", "Максим",
    "Михаил", "Николай", "Павел", "Сергей", "Юрий",
)

FEMALE_NAMES = (
    "Анна", "Елена", "Екатерина", "Ирина", "Мария", "Наталья", "Ольга",
    "Светлана", "Татьяна", "Юлия", "Марина", "Ксения",
)

PATRONYMICS = (
    ("Александрович", "Александровна"),
    ("Алексеевич", "Алексеевна"),
    ("Андреевич", "Андреевна"),
    ("Викторович", "Викторовна"),
    ("Владимирович", "Владимировна"),
    ("Дмитриевич", "Дмитриевна"),
    ("Иванович", "Ивановна"),
    ("Михайлович", "Михайловна"),
    ("Николаевич", "Николаевна"),
    ("Петрович", "Петровна"),
    ("Сергеевич", "Сергеевна"),
    ("Юрьевич", "Юрьевна"),
)
"""Pairs of the male and the female patronymic from one father's name."""


@dataclass(frozen=True)
class Subscriber:
    """One subscriber number (a SIM card) on a personal account."""

    number: str
    """The phone number, 11 digits: ``79XXXXXXXXX``."""
    type: str
    """The subscriber type shown in the selection table, e.g. ``GSM``."""
    folder: str
    """The company's folder (department) the number is filed in."""
    full_name: str
    """The subscriber's full name (ФИО)."""
    sim: str
    """The SIM card's ICCID, 20 digits starting with ``8970``."""


@dataclass(frozen=True)
class Account:
    """A personal account (лицевой счёт) with its contract and numbers."""

    number: str
    """The personal account number, 12 digits."""
    contract: str
    """The contract number the account belongs to."""
    subscribers: tuple[Subscriber, ...]


@dataclass(frozen=True)
class Login:
    """A Virtual Manager login of a company, with its personal accounts."""

    login: str
    """The login: a phone number of 10 digits without ``+7``."""
    company: str
    """The company's name."""
    accounts: tuple[Account, ...]


class _UniqueDigits:
    """Draws digit strings from a random generator without repeating one."""

    def __init__(self, rng: random.Random):
        """Draw from ``rng``; nothing is issued yet."""
        self._rng = rng
        self._issued: set[str] = set()

    def draw(self, prefix: str, length: int) -> str:
        """Return a new string of ``length`` digits that starts with ``prefix``."""
        while True:
            tail = "".join(self._rng.choice("0123456789") for _ in range(length - len(prefix)))
            value = prefix + tail
            if value not in self._issued:
                self._issued.add(value)
                return value


def _full_name(rng: random.Random) -> str:
    """Return a random Russian full name (surname, name, patronymic)."""
    surname = rng.choice(SURNAMES)
    male_patronymic, female_patronymic = rng.choice(PATRONYMICS)
    if rng.random() < 0.5:
        return f"{surname} {rng.choice(MALE_NAMES)} {male_patronymic}"
    return f"{surname}а {rng.choice(FEMALE_NAMES)} {female_patronymic}"


def _subscriber(rng: random.Random, digits: _UniqueDigits) -> Subscriber:
    """Return a random subscriber with a unique number and SIM card."""
    return Subscriber(
        number=digits.draw("79" + rng.choice("0123456789"), 11),
        type=SUBSCRIBER_TYPE,
        folder=rng.choice(FOLDERS),
        full_name=_full_name(rng),
        sim=digits.draw("8970" + rng.choice("12"), 20),
    )


def _account(rng: random.Random, digits: _UniqueDigits, numbers: int | None = None) -> Account:
    """Return a random personal account with its contract and ``numbers`` subscribers (None: 3 to 6)."""
    count = rng.randint(*SUBSCRIBERS_PER_ACCOUNT) if numbers is None else numbers
    return Account(
        number=digits.draw("2773", 12),
        contract=digits.draw(str(rng.randint(1, 9)), 9),
        subscribers=tuple(_subscriber(rng, digits) for _ in range(count)),
    )


def _companies(rng: random.Random, count: int) -> list[str]:
    """Return ``count`` different company names, the known ones first in random order.

    Beyond the known names the same names come again with a branch number,
    e.g. «ООО «Северный ветер», филиал 2».
    """
    known = rng.sample(COMPANIES, min(count, len(COMPANIES)))
    extra = [
        f"{known[index % len(known)]}, филиал {index // len(known) + 2}"
        for index in range(count - len(known))
    ]
    return known + extra


def generate(
    seed: int = 1,
    *,
    logins: int | None = None,
    accounts: int | None = None,
    numbers: int | None = None,
) -> tuple[Login, ...]:
    """Return the portal's logins generated from ``seed``.

    By default the first login has three personal accounts, the second two;
    every account has three to six subscribers. ``logins`` K, ``accounts`` N
    and ``numbers`` M make K logins of N accounts of M numbers each (a size
    left out keeps its default: two logins, three and two accounts — a login
    beyond the second has three —, three to six numbers). Login, account,
    contract, phone and SIM numbers and company names are all unique across
    the whole data set.
    """
    for name, value in (("logins", logins), ("accounts", accounts), ("numbers", numbers)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    login_count = len(LOGIN_ACCOUNTS) if logins is None else logins
    account_counts = [
        (LOGIN_ACCOUNTS[index] if index < len(LOGIN_ACCOUNTS) else LOGIN_ACCOUNTS[0]) if accounts is None else accounts
        for index in range(login_count)
    ]
    rng = random.Random(seed)
    digits = _UniqueDigits(rng)
    companies = _companies(rng, login_count)
    return tuple(
        Login(
            login=digits.draw("9" + rng.choice("0123456789"), 10),
            company=company,
            accounts=tuple(_account(rng, digits, numbers) for _ in range(account_count)),
        )
        for company, account_count in zip(companies, account_counts, strict=True)
    )
