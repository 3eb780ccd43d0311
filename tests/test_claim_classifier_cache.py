"""The claim classifier is fitted once per watch-list version: later runs load its weights from the cache,
a changed watch list is fitted anew, and a damaged cache file only costs a refit."""
from __future__ import annotations

import numpy as np
import pytest

from signal_desk.signals import claims

RNG = np.random.default_rng(7)
LABELS = np.repeat(np.arange(3, dtype=np.int32), 10)
# three clusters of ten, one per class
FEATURES = (np.eye(8)[LABELS] + RNG.normal(scale=0.2, size=(30, 8))).astype(np.float32)


@pytest.fixture
def fits(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_CACHE_DIR", str(tmp_path))
    calls = []
    real = claims._Classifier._fit

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(claims._Classifier, "_fit", staticmethod(counting))
    return calls


def test_the_weights_are_fitted_once_and_then_loaded(fits):
    first = claims._Classifier(FEATURES, LABELS, 3)
    again = claims._Classifier(FEATURES, LABELS, 3)
    assert len(fits) == 1
    assert np.array_equal(first.weights, again.weights)
    assert np.array_equal(first.probabilities(FEATURES), again.probabilities(FEATURES))
    # it learnt the classes it was shown
    assert (first.probabilities(FEATURES).argmax(axis=1) == LABELS).mean() > 0.9


def test_other_examples_are_fitted_anew(fits):
    claims._Classifier(FEATURES, LABELS, 3)
    claims._Classifier(FEATURES[::-1].copy(), LABELS, 3)
    assert len(fits) == 2


def test_a_damaged_cache_file_is_refitted(fits, tmp_path):
    fitted = claims._Classifier(FEATURES, LABELS, 3)
    (cached,) = tmp_path.glob("claim-classifier-*.npy")
    cached.write_bytes(b"not an array")
    again = claims._Classifier(FEATURES, LABELS, 3)
    assert len(fits) == 2
    assert np.allclose(again.weights, fitted.weights)
