"""One package per source (see docs/sources.md); `registry` maps a source kind or market venue to its package."""
