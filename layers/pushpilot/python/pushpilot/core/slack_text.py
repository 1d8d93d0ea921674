"""Text that reaches Slack as mrkdwn: control characters escaped, code blocks that cannot be closed early.

Slack reads `&`, `<` and `>` as control characters in mrkdwn and in a message's top-level `text`:
`<!channel>`, `<!here>`, `<@U123>` and `<https://…|label>` are mentions and links
(https://docs.slack.dev/messaging/formatting-message-text#escaping). Escaping them in every piece of
user- or build-controlled text leaves mentions and links only where pushpilot writes them itself.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from pushpilot.core.plain_text import strip_terminal

_FENCE = re.compile(r"`{3,}")
# A zero-width space between backticks: the line reads the same, and Slack no longer sees a fence in it.
_ZERO_WIDTH_SPACE = "\u200b"


def slack_escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters, and drop terminal escapes."""
    return strip_terminal(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def defuse_fences(text: str) -> str:
    """Break every run of three or more backticks so quoted text cannot end (or open) a code block."""
    return _FENCE.sub(lambda match: _ZERO_WIDTH_SPACE.join(match.group(0)), text)


def code_line(text: str) -> str:
    """A line quoted inside a ``` block: escaped, and unable to close the block."""
    return defuse_fences(slack_escape(text))


def inline_code(text: str) -> str:
    """Text shown in `single backticks`: a backtick inside would end it, so it becomes a look-alike."""
    # U+02CB MODIFIER LETTER GRAVE ACCENT looks like a backtick and is not one.
    return "`" + slack_escape(text).replace("`", "\u02cb") + "`"


def slack_link(url: str, label: str) -> str:
    """A link pushpilot means: `<url|label>`, with `|`, `<` and `>` in the URL percent-encoded and the label
    escaped, so neither can start another link or mention."""
    safe_url = quote(strip_terminal(url), safe=":/?#[]@!$&'()*+,;=%-._~")
    label_text = slack_escape(label).replace("|", "¦")
    return f"<{safe_url}|{label_text}>"
