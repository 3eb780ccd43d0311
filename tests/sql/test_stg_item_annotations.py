"""stg_item_annotations: what annotation found in each post's current text."""


def test_one_row_per_post_and_stances_never_null(desk):
    denied = {"claim": "talks-on-track", "stance": "denied", "score": 0.91, "matched_by": "meaning"}
    desk.post("iranmfa", "3120", "2026-06-28 21:30:00+00", lang="fa", speaker_id="baghaei",
              claim_stances=[denied])
    # annotated before migration 006 added claim_stances: the column is null there
    desk.post("reuters", "1939011", "2026-06-28 20:10:37+00", claims=["talks-suspended"])
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", lang="ar", watchlist_ids=["us-iran-talks"])

    rows = {r["item_id"]: r for r in desk.run("stg_item_annotations")}

    assert desk.one_row_per_key("stg_item_annotations") == [
        ("alalamarabic", "52113"), ("iranmfa", "3120"), ("reuters", "1939011")]
    assert rows["1939011"]["claim_stances"] == []
    assert rows["3120"]["claim_stances"] == [denied]
    # a denial stays a stance: it is not a claim the post makes
    assert rows["3120"]["claims"] == []
    assert rows["52113"]["watchlist_ids"] == ["us-iran-talks"]
