"""Typed errors of the domain; handlers map each to a translated message."""

from __future__ import annotations

from storage.connection import StorageUnavailable

__all__ = [
    "ConsentRequired",
    "DescriptionEmpty",
    "DescriptionTooLong",
    "DescriptionTooShort",
    "DomainError",
    "DraftIncomplete",
    "EvidenceRequired",
    "NotAllowed",
    "NotYourContact",
    "NoteRequired",
    "NoteTooLong",
    "NothingChosen",
    "StaleAction",
    "StorageUnavailable",
    "TooManyAttachments",
    "UnknownChoice",
]


class DomainError(Exception):
    """Base of the errors a user can cause."""


class ConsentRequired(DomainError):
    """The citizen has not consented to petitions processing."""


class NothingChosen(DomainError):
    """Continue on the consent form with no purpose ticked: not a decision (refusing is its own button)."""


class StaleAction(DomainError):
    """A button from an earlier step or draft was pressed."""


class UnknownChoice(DomainError):
    """A choice (locality, category, type...) that does not exist; forged or outdated data."""


class DescriptionEmpty(DomainError):
    """No description text."""


class DescriptionTooShort(DomainError):
    """Fewer characters than the minimum."""

    def __init__(self, length: int, minimum: int) -> None:
        super().__init__(f"{length} < {minimum}")
        self.length = length
        self.minimum = minimum


class DescriptionTooLong(DomainError):
    """More characters than the maximum."""

    def __init__(self, length: int, maximum: int) -> None:
        super().__init__(f"{length} > {maximum}")
        self.length = length
        self.maximum = maximum


class TooManyAttachments(DomainError):
    """The attachment limit is reached."""

    def __init__(self, maximum: int) -> None:
        super().__init__(str(maximum))
        self.maximum = maximum


class NotYourContact(DomainError):
    """A contact card of someone else was shared instead of the citizen's own."""


class NotAllowed(DomainError):
    """The user may not do this (not the assignee, a supervisor of theirs, or an admin)."""


class NoteRequired(DomainError):
    """The action needs a written note (reply, reason, resolution)."""


class NoteTooLong(DomainError):
    """A note (a reply, a reason, what a citizen adds) longer than the maximum: refused, never cut."""

    def __init__(self, length: int, maximum: int) -> None:
        super().__init__(f"{length} > {maximum}")
        self.length = length
        self.maximum = maximum


class EvidenceRequired(DomainError):
    """Resolving this category needs a photo or document of the result."""


class DraftIncomplete(DomainError):
    """Confirm was pressed before every field was filled."""
