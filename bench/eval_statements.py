"""How well annotation reads labelled statements: claims with their stance, speakers, speech acts, quotes.

    ./run eval-statements [--set eval/statements/dev.jsonl] [--config config] [--errors]

Prints, per language and overall: claim precision/recall/F1 over (claim, stance) pairs, the same over
claim ids alone (stance ignored), speaker accuracy (and on title-only or generic speakers alone),
speech-act accuracy (on items whose speaker is right), quote exact match (the item's quote list), and
claims asserted where the label asserts none of them: on negated, denied, fact-checked or questioned
items and on items that state nothing. Labels: eval/statements/GUIDELINES.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from signal_desk.config import load_config
from signal_desk.signals.lexicon import build_lexicon
from signal_desk.signals.statements import read_posts, statements

_TITLE_TAGS = {"title-only-speaker", "generic-source"}
_NON_ASSERTING_TAGS = {"negation", "denial", "fact-check", "question", "no-statement", "off-topic"}


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(gold: Sequence[dict], predicted: Sequence[dict]) -> dict[str, dict]:
    """Figures per language and for all items together."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for g, p in zip(gold, predicted):
        for key in (g["lang"], "all"):
            c = counts[key]
            c["items"] += 1
            gs = {(x["id"], x["stance"]) for x in g["claims"]}
            ps = {(x["id"], x["stance"]) for x in p["claims"]}
            c["tp"] += len(gs & ps)
            c["fp"] += len(ps - gs)
            c["fn"] += len(gs - ps)
            gi, pi = {x[0] for x in gs}, {x[0] for x in ps}
            c["tp_id"] += len(gi & pi)
            c["fp_id"] += len(pi - gi)
            c["fn_id"] += len(gi - pi)
            c["speaker_ok"] += g["speaker"] == p["speaker"]
            if set(g.get("tags", ())) & _TITLE_TAGS and g["speaker"]:
                c["title_items"] += 1
                c["title_ok"] += g["speaker"] == p["speaker"]
            if g["speaker"] and g["speaker"] == p["speaker"]:
                c["act_items"] += 1
                c["act_ok"] += g["speech_act"] == p["speech_act"]
            c["quotes_ok"] += list(g.get("quotes", [])) == list(p["quotes"])
            gold_asserted = {i for i, s in gs if s == "asserted"}
            wrongly = {i for i, s in ps if s == "asserted"} - gold_asserted
            if set(g.get("tags", ())) & _NON_ASSERTING_TAGS or not g["claims"]:
                c["non_asserting_items"] += 1
                c["asserted_on_non_asserting"] += len(wrongly)
    out = {}
    for key, c in counts.items():
        p, r, f = _prf(c["tp"], c["fp"], c["fn"])
        pi, ri, fi = _prf(c["tp_id"], c["fp_id"], c["fn_id"])
        out[key] = {
            "items": c["items"], "claim_p": p, "claim_r": r, "claim_f1": f,
            "claim_id_p": pi, "claim_id_r": ri, "claim_id_f1": fi,
            "speaker_acc": c["speaker_ok"] / c["items"],
            "title_speaker_acc": c["title_ok"] / c["title_items"] if c["title_items"] else None,
            "title_items": c["title_items"],
            "act_acc": c["act_ok"] / c["act_items"] if c["act_items"] else None,
            "quote_exact": c["quotes_ok"] / c["items"],
            "asserted_on_non_asserting": c["asserted_on_non_asserting"],
            "non_asserting_items": c["non_asserting_items"],
        }
    return out


def _row(name: str, m: dict) -> str:
    def f(v):
        return "   -" if v is None else f"{v:.2f}"
    return (f"{name:<4} {m['items']:>5}  {f(m['claim_p'])} {f(m['claim_r'])} {f(m['claim_f1'])}   "
            f"{f(m['claim_id_f1'])}    {f(m['speaker_acc'])}  {f(m['title_speaker_acc'])} ({m['title_items']:>2})  "
            f"{f(m['act_acc'])}  {f(m['quote_exact'])}   {m['asserted_on_non_asserting']:>3} of {m['non_asserting_items']:>3}")


def _sweep(paths: list[Path], lex) -> int:
    index = lex.claim_index
    gold = [g for path in paths for g in read_posts(path)]
    print("threshold  " + "  ".join(f"{lang}:P/R/F1" for lang in ("en", "ar", "fa")) + "  wrongly-asserted")
    for threshold in (0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.60):
        index.set_default_threshold(threshold)
        figures = score(gold, list(statements(gold, lex)))
        cells = "  ".join(f"{figures[lang]['claim_p']:.2f}/{figures[lang]['claim_r']:.2f}/{figures[lang]['claim_f1']:.2f}"
                          for lang in ("en", "ar", "fa") if lang in figures)
        print(f"{threshold:9.2f}  {cells}  {figures['all']['asserted_on_non_asserting']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="./run eval-statements", description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", dest="sets", action="append", type=Path,
                    help="labelled JSON lines (repeatable; default: eval/statements/dev.jsonl)")
    ap.add_argument("--config", default="config", help="watch lists to read against (default: %(default)s)")
    ap.add_argument("--errors", action="store_true", help="print each item the annotation got wrong")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    ap.add_argument("--sweep", action="store_true",
                    help="tuning aid: figures over a grid of default thresholds and margins (dev set only)")
    args = ap.parse_args(argv)
    lex = build_lexicon(load_config(args.config))
    report = {}
    if args.sweep:
        return _sweep(args.sets or [Path("eval/statements/dev.jsonl")], lex)
    for path in args.sets or [Path("eval/statements/dev.jsonl")]:
        gold = read_posts(path)
        started = time.perf_counter()
        predicted = list(statements(gold, lex))
        seconds = time.perf_counter() - started
        figures = score(gold, predicted)
        report[str(path)] = figures
        print(f"{path} ({len(gold)} items, {seconds:.1f} s)")
        print("lang items  claim P    R   F1   id-F1  speaker  title-only  act  quotes  asserted wrongly")
        for lang in ("en", "ar", "fa", "all"):
            if lang in figures:
                print(_row(lang, figures[lang]))
        if args.errors:
            for g, p in zip(gold, predicted):
                gs = sorted((x["id"], x["stance"]) for x in g["claims"])
                ps = sorted((x["id"], x["stance"]) for x in p["claims"])
                if gs != ps or g["speaker"] != p["speaker"] or (g["speaker"] and g["speech_act"] != p["speech_act"]):
                    print(f"\n{g['id']} {g.get('tags')}\n  {g['text'][:300]}")
                    if gs != ps:
                        print(f"  claims  gold {gs}\n          got  {ps}")
                    if g["speaker"] != p["speaker"] or g["speech_act"] != p["speech_act"]:
                        print(f"  speaker gold {g['speaker']}/{g['speech_act']}  got {p['speaker']}/{p['speech_act']}")
        print()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
