"""Images written the way every other file is: encoded in memory, then replaced atomically on disk."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QLinearGradient, QPainter, QPen

from protein_studio.core.errors import UserError
from protein_studio.core.files import write_bytes_atomically

__all__ = ["save_image", "image_bytes", "paint_legend"]


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


def paint_legend(image: QImage, legend: dict) -> list[tuple[QRect, str]]:
    """Draw a colour legend (``{"title", "items": [[colour, label], ...]}`` or ``{"title", "gradient":
    [colours], "labels": [low, middle, high]}``, as the 3D view shows it) in the image's lower left corner,
    on a white box. Returns the swatches drawn: (rectangle, colour) for each item, or the gradient bar."""
    if image.isNull() or not legend:
        return []
    scale = max(1.0, image.height() / 500)
    line, pad, swatch = int(18 * scale), int(8 * scale), int(14 * scale)
    items = legend.get("items") or []
    colours = legend.get("gradient") or []
    rows = 1 + len(items) + (2 if colours else 0)
    width = int(220 * scale)
    box = QRect(pad, image.height() - pad - rows * line - 2 * pad, width, rows * line + 2 * pad)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing, False)
    painter.setPen(QPen(QColor("#444444"), max(1, int(scale))))
    painter.setBrush(QColor(255, 255, 255, 235))
    painter.drawRect(box)
    font = QFont()
    font.setPixelSize(int(12 * scale))
    painter.setFont(font)
    painter.setPen(QColor("#000000"))
    x, y = box.left() + pad, box.top() + pad
    painter.drawText(QRect(x, y, width - 2 * pad, line), Qt.AlignLeft | Qt.AlignVCenter, str(legend.get("title", "")))
    drawn = []
    y += line
    if colours:  # a colour scale first, then any named colours (a superposed structure's), as the page does
        bar = QRect(x, y + (line - swatch) // 2, width - 2 * pad, swatch)
        gradient = QLinearGradient(QPointF(bar.left(), 0), QPointF(bar.right(), 0))
        for k, colour in enumerate(colours):
            gradient.setColorAt(k / max(1, len(colours) - 1), QColor(colour))
        painter.fillRect(bar, gradient)
        drawn.append((bar, colours[0] if colours else ""))
        labels = legend.get("labels") or []
        for k, label in enumerate(labels):
            flags = (Qt.AlignLeft if k == 0 else Qt.AlignRight if k == len(labels) - 1 else Qt.AlignHCenter)
            painter.drawText(QRect(x, y + line, width - 2 * pad, line), flags | Qt.AlignVCenter, str(label))
        y += 2 * line
    for colour, label in items:
        rect = QRect(x, y + (line - swatch) // 2, swatch, swatch)
        painter.fillRect(rect, QColor(colour))
        painter.drawText(QRect(x + swatch + pad, y, width - swatch - 3 * pad, line),
                         Qt.AlignLeft | Qt.AlignVCenter, str(label))
        drawn.append((rect, colour))
        y += line
    painter.end()
    return drawn
