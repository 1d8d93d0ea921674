"""Text from builds and services made fit for any channel: terminal escapes removed, and clipped to a
budget with a visible note of what was left out.

Hand-written: textwrap.shorten collapses the newlines that make log lines readable and says nothing of
what it dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# ECMA-48 escapes: CSI (colours, cursor moves), OSC (titles, hyperlinks; ended by BEL or ST), other
# two-character escapes; then the C0/C1 controls left over (tabs and newlines are kept).
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_terminal(text: str) -> str:
    """Remove terminal escape sequences and control characters; a carriage return ends nothing."""
    return _CONTROLS.sub("", _ANSI.sub("", text.replace("\r\n", "\n")))


def more_lines_note(count: int) -> str:
    return f"…(truncated, {count} more line{'s' if count != 1 else ''})"


def more_chars_note(count: int) -> str:
    return f"…(truncated, {count} more character{'s' if count != 1 else ''})"


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters; when cut, it ends with a note of how much was left out."""
    if len(text) <= limit:
        return text
    # The note is sized for the longest count it could show, so the cut text plus its note always fit.
    cut = limit - len(more_chars_note(len(text)))
    if cut >= 1:
        return text[:cut] + more_chars_note(len(text) - cut)
    # A small limit: the short form of the note, then a bare ellipsis when even that cannot fit.
    short_cut = limit - len(f"…(truncated, {len(text)})")
    if short_cut >= 1:
        return text[:short_cut] + f"…(truncated, {len(text) - short_cut})"
    return text[: max(limit - 1, 0)] + "…" if limit > 0 else ""


def clip_lines(lines: Sequence[str], budget: int) -> str:
    """Keep whole lines from the top while they fit in `budget`, then say how many were left out."""
    whole = "\n".join(lines)
    if len(whole) <= budget:
        return whole
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        cost = len(line) + (1 if kept else 0)
        if used + cost + 1 + len(more_lines_note(len(lines) - index)) > budget:
            break
        kept.append(line)
        used += cost
    left_out = len(lines) - len(kept)
    if not kept:
        if left_out == 1:
            return clip(lines[0], budget)
        # Not even the first line fits whole: show its beginning rather than nothing.
        room = budget - len(more_lines_note(left_out - 1)) - 1
        if room > 1:
            kept, left_out = [clip(lines[0], room)], left_out - 1
    clipped = "\n".join([*kept, more_lines_note(left_out)])
    return clipped if len(clipped) <= budget else clip(whole, budget)


def clip_tail(lines: Sequence[str], budget: int) -> tuple[str, ...]:
    """The last lines that fit in `budget` (a log's end explains its failure), led by a note of how many
    earlier lines were left out."""
    if len("\n".join(lines)) <= budget:
        return tuple(lines)
    kept: list[str] = []
    used = 0
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        cost = len(line) + 1
        if used + cost + len(more_lines_note(index + 1)) > budget:
            break
        kept.append(line)
        used += cost
    left_out = len(lines) - len(kept)
    return (more_lines_note(left_out), *reversed(kept))
