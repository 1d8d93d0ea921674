"""Typed errors. Whether something is retried is decided by the error's type, never by its text."""

from __future__ import annotations


class PushpilotError(Exception):
    """Base of every error pushpilot raises on purpose."""


class RetryableError(PushpilotError):
    """A transient failure: raise it out of the handler so Lambda retries, then dead-letters, the event."""


class PermanentError(PushpilotError):
    """A failure retrying cannot fix: log it once with the event id, count it, and stop."""


class MalformedEventError(PermanentError):
    """The event does not have the shape its source documents."""


class ConcurrentDeliveryError(RetryableError):
    """Another delivery of the same event holds the once-per-key record of this work right now: it does
    the work (or its own retry will); this one is retried later and then finds the result."""


class ServiceBusyError(RetryableError):
    """App Runner rejected the call because an operation is in progress (InvalidStateException)."""


class OutcomeUnknownError(RetryableError):
    """The request may have taken effect; its answer was lost (a read timeout or a connection dropped
    after sending). Retrying is safe only after looking at what the first attempt did."""


class ThrottledError(RetryableError):
    """The AWS API throttled us after botocore's own retries were spent."""


class AccessDeniedError(PermanentError):
    """Our role may not do this; the message names the permission or policy that is missing."""


class NotFoundError(PermanentError):
    """The resource named by the event does not exist (any more)."""


class OutOfReachError(NotFoundError):
    """The service exists, but outside what the stack serves (`EcsClusters`): pushpilot never touches it."""


class SettingsError(PermanentError):
    """The function's configuration is wrong: the message names the variable."""


class ChangedMeanwhileError(PermanentError):
    """The resource changed between our read and our write (an optimistic-concurrency check failed, e.g.
    Lambda's RevisionId): someone else's change is told, never overwritten."""
