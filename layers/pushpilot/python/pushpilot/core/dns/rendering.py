"""A DNS plan in words, as the CLI prints it and the notices quote it."""

from __future__ import annotations

from pushpilot.core.dns.models import Change, ChangeAction, Conflict, DnsPlan, render_record

# --- rendering -------------------------------------------------------------------------------------

_SYMBOLS = {ChangeAction.CREATE: "+", ChangeAction.UPSERT: "~", ChangeAction.DELETE: "-"}


def render_plan_line(change: Change) -> str:
    if change.action is ChangeAction.DELETE:
        return f"- {change.record.describe()}"
    line = f"{_SYMBOLS[change.action]} {render_record(change.record)}"
    return f"{line}  (was {change.previous.describe()})" if change.previous is not None else line


def render_conflict(conflict: Conflict) -> str:
    if conflict.replaced:
        action = "replacing it: take-over is on"
    elif conflict.record.set_identifier is not None:
        action = "left alone"
    else:
        action = "--take-over to replace"
    return f"! conflict: {conflict.record.describe()} ({conflict.reason}; {action})"


def render_plan(plan: DnsPlan) -> str:
    """Readable text, like an infrastructure plan."""
    lines: list[str] = []
    for zone_plan in plan.zones:
        lines.append(f"zone {zone_plan.zone_name} ({zone_plan.zone_id})")
        lines.extend(f"  {render_plan_line(change)}" for change in zone_plan.changes)
    lines.extend(render_conflict(conflict) for conflict in plan.conflicts)
    lines.extend(f"note: {note}" for note in plan.notes)
    lines.extend(f"by hand: {manual.describe()}" for manual in plan.manual)
    counts = {action: sum(1 for c in plan.changes if c.action is action) for action in ChangeAction}
    if plan.total_changes:
        lines.append(
            f"Plan: {counts[ChangeAction.CREATE]} to create, {counts[ChangeAction.UPSERT]} to update, "
            f"{counts[ChangeAction.DELETE]} to delete."
        )
    else:
        lines.append("No changes: DNS matches the custom domains (apart from any conflicts above).")
    if plan.refused:
        lines.append(f"REFUSED: {plan.refused}")
    return "\n".join(lines)
