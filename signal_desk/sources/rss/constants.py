"""Fixed choices of the feed parser. A feed's URL is its source's own (`url` in sources.yaml): there is
nothing to build."""

KIND = "rss"                            # Source.kind in sources.yaml

# A guid longer than this is replaced by its sha1 (hex, 40 chars) as item_id: keys stay short
# and indexable, and the same guid always maps to the same id.
MAX_ITEM_ID_LEN = 200

# Item.text is TITLE + this + BODY (body = content:encoded, else summary/description).
TITLE_BODY_SEPARATOR = "\n\n"

# HTML elements that end a paragraph when flattened to plain text.
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre",
    "section", "table", "tr", "ul",
})
# Elements whose content is never reader-visible text.
SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title"})

# Enclosure / media:content MIME prefixes -> Item.media_kinds vocabulary.
MEDIA_KIND_BY_MIME_PREFIX = {"image/": "photo", "video/": "video", "audio/": "audio"}
