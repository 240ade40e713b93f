"""Modbus registers to numbers: 16/32-bit integers and IEEE floats with configurable byte/word order.

pymodbus' ``convert_from_registers`` handles word order only; PLCs also swap the bytes inside a
register, so the four orders ("ABCD", "CDAB", "BADC", "DCBA") are decoded here with struct.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

from edge.plc.config import Order, RegisterSpec, RegisterType

_FORMATS: Final = {
    RegisterType.INT16: ">h",
    RegisterType.UINT16: ">H",
    RegisterType.INT32: ">i",
    RegisterType.UINT32: ">I",
    RegisterType.FLOAT32: ">f",
}


def registers_to_bytes(registers: Sequence[int], *, word_order: Order, byte_order: Order) -> bytes:
    """Big-endian bytes of the value the registers hold, most significant first."""
    words = list(registers) if word_order == "big" else list(reversed(registers))
    return b"".join(w.to_bytes(2, "big" if byte_order == "big" else "little") for w in words)


def decode(registers: Sequence[int], spec: RegisterSpec) -> int | float:
    if len(registers) != spec.count:
        raise ValueError(f"{spec.type.value} needs {spec.count} registers, got {len(registers)}")
    raw = registers_to_bytes(registers, word_order=spec.word_order, byte_order=spec.byte_order)
    value: int | float = struct.unpack(_FORMATS[spec.type], raw)[0]
    return value


def encode(value: int | float, spec: RegisterSpec) -> list[int]:
    """The registers a PLC with this layout would hold for ``value`` (tests and simulators)."""
    raw = struct.pack(_FORMATS[spec.type], value)
    words = [raw[i : i + 2] for i in range(0, len(raw), 2)]
    regs = [int.from_bytes(w, "big" if spec.byte_order == "big" else "little") for w in words]
    return regs if spec.word_order == "big" else list(reversed(regs))
