"""What every deploy target reads off its own declaration, written once: a target names its declaration
and the flows' `kind`, `label`, `accepts_index` and `outcome_polling` follow from it, so no target can
say one thing in its declaration and another on its class."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from pushpilot.core.declarations import TargetDeclaration
    from pushpilot.core.targets import OutcomePolling


class DeclaredTarget:
    declaration: ClassVar[TargetDeclaration]

    @property
    def kind(self) -> str:
        return self.declaration.kind

    @property
    def label(self) -> str:
        return self.declaration.label

    @property
    def accepts_index(self) -> bool:
        return self.declaration.accepts_index

    @property
    def outcome_polling(self) -> OutcomePolling | None:
        return self.declaration.outcome_polling
