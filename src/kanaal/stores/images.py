"""QR code images: PNG and SVG of one code, and a printable A4 sheet per store (PNG or PDF)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from PIL import Image, ImageDraw, ImageFont

from kanaal.stores.domain import sheet_cells

# A4 at 150 dpi: 1240 x 1754 pixels; 3 x 4 codes per page with a label under each.
PAGE = (1240, 1754)
COLUMNS, ROWS = 3, 4
MARGIN = 70
HEADER = 110


@dataclass(frozen=True, slots=True)
class SheetItem:
    """One code on a sheet: what it encodes and the words printed under it."""

    url: str
    title: str
    subtitle: str


def _matrix(url: str, box_size: int = 10) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M,
                         box_size=box_size, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def png(url: str, box_size: int = 10) -> bytes:
    """The code as a PNG image."""
    image = _matrix(url, box_size).make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def svg(url: str) -> bytes:
    """The code as an SVG image (vector, for print shops)."""
    image = _matrix(url).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        return ImageFont.load_default()


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sheet_pages(store_name: str, items: Sequence[SheetItem]) -> list[Image.Image]:
    """A4 pages with a grid of codes and their product names, headed by the store."""
    cells = sheet_cells(len(items), columns=COLUMNS, rows=ROWS)
    pages = max(1, (cells[-1][0] + 1) if cells else 1)
    images = [Image.new("RGB", PAGE, "white") for _ in range(pages)]
    cell_w = (PAGE[0] - 2 * MARGIN) // COLUMNS
    cell_h = (PAGE[1] - 2 * MARGIN - HEADER) // ROWS
    title, small = _font(40), _font(24)
    for number, image in enumerate(images, start=1):
        draw = ImageDraw.Draw(image)
        draw.text((MARGIN, MARGIN), _fit(f"Scan for details: {store_name}", 60), fill="black",
                  font=title)
        draw.text((PAGE[0] - MARGIN - 160, MARGIN + 12), f"page {number}/{pages}",
                  fill="#555555", font=small)
    for item, (page, column, row) in zip(items, cells, strict=True):
        draw = ImageDraw.Draw(images[page])
        x = MARGIN + column * cell_w
        y = MARGIN + HEADER + row * cell_h
        code = _matrix(item.url, box_size=8).make_image(fill_color="black",
                                                         back_color="white").get_image()
        side = min(cell_w - 40, cell_h - 90)
        code = code.convert("RGB").resize((side, side), Image.Resampling.NEAREST)
        images[page].paste(code, (x + (cell_w - side) // 2, y))
        draw.rectangle((x + 4, y - 4, x + cell_w - 4, y + cell_h - 8), outline="#bbbbbb")
        draw.text((x + 16, y + side + 6), _fit(item.title, 26), fill="black", font=small)
        draw.text((x + 16, y + side + 36), _fit(item.subtitle, 30), fill="#555555", font=small)
    return images


def sheet_pdf(store_name: str, items: Sequence[SheetItem]) -> bytes:
    """The printable sheet as a multi-page PDF (A4 at 150 dpi)."""
    pages = sheet_pages(store_name, items)
    out = io.BytesIO()
    pages[0].save(out, format="PDF", resolution=150.0, save_all=True, append_images=pages[1:])
    return out.getvalue()


def sheet_png(store_name: str, items: Sequence[SheetItem], page: int = 0) -> bytes:
    """One page of the sheet as a PNG (previews and documentation)."""
    image = sheet_pages(store_name, items)[page]
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
