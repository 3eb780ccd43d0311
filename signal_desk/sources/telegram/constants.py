"""What the t.me/s web preview looks like: its URLs and the class names the parser keys on."""
from __future__ import annotations

KIND = "telegram"                       # Source.kind in sources.yaml
TELEGRAM_URL = "https://t.me/"
PREVIEW_URL = "https://t.me/s/"


def channel_url(base: str, handle: str, before: int | None = None) -> str:
    """The preview page of a channel (`base` is the configured t.me endpoint), or its page of posts older
    than `before`."""
    url = f"{base}/s/{handle}"
    return f"{url}?before={before}" if before is not None else url


def post_url(channel: str, post_id: int) -> str:
    """A post's canonical address, whatever host it was read from: the key items are landed under."""
    return f"{TELEGRAM_URL}{channel}/{post_id}"


# Class tokens (exact tokens of the `class` attribute, not substrings).
MESSAGE = "tgme_widget_message"
SERVICE_MESSAGE = "service_message"
TEXT = "tgme_widget_message_text"
REPLY_TEXT = "js-message_reply_text"
REPLY = "tgme_widget_message_reply"
FORWARDED_NAME = "tgme_widget_message_forwarded_from_name"
FROM_AUTHOR = "tgme_widget_message_from_author"
VIEWS = "tgme_widget_message_views"
DATE = "tgme_widget_message_date"
META = "tgme_widget_message_meta"
LINK_PREVIEW = "tgme_widget_message_link_preview"
LINK_PREVIEW_TITLE = "link_preview_title"
ALBUM = "tgme_widget_message_grouped_wrap"
CHANNEL_HEADER = ("tgme_channel_info", "tgme_channel_history")
LANDING_PAGE = ("tgme_page", "tgme_page_wrap")
# t.me/<channel>/<id>: a landing-style page for one post; its text is in og:description, the message
# itself only in the widget (inline, or loaded by script from ?embed=1).
SINGLE_POST_PAGE = ("tgme_page_post",)
POST_PAGE_TEXT_META = ("og:description", "twitter:description")

POLL = "tgme_widget_message_poll"
POLL_QUESTION = "tgme_widget_message_poll_question"
POLL_TYPE = "tgme_widget_message_poll_type"
POLL_OPTION = "tgme_widget_message_poll_option"
POLL_OPTION_PERCENT = "tgme_widget_message_poll_option_percent"
POLL_OPTION_TEXT = "tgme_widget_message_poll_option_text"
POLL_MULTIPLE = "multiple"              # extra class token on the poll element of a multiple-choice poll
VOTERS = "tgme_widget_message_voters"

# Media container class -> media kind, as Item.media_kinds names them. One entry per attachment.
MEDIA_KINDS: dict[str, str] = {
    "tgme_widget_message_photo_wrap": "photo",
    "tgme_widget_message_video_player": "video",
    "tgme_widget_message_roundvideo_player": "round_video",
    "tgme_widget_message_voice_player": "voice",
    "tgme_widget_message_document_wrap": "document",
    "tgme_widget_message_sticker_wrap": "sticker",
    "tgme_widget_message_poll": "poll",
    "tgme_widget_message_location_wrap": "location",
}

# Parts of a message that quote or describe something else: nothing inside them belongs to the post.
FOREIGN_PARTS = (REPLY, LINK_PREVIEW)
