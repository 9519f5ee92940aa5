"""A bank under a stream of events: accounts, transfers in transactions, errors, and an audit trail.

Events (deposits, withdrawals, transfers, interest, freezes) are scheduled on a heapq event queue
by simulated time. Every mutation runs inside a transaction context manager that snapshots the
touched accounts and rolls back on any exception; a custom exception hierarchy (with `raise ...
from ...` chaining) reports overdrafts, frozen accounts and limits. contextlib.contextmanager,
suppress and ExitStack, try/except/else/finally, and decimal arithmetic for money are all used.
Usage: bank.py [THOUSANDS_OF_EVENTS]
"""
from __future__ import annotations

import contextlib
import heapq
import random
import sys
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Dict, Iterator, List, Optional, Tuple

DEFAULT_SIZE = 70  # thousands of events
CENT = Decimal("0.01")


class BankError(Exception):
    """Base class of everything the bank refuses to do."""


class InsufficientFunds(BankError):
    def __init__(self, account: str, wanted: Decimal, available: Decimal) -> None:
        super().__init__(f"{account}: wanted {wanted}, only {available} available")
        self.shortfall = wanted - available


class AccountFrozen(BankError):
    pass


class LimitExceeded(BankError):
    pass


class TransferFailed(BankError):
    pass


class Account:
    def __init__(self, number: str, owner: str, balance: Decimal, overdraft: Decimal = Decimal(0)) -> None:
        self.number = number
        self.owner = owner
        self.balance = balance
        self.overdraft = overdraft
        self.frozen = False
        self.withdrawn_today = Decimal(0)

    @property
    def available(self) -> Decimal:
        return self.balance + self.overdraft

    def deposit(self, amount: Decimal) -> None:
        if amount <= 0:
            raise ValueError(f"deposit must be positive, got {amount}")
        self._check_open()
        self.balance += amount

    def withdraw(self, amount: Decimal) -> None:
        self._check_open()
        if self.withdrawn_today + amount > Decimal(5000):
            raise LimitExceeded(f"{self.number}: daily limit")
        if amount > self.available:
            raise InsufficientFunds(self.number, amount, self.available)
        self.balance -= amount
        self.withdrawn_today += amount

    def _check_open(self) -> None:
        if self.frozen:
            raise AccountFrozen(self.number)

    def snapshot(self) -> Tuple[Decimal, bool, Decimal]:
        return self.balance, self.frozen, self.withdrawn_today

    def restore(self, state: Tuple[Decimal, bool, Decimal]) -> None:
        self.balance, self.frozen, self.withdrawn_today = state


class Transaction:
    """Snapshots the accounts it touches; commits on success, restores them on any exception."""

    def __init__(self, bank: Bank, label: str) -> None:
        self.bank = bank
        self.label = label
        self.saved: Dict[str, Tuple[Decimal, bool, Decimal]] = {}

    def touch(self, number: str) -> Account:
        account = self.bank.accounts[number]
        self.saved.setdefault(number, account.snapshot())
        return account

    def __enter__(self) -> Transaction:
        self.bank.open_transactions += 1
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException], tb: object) -> bool:
        self.bank.open_transactions -= 1
        if exc is None:
            self.bank.audit.append(("commit", self.label))
            return False
        for number, state in self.saved.items():
            self.bank.accounts[number].restore(state)
        self.bank.audit.append(("rollback", f"{self.label}: {type(exc).__name__}"))
        return False  # the exception goes on to the caller


class Bank:
    def __init__(self) -> None:
        self.accounts: Dict[str, Account] = {}
        self.audit: List[Tuple[str, str]] = []
        self.open_transactions = 0
        self.errors: Counter = Counter()

    def open(self, owner: str, balance: str, overdraft: str = "0") -> str:
        number = f"AC{len(self.accounts) + 1:04d}"
        self.accounts[number] = Account(number, owner, Decimal(balance), Decimal(overdraft))
        return number

    def transaction(self, label: str) -> Transaction:
        return Transaction(self, label)

    def transfer(self, src: str, dst: str, amount: Decimal) -> None:
        with self.transaction(f"transfer {src}->{dst}") as tx:
            try:
                tx.touch(src).withdraw(amount)
                tx.touch(dst).deposit(amount)
            except AccountFrozen as e:
                raise TransferFailed(f"{src}->{dst} blocked") from e

    def pay_interest(self, rate: Decimal) -> Decimal:
        paid = Decimal(0)
        with self.transaction("interest") as tx:
            for number, account in self.accounts.items():
                if account.balance > 0 and not account.frozen:
                    interest = (account.balance * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)
                    tx.touch(number).deposit(interest) if interest > 0 else None
                    paid += interest
        return paid

    def new_day(self) -> None:
        for account in self.accounts.values():
            account.withdrawn_today = Decimal(0)
            account.frozen = False  # a freeze lasts until the end of the day

    def total(self) -> Decimal:
        return sum((a.balance for a in self.accounts.values()), Decimal(0))


