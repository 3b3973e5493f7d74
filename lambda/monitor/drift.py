"""How far the breeds a model answers live are from the breeds it answered on its test split.

The reference is the model's own top-1 answers on the test split (so its habits, which breeds
it over- or under-answers, are not counted as drift), smoothed toward the training split's
class mix by ``PRIOR_PER_CLASS`` pseudo-answers a class (a test split of a few per breed leaves
many at zero). The divergence is the Jensen-Shannon divergence (base 2: 0 for the same mix,
1 for disjoint ones) of the window's answers from that reference.

Neither side is exact: a window of N answers and a test split of M, both drawn from the same
mix, are not at 0 (with 133 breeds and a few hundred answers, sampling alone gives tenths). So
the drift score is the divergence over the 99th percentile of ``DRAWS`` such pairs drawn from
the reference (1: as far as one pair in a hundred gets by chance, whatever N). Windows past
``NOISE_SAMPLE`` answers are drawn at that size, which overstates their noise a little (the
score errs low).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

DRAWS = 200
NOISE_QUANTILE = 0.99
NOISE_SAMPLE = 5000
PRIOR_PER_CLASS = 0.5
MAX_SCORE = 1000.0  # what CloudWatch is given for a divergence where no noise is possible


def js_divergence(counts: Sequence[float], reference: Sequence[float]) -> float:
    """The Jensen-Shannon divergence, in bits, of two distributions given as counts."""
    total, reference_total = math.fsum(counts), math.fsum(reference)
    if total <= 0 or reference_total <= 0:
        raise ValueError("a divergence needs two non-empty distributions")
    divergence = 0.0
    for count, expected in zip(counts, reference, strict=True):
        p, q = count / total, expected / reference_total
        m = (p + q) / 2
        if p:
            divergence += p * math.log2(p / m) / 2
        if q:
            divergence += q * math.log2(q / m) / 2
    return max(0.0, min(1.0, divergence))


def smoothed(test_counts: Sequence[float], training: Sequence[float]) -> list[float]:
    """The test split's answers plus pseudo-answers in the training mix."""
    prior, total = PRIOR_PER_CLASS * len(training), math.fsum(training)
    return [
        count + prior * share / total for count, share in zip(test_counts, training, strict=True)
    ]


def _drawn(generator: random.Random, weights: Sequence[float], size: int) -> list[int]:
    counts = [0] * len(weights)
    for label in generator.choices(range(len(weights)), weights=weights, k=size):
        counts[label] += 1
    return counts


def noise_floor(
    reference: Sequence[float], training: Sequence[float], size: int, test_size: int
) -> float:
    """The divergence ``NOISE_QUANTILE`` of (window of ``size``, test split of ``test_size``)
    pairs drawn from ``reference`` stay under, each test split smoothed as the real one is."""
    if size < 1:
        raise ValueError("a window needs at least one answer")
    generator = random.Random(0)
    window, test = min(size, NOISE_SAMPLE), min(max(test_size, 1), NOISE_SAMPLE)
    divergences = sorted(
        js_divergence(
            _drawn(generator, reference, window),
            smoothed(_drawn(generator, reference, test), training),
        )
        for _ in range(DRAWS)
    )
    return divergences[min(DRAWS - 1, math.ceil(NOISE_QUANTILE * DRAWS) - 1)]


def drift_score(
    counts: Sequence[float], test_counts: Sequence[float], training: Sequence[float]
) -> tuple[float, float]:
    """(divergence, score) of the window's answers per class against the test split's."""
    reference = smoothed(test_counts, training)
    divergence = js_divergence(counts, reference)
    floor = noise_floor(
        reference, training, round(math.fsum(counts)), round(math.fsum(test_counts))
    )
    if floor <= 0:
        return divergence, MAX_SCORE if divergence else 0.0
    return divergence, min(MAX_SCORE, divergence / floor)
