"""The noise filter: which notices the notify function sends (its NOTIFY_KINDS setting), as a decision."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from pushpilot.core.notices import Notice, NoticeKind, Severity

_NOISY_SEVERITIES = frozenset({Severity.FAILURE, Severity.WARNING})


class KindSelection(BaseModel):
    """Which notices are sent: `all`, `failures` (failure and warning severities), and/or listed kinds."""

    model_config = ConfigDict(frozen=True)

    everything: bool = False
    failures: bool = False
    kinds: frozenset[NoticeKind] = frozenset()

    @classmethod
    def parse(cls, raw: str) -> KindSelection:
        words = [word.strip().lower() for word in raw.split(",") if word.strip()]
        if not words or "all" in words:
            return cls(everything=True)
        known = {kind.value for kind in NoticeKind}
        unknown = sorted(word for word in words if word != "failures" and word not in known)
        if unknown:
            valid = ", ".join(["all", "failures", *sorted(known)])
            raise ValueError(f"NOTIFY_KINDS has unknown kinds {unknown}; valid values: {valid}")
        return cls(
            failures="failures" in words,
            kinds=frozenset(NoticeKind(word) for word in words if word != "failures"),
        )


def should_send(notice: Notice, selection: KindSelection) -> bool:
    if selection.everything or notice.kind in selection.kinds:
        return True
    return selection.failures and notice.severity in _NOISY_SEVERITIES
