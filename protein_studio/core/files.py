"""Reading a user's input file with one clear message for each way it can be wrong.

Every reader in ``core`` (FASTA, structures, DMS tables) starts here, so a missing file, a folder, a
binary file or a non-UTF-8 text file is reported the same way everywhere, naming the file (and the line
for undecodable bytes).
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from protein_studio.core.errors import InputError

__all__ = ["read_input_bytes", "looks_binary", "decode_text", "read_input_text"]


def read_input_bytes(path: str | PathLike, what: str) -> bytes:
    """Read ``path`` whole; ``what`` names the expected content ("a FASTA file") for messages.

    Raises
    ------
    InputError
        The file does not exist, is a folder, or cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", source=str(path))
    if path.is_dir():
        raise InputError(f"is a folder, not {what}", source=str(path))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", source=str(path)) from None


def looks_binary(data: bytes) -> bool:
    """NUL bytes, or more than 5 % control characters, in the first 8 kB: not a text file."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return control > len(head) * 0.05


def decode_text(data: bytes, source: str, what: str) -> str:
    """Decode UTF-8 text (a byte-order mark is dropped).

    Raises
    ------
    InputError
        Binary data ("binary data, not <what>"), or bytes that are not UTF-8 (naming the line).
    """
    if looks_binary(data):
        raise InputError(f"binary data, not {what}", source=source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", source=source, line=line) from None


def read_input_text(path: str | PathLike, what: str) -> str:
    """:func:`read_input_bytes` then :func:`decode_text`."""
    return decode_text(read_input_bytes(path, what), str(path), what)
