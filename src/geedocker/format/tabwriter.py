"""Go's text/tabwriter (elastic tabstops), as docker/cli's formatter sets it up: minwidth 10, padding 3, spaces."""

from __future__ import annotations


def _width(s: str) -> int:
    if s.isascii():
        return len(s)
    import unicodedata  # only non-ASCII cells need it: wide (East Asian) characters take two columns
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def align(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """The text with tab-terminated cells padded into columns; the last cell of a line is never padded."""
    lines = text.split("\n")
    cells = [line.split("\t") for line in lines]
    out: list[str] = []
    widths: list[int] = []

    def write(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            row = cells[i]
            parts: list[str] = []
            for j, c in enumerate(row):
                if j < len(row) - 1 and j < len(widths):
                    parts.append(c + " " * (widths[j] - _width(c)))
                else:
                    parts.append(c)
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(cells[this]) - 1:
                this += 1
                continue
            write(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(cells[this]) - 1:
                width = max(width, _width(cells[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write(line0, line1)

    fmt(0, len(cells))
    return "\n".join(out)