@contextlib.contextmanager
def recorded(bank: Bank, kind: str) -> Iterator[None]:
    """Count failures by exception type; bank errors are absorbed, programming errors are not."""
    try:
        yield
    except BankError as e:
        bank.errors[type(e).__name__] += 1
        cause = e.__cause__
        if cause is not None:
            bank.errors[f"{type(e).__name__} <- {type(cause).__name__}"] += 1
    else:
        bank.errors[f"ok {kind}"] += 1
    finally:
        if bank.open_transactions:
            raise RuntimeError("a transaction was left open")


def events(rng: random.Random, count: int, numbers: List[str]) -> Iterator[Tuple[int, int, str, tuple]]:
    """(time, sequence, kind, args) tuples, pushed on a heap and popped in time order."""
    queue: List[Tuple[int, int, str, tuple]] = []
    for seq in range(count):
        t = rng.randrange(count * 3)
        kind = rng.choices(["deposit", "withdraw", "transfer", "freeze", "interest", "bogus"],
                           weights=[30, 30, 35, 1, 1, 2])[0]
        amount = Decimal(rng.randrange(1, 300_000)) / 100
        args = (rng.choice(numbers), rng.choice(numbers), amount)
        heapq.heappush(queue, (t, seq, kind, args))
    while queue:
        yield heapq.heappop(queue)


def run(thousands: int) -> Bank:
    rng = random.Random(1607)
    bank = Bank()
    numbers = [bank.open(f"owner{i}", str(rng.randrange(0, 5000)), rng.choice(["0", "0", "500"]))
               for i in range(60)]
    start_total = bank.total()
    injected = Decimal(0)
    day = -1
    for t, _, kind, (a, b, amount) in events(rng, thousands * 1000, numbers):
        if t // 500 != day:
            day = t // 500
            bank.new_day()
        with recorded(bank, kind):
            if kind == "deposit":
                with bank.transaction("deposit") as tx:
                    tx.touch(a).deposit(amount)
                injected += amount
            elif kind == "withdraw":
                with bank.transaction("withdraw") as tx:
                    tx.touch(a).withdraw(amount)
                injected -= amount
            elif kind == "transfer":
                bank.transfer(a, b, amount)
            elif kind == "freeze":
                acct = bank.accounts[a]
                acct.frozen = not acct.frozen
            elif kind == "interest":
                injected += bank.pay_interest(Decimal("0.001"))
            else:
                with contextlib.suppress(ValueError):
                    with bank.transaction("bogus") as tx:
                        tx.touch(a).deposit(-amount)
    if bank.total() != start_total + injected:
        raise AssertionError(f"money was created or lost: {bank.total()} != {start_total + injected}")
    return bank


def main(thousands: int) -> None:
    bank = run(thousands)
    for name, n in sorted(bank.errors.items()):
        print(f"{name:>36}: {n}")
    commits = sum(1 for kind, _ in bank.audit if kind == "commit")
    print(f"audit: {commits} commits, {len(bank.audit) - commits} rollbacks; total {bank.total()}")
    richest = max(bank.accounts.values(), key=lambda acc: (acc.balance, acc.number))
    print(f"richest: {richest.number} ({richest.owner}) with {richest.balance}")
    with contextlib.ExitStack() as stack:
        txs = [stack.enter_context(bank.transaction(f"nested {i}")) for i in range(3)]
        print(f"{bank.open_transactions} transactions open inside ExitStack ({len(txs)} entered)")
    print(f"{bank.open_transactions} open after it")
    checksum = 0
    for acc in bank.accounts.values():
        checksum = (checksum * 131 + int(acc.balance * 100)) % 1_000_000_007
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
