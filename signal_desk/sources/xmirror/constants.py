"""What Nitter's RSS looks like, its URLs, and the canonical X addresses items are keyed by."""
import re

KIND = "x"                              # Source.kind in sources.yaml
X_BASE_URL = "https://x.com"

# X handles are 1-15 word characters; mirrors are given a little slack for test accounts.
ACCOUNT_HANDLE = re.compile(r"[A-Za-z0-9_]{1,50}")


def instance_rss_url(instance_base: str, account: str) -> str:
    """`https://nitter.example/<account>/rss` for an instance base URL (which may carry a path)."""
    base = instance_base.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"instance base must be an http(s) URL: {instance_base!r}")
    handle = account.strip().removeprefix("@")
    if not ACCOUNT_HANDLE.fullmatch(handle):
        raise ValueError(f"not an X account handle: {account!r}")
    return f"{base}/{handle}/rss"


def status_url(user: str, status_id: str) -> str:
    """A status's canonical address, whichever instance it was read through: the key items land under."""
    return f"{X_BASE_URL}/{user}/status/{status_id}"

# Item link / guid path: [/instance-prefix]/<user>/status/<id>, Nitter appends "#m".
STATUS_PATH = re.compile(r"/(?P<user>[A-Za-z0-9_]{1,50})/status(?:es)?/(?P<id>\d{1,25})/?$")
STATUS_ID = re.compile(r"\d{1,25}")

# Title prefixes written by Nitter's rss.nimf (getTitle); "RT: " is the form of older versions.
# (A media-only retweet's title is just "RT by @account: ", which arrives stripped of its space.)
RETWEET_TITLE = re.compile(r"^RT(?: by @(?P<by>[A-Za-z0-9_]+))?:(?: |$)")
REPLY_TITLE = re.compile(r"^R to @(?P<to>[A-Za-z0-9_]+):(?: |$)")
PINNED_TITLE = "Pinned: "
# Titles Nitter writes when a tweet has no text, only media.
MEDIA_ONLY_TITLES = frozenset({"Image", "Video", "Gif"})

# A feed or item title like "RSS reader not yet whitelisted!" is a refusal, not a timeline.
REFUSAL_TITLE_WORDS = ("whitelist",)
# Nitter's HTML error page: <div class="error-panel"><span>Instance has been rate limited.</span>
ERROR_PANEL = re.compile(rb'class="error-panel"[^>]*>\s*<span[^>]*>(.*?)</span>', re.IGNORECASE | re.DOTALL)

# Anchor text that shows a link rather than words: "https://...", "golang.org/dl/#go1.17rc1",
# "groups.google.com/g/golang-a…" (Twitter's shortened display form).
URL_LIKE_TEXT = re.compile(r"https?://\S+|(?:[\w-]+\.)+[A-Za-z]{2,}(?:[/?#]\S*)?…?|\S+…")

# Anchor texts that are tweet entities, not shortened links.
ENTITY_PREFIXES = ("@", "#", "$")
