"""The certificate of participation: a one-page PDF in the person's language.

Rendered with fpdf2 and the bundled DejaVu Sans (bot/fonts, Bitstream Vera licence beside it),
embedded as a Unicode font so German and Vietnamese names and words keep their diacritics.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF

from bot.i18n import N_, Translator

FONTS = Path(__file__).resolve().parent.parent / "fonts"
FONT = "DejaVuSans"
ROLE_LABELS = {"mentor": N_("Reverse mentor"), "mentee": N_("Mentee")}


def filename(detail: dict[str, Any]) -> str:
    return f"certificate-{detail.get('program', 'programme')}.pdf".replace(" ", "-").replace(
        "/", "-"
    )


def render_pdf(detail: dict[str, Any], _: Translator, *, created: datetime) -> bytes:
    """The certificate for `detail` (see bot.domain.milestones.certificate_detail)."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_creation_date(created.astimezone(UTC))
    pdf.set_title(_("Certificate of participation"))
    pdf.set_author(detail["program"])
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(False)
    pdf.add_page()
    width = pdf.w - 2 * pdf.l_margin
    pdf.set_draw_color(44, 45, 114)
    pdf.set_line_width(1.5)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)

    def line(text: str, size: float, *, bold: bool = False, gap: float = 4) -> None:
        pdf.set_font(FONT, "B" if bold else "", size)
        pdf.multi_cell(width, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    start = date.fromisoformat(detail["start"])
    end = date.fromisoformat(detail["end"])
    pdf.set_y(35)
    pdf.set_text_color(44, 45, 114)
    line(_("Certificate of participation"), 30, bold=True, gap=10)
    pdf.set_text_color(0, 0, 0)
    line(_("This certifies that"), 14)
    line(detail["name"], 28, bold=True, gap=6)
    role = _(ROLE_LABELS.get(detail["role"], detail["role"]))
    line(_("took part as {role} in", role=role), 14)
    line(detail["program"], 20, bold=True, gap=8)
    line(_("from {start} to {end}", start=_.date(start, "long"), end=_.date(end, "long")), 13)
    line(
        _(
            "Sessions held: {sessions} · Goals achieved: {goals}",
            sessions=detail["sessions"],
            goals=detail["goals"],
        ),
        13,
        gap=14,
    )
    line(_("Thank you for learning together."), 12)
    return bytes(pdf.output())
