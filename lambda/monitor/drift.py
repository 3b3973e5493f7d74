"""How far the breeds a model answers are from the breeds it was trained on.

The Jensen-Shannon divergence (base 2: 0 for the same distribution, 1 for disjoint ones) of
the window's top-1 breeds from the training split's class mix. A window of N answers drawn
from the training mix itself is not at 0: with 133 breeds and a few hundred answers, sampling
alone gives a divergence of tenths. So the divergence is also given against that noise: the
drift score is the divergence over the 99th percentile of the divergences of ``DRAWS`` windows
of N drawn from the training mix (1: as far as one same-sized window in a hundred gets by
chance). Past ``NOISE_SAMPLE`` answers the noise is taken from a window of that size, scaled by
size (it falls as 1/N: the divergence of a sample goes as the chi-square statistic over N).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

DRAWS = 200
NOISE_QUANTILE = 0.99
NOISE_SAMPLE = 5000
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


def noise_floor(reference: Sequence[float], size: int, seed: int = 0) -> float:
    """The divergence from ``reference`` that ``NOISE_QUANTILE`` of windows of ``size``
    answers drawn from it stay under."""
    if size < 1:
        raise ValueError("a window needs at least one answer")
    drawn = min(size, NOISE_SAMPLE)
    generator = random.Random(seed)
    classes = range(len(reference))
    divergences = []
    for _ in range(DRAWS):
        counts = [0] * len(reference)
        for label in generator.choices(classes, weights=reference, k=drawn):
            counts[label] += 1
        divergences.append(js_divergence(counts, reference))
    divergences.sort()
    quantile = divergences[min(DRAWS - 1, math.ceil(NOISE_QUANTILE * DRAWS) - 1)]
    return quantile * drawn / size


def drift_score(counts: Sequence[float], reference: Sequence[float]) -> tuple[float, float]:
    """(divergence, score): the divergence of ``counts`` from ``reference``, and the same over
    the noise of a window of that many answers."""
    divergence = js_divergence(counts, reference)
    floor = noise_floor(reference, round(math.fsum(counts)))
    if floor <= 0:
        return divergence, MAX_SCORE if divergence else 0.0
    return divergence, min(MAX_SCORE, divergence / floor)
