"""Payment providers: the renewal logic asks a provider to charge and gets a reference back.

A real card provider is one more class here and a name in ``CSPO_PAYMENT_PROVIDERS``; the renewal
service does not change. Each provider gets the renewal's key, so one that talks to a card network
passes it on as the idempotency key: a retry then cannot charge twice there either."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Charge:
    reference: str


class PaymentProvider:
    name: str = ""
    label: str = ""
    #: Whether certificants pay through it themselves; otherwise only administrators record payments.
    self_service: bool = False

    def charge(self, *, amount: Decimal, currency: str, key: str, payer, details: dict) -> Charge:
        raise NotImplementedError


class ManualProvider(PaymentProvider):
    """An administrator records a payment made outside cspo: an invoice paid, a bank transfer."""

    name = "manual"
    label = "Invoice or bank transfer, recorded by an administrator"

    def charge(self, *, amount, currency, key, payer, details) -> Charge:
        reference = (details.get("reference") or "").strip()
        if not reference:
            raise ValidationError("Enter the invoice number or bank transfer reference.")
        return Charge(reference=reference[:120])


class TestProvider(PaymentProvider):
    """Pretends to be a card processor, for development and tests: 4242 4242 4242 4242 is accepted,
    4000 0000 0000 0002 is declined. It keeps a list of its charges, as a processor's dashboard would."""

    __test__ = False  # not a pytest class
    name = "test"
    label = "Test card (development only)"
    self_service = True
    ACCEPTED = "4242424242424242"
    DECLINED = "4000000000000002"
    charges: list[tuple[str, Decimal, str]] = []  # (key, amount, currency), one per charge made

    def charge(self, *, amount, currency, key, payer, details) -> Charge:
        number = "".join(ch for ch in str(details.get("card_number", "")) if ch.isdigit())
        if number == self.DECLINED:
            raise ValidationError("The card was declined. Nothing was charged.")
        if number != self.ACCEPTED:
            raise ValidationError(f"Use the test card {self.ACCEPTED[:4]} {self.ACCEPTED[4:8]} … {self.ACCEPTED[-4:]}.")
        self.charges.append((key, amount, currency))
        return Charge(reference=f"test_{hashlib.sha256(key.encode()).hexdigest()[:16]}")


PROVIDERS: dict[str, type[PaymentProvider]] = {cls.name: cls for cls in (ManualProvider, TestProvider)}


def enabled_providers() -> list[PaymentProvider]:
    return [PROVIDERS[name]() for name in settings.CSPO_PAYMENT_PROVIDERS if name in PROVIDERS]


def provider(name: str) -> PaymentProvider:
    for candidate in enabled_providers():
        if candidate.name == name:
            return candidate
    raise ValidationError("This payment method is not available.")
