"""Builders for the messages the common calls take, with the contract's
names: an order line, a destination, a buyer's context."""

from __future__ import annotations

import datetime as _dt
from typing import Optional

from google.protobuf import timestamp_pb2

from .v1 import allocation_pb2, common_pb2

ServiceLevel = common_pb2.ServiceLevel
"""Service levels: ``SERVICE_LEVEL_SAME_DAY``, ``SERVICE_LEVEL_OVERNIGHT``,
``SERVICE_LEVEL_TWO_DAY``, ``SERVICE_LEVEL_GROUND``."""

ReasonCode = common_pb2.ReasonCode
"""Reason codes (``ReasonCode.Name(reason.code)`` for the text)."""

OrderDisposition = allocation_pb2.OrderDisposition
"""What an allocation decided for the order (ALLOCATED, HELD_REVIEW...)."""

ReservationState = allocation_pb2.ReservationState
"""A reservation's state (HELD, CONFIRMED, RELEASED, EXPIRED)."""


def line(
    sku: str,
    quantity: int,
    line_id: Optional[str] = None,
    unit_price_minor: Optional[int] = None,
    weight_grams: Optional[int] = None,
) -> common_pb2.OrderLine:
    """One order line; ``line_id`` defaults to the SKU code."""
    message = common_pb2.OrderLine(line_id=line_id or sku, sku=sku, quantity=quantity)
    if unit_price_minor is not None:
        message.unit_price_minor = unit_price_minor
    if weight_grams is not None:
        message.weight_grams = weight_grams
    return message


def postal(code: str, country: str = "US") -> common_pb2.Destination:
    """A destination by postal code (ISO 3166-1 alpha-2 country)."""
    return common_pb2.Destination(postal_code=code, country_code=country)


def timestamp(at: _dt.datetime) -> timestamp_pb2.Timestamp:
    """A protobuf Timestamp of an aware datetime (naive means UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=_dt.timezone.utc)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at.astimezone(_dt.timezone.utc))
    return stamp


def context(
    customer_id: str = "",
    account_created_at: Optional[_dt.datetime] = None,
    email: str = "",
    device_id: str = "",
    card_fingerprint: str = "",
    ip: str = "",
    billing: Optional[common_pb2.Destination] = None,
    placed_at: Optional[_dt.datetime] = None,
) -> common_pb2.OrderContext:
    """The buyer's context fraud scoring reads. A guest checkout leaves
    ``account_created_at`` out: allot treats the account age as unknown."""
    message = common_pb2.OrderContext(
        customer_id=customer_id,
        email=email,
        device_id=device_id,
        card_fingerprint=card_fingerprint,
        ip=ip,
    )
    if account_created_at is not None:
        message.account_created_at.CopyFrom(timestamp(account_created_at))
    if placed_at is not None:
        message.placed_at.CopyFrom(timestamp(placed_at))
    if billing is not None:
        message.billing.CopyFrom(billing)
    return message
