"""Every size limit pushpilot enforces on a message, in one place, each with where it is documented.

Renderers clip to these before sending; a message that still does not fit is refused before it is sent
(`MessageTooLargeError`), so its notice is retried and dead-lettered rather than dropped by the channel.
"""

from __future__ import annotations

from typing import Final

from pushpilot.core.errors import PermanentError


class MessageTooLargeError(PermanentError):
    """A message that cannot be brought within its channel's limits: sending it would only be refused."""


# --- Slack Block Kit (https://docs.slack.dev/reference/block-kit/blocks, per-block pages) -------------
# "A message can have up to 50 blocks."
SLACK_MAX_BLOCKS: Final = 50
# section block: "text ... Maximum length for the text in this field is 3000 characters."
SLACK_MAX_SECTION_TEXT: Final = 3000
# header block: "text ... plain_text only ... Maximum length for the text in this field is 150 characters."
SLACK_MAX_HEADER_TEXT: Final = 150
# context block: "elements ... Maximum number of items is 10."
SLACK_MAX_CONTEXT_ELEMENTS: Final = 10
# actions block: "elements ... There is a maximum of 25 elements in each action block."
SLACK_MAX_ACTION_ELEMENTS: Final = 25
# button element (https://docs.slack.dev/reference/block-kit/block-elements/button-element):
# "text ... Maximum length for the text in this field is 75 characters"; "url ... Maximum length ... 3000".
SLACK_MAX_BUTTON_TEXT: Final = 75
SLACK_MAX_BUTTON_URL: Final = 3000
# chat.postMessage (https://docs.slack.dev/reference/methods/chat.postMessage, "Truncating content"):
# "For best results, limit the number of characters in the text field to 4,000 characters. Slack will
# truncate messages containing more than 40,000 characters." The fallback `text` is a notification line,
# so pushpilot keeps it to the section limit, well inside both.
SLACK_TEXT_TRUNCATED_AT: Final = 40_000
SLACK_MAX_FALLBACK_TEXT: Final = 3000
# Slack rejects a message whose blocks hold more than about 12-13 thousand characters in total with
# `msg_blocks_too_long` although every block is within its own limit (reported in slackapi/bolt-js#2509;
# Slack documents no number). Kept below it as a whole-message budget.
SLACK_MAX_BLOCKS_TOTAL_TEXT: Final = 12_000

# --- Amazon SNS (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html) ------------------------------
# Message: "messages must be UTF-8 encoded strings and at most 256 KB in size (262,144 bytes, not 262,144
# characters)"; the message attributes count toward the same 256 KB.
SNS_MAX_MESSAGE_BYTES: Final = 262_144
# Subject: "Constraints: Subjects must be ASCII text that begins with a letter, number, or punctuation
# mark; must not include line breaks or control characters; and must be less than 100 characters long."
SNS_MAX_SUBJECT: Final = 99
# The email body's quoted log lines: pushpilot's own budget (a mail of a few screens), far under the above.
EMAIL_MAX_DETAILS: Final = 6000
EMAIL_MAX_SUMMARY: Final = 6000

# --- Amazon Q Developer in chat applications custom notifications --------------------------------------
# https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html documents the event schema
# (version, source, content.title/description/nextSteps/keywords, metadata.threadId/summary/...) but no
# per-field length limit; it arrives through the same SNS topic, so SNS_MAX_MESSAGE_BYTES binds it, and it
# is shown in Slack, so its fields are clipped to the Slack limits they become.
Q_MAX_TITLE: Final = SLACK_MAX_HEADER_TEXT
Q_MAX_DESCRIPTION: Final = SLACK_MAX_SECTION_TEXT
Q_MAX_NEXT_STEP: Final = SLACK_MAX_SECTION_TEXT
Q_MAX_SUMMARY: Final = 500

# --- build reports --------------------------------------------------------------------------------------
# One quoted log line: pushpilot's own choice, so a 10 KB line cannot push the others out of the message.
BUILD_LOG_LINE_WIDTH: Final = 200
