"""Images written the way every other file is: encoded in memory, then replaced atomically on disk."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage

from protein_studio.core.errors import UserError
from protein_studio.core.files import write_bytes_atomically

__all__ = ["save_image", "image_bytes"]


def image_bytes(image: QImage, fmt: str = "PNG") -> bytes:
    """``image`` encoded as ``fmt`` (PNG, JPG, ...).

    Raises
    ------
    UserError
        When Qt cannot encode it (an empty image, an unknown format).
    """
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    ok = not image.isNull() and image.save(buffer, fmt.upper())
    buffer.close()
    if not ok or data.isEmpty():
        raise UserError(f"the image could not be encoded as {fmt.upper()}")
    return bytes(data.data())


def save_image(image: QImage, path: str | Path) -> Path:
    """Write ``image`` to ``path`` (format from the extension, PNG by default) atomically: a failure leaves
    an earlier file whole and no temporary file behind."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").upper() or "PNG"
    return write_bytes_atomically(path, image_bytes(image, "JPG" if fmt == "JPEG" else fmt))
