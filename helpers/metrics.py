"""Evaluation numbers that stay honest on small test sets, and the ones a medical reader expects.

>>> from helpers.metrics import accuracy_interval, roc_auc, sensitivity_specificity
>>> accuracy_interval(18, 19)        # (accuracy, low, high) with an exact 95 % interval
(0.947..., 0.739..., 0.998...)
>>> sign_test(4, 0)                   # 4 photos only A got right, 0 only B: exact McNemar
0.125
>>> sensitivity_specificity([1, 1, 0, 0], [1, 0, 0, 0])
(0.5, 1.0)

Binary functions take labels as 0/1 with **1 = positive** (the finding is present), and
scores as "higher = more likely positive"; lists, NumPy arrays and tensors all work.
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from helpers.errors import CourseValueError

ArrayLike = Any
"""Labels, predictions or scores: a list, a NumPy array or a (CPU or GPU) tensor."""


def accuracy_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """Accuracy ``correct / total`` and its exact (Clopper-Pearson) interval ``(acc, low, high)``.

    On 19 test images one mistake moves accuracy by 0.05; the interval says how far the
    true accuracy could be from the measured one. The exact interval inverts the binomial
    distribution itself, so its coverage is at least ``confidence`` at every sample size
    (Clopper & Pearson 1934); approximate intervals (normal, Wilson) can fall short at small n.
    """
    if total <= 0 or not 0 <= correct <= total:
        raise CourseValueError(f"accuracy_interval({correct}, {total}): 맞힌 수는 0 이상 전체 이하, 전체는 1 이상이어야 "
                               "합니다.\n해결: 예) accuracy_interval(int((preds == labels).sum()), len(labels))")
    tail = (1 - confidence) / 2
    low = 0.0 if correct == 0 else _solve(lambda p: binomial_tail(correct, total, p, upper=True) - tail)
    high = 1.0 if correct == total else _solve(lambda p: tail - binomial_tail(correct, total, p, upper=False))
    return correct / total, low, high


def binomial_tail(k: int, n: int, p: float, upper: bool) -> float:
    """P(X >= k) (``upper``) or P(X <= k) for X ~ Binomial(n, p), summed exactly."""
    ks = range(k, n + 1) if upper else range(0, k + 1)
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in ks)


def _solve(f, lo: float = 0.0, hi: float = 1.0) -> float:
    """The root of an increasing ``f`` on [lo, hi], by bisection (60 halvings: below 1e-15)."""
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return (lo + hi) / 2


def sign_test(a_only: int, b_only: int) -> float:
    """Exact two-sided p-value of McNemar's test for two models scored on the same items.

    Only the items where the models disagree carry information: ``a_only`` items only model A
    got right, ``b_only`` only B. If the models were equally good, each disagreement would go
    either way with probability 1/2 (a sign test): p = 2 * P(X <= min) for X ~ Binomial(a_only
    + b_only, 1/2), at most 1. Four disagreements, all one way: p = 2 / 16 = 0.125.
    """
    if a_only < 0 or b_only < 0:
        raise CourseValueError(f"sign_test({a_only}, {b_only}): 두 수는 0 이상의 개수여야 합니다 "
                               "(A만 맞힌 수, B만 맞힌 수).")
    n = a_only + b_only
    return 1.0 if n == 0 else min(1.0, 2 * binomial_tail(min(a_only, b_only), n, 0.5, upper=False))


def rank_sum_test(values: ArrayLike, positive: ArrayLike, alpha: float = 0.05) -> dict:
    """Exact one-sided rank-sum test (Wilcoxon 1945; Mann & Whitney 1947): could chance alone rank
    the positive units this high?

    ``values``: one score per unit (higher = more likely positive); ``positive``: which units are.
    U counts the (positive, negative) pairs ordered right (a tie counts one half), out of
    ``pairs`` = k * (n - k). If scores said nothing, every choice of which k of the n units are the
    positive ones would be equally likely: all C(n, k) of them are enumerated, so p is exact at any
    sample size (no normal approximation). Returns ``{"U", "pairs", "p", "U needed"}``, where
    "U needed" is the smallest U with p <= ``alpha``.

    >>> rank_sum_test([0.9, 0.8, 0.3, 0.2, 0.1], [1, 1, 0, 0, 0])["p"]   # the best 2 of 5: 1 / C(5, 2)
    0.1
    """
    values, positive = _as_numpy(values).astype(float).reshape(-1), _binary(positive).reshape(-1).astype(bool)
    n, k = len(values), int(positive.sum())
    if len(positive) != n or not 0 < k < n or math.comb(n, k) > 2_000_000:
        raise CourseValueError(f"rank_sum_test: 단위 {n}개 중 양성 {k}개입니다. 양성과 음성이 하나 이상씩 있고, "
                               "조합 수 C(n, k)가 200만 이하여야 정확 검정을 셉니다.")
    wins = (values[:, None] > values[None, :]).sum(1) + 0.5 * ((values[:, None] == values[None, :]).sum(1) - 1)
    chance = wins[np.array(list(itertools.combinations(range(n), k)))].sum(1) - k * (k - 1) / 2
    u = wins[positive].sum() - k * (k - 1) / 2
    return {"U": float(u), "pairs": k * (n - k), "p": float((chance >= u).mean()),
            "U needed": float(min(v for v in np.unique(chance) if (chance >= v).mean() <= alpha))
            if (chance >= chance.max()).mean() <= alpha else math.inf}


# --------------------------------------------------------------------------- binary decisions
# A medical reader asks four questions of a yes/no classifier: how many of each kind of
# mistake (confusion matrix), what share of the real cases it finds (sensitivity), what share
# of the non-cases it clears (specificity), and how both trade off as the decision threshold
# moves (ROC curve, AUC). The threshold itself is chosen on validation data, never on test data.

def _as_numpy(x: ArrayLike) -> np.ndarray:
    """NumPy copy of a list, array or (CPU or GPU) tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _binary(y_true: ArrayLike) -> np.ndarray:
    y = _as_numpy(y_true).astype(int).ravel()
    if not np.isin(y, (0, 1)).all():
        raise CourseValueError(f"이진 지표의 레이블은 0(음성) 또는 1(양성)이어야 하는데 {sorted(set(y.tolist()))} 가 "
                               "있습니다.\n해결: 양성 클래스를 1로 바꾸세요, 예) (labels == 양성_번호).long()")
    return y


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int = 2) -> np.ndarray:
    """Counts ``m[true, predicted]`` (rows: the truth, columns: the prediction).

    >>> confusion_matrix([1, 1, 0, 0], [1, 0, 0, 0])
    array([[2, 0],
           [1, 1]])
    """
    t = _as_numpy(y_true).astype(int).ravel()
    p = _as_numpy(y_pred).astype(int).ravel()
    if t.shape != p.shape:
        raise CourseValueError(f"y_true와 y_pred의 길이가 다릅니다: {t.shape} 대 {p.shape}.\n"
                               "해결: 같은 샘플들의 정답과 예측을 같은 순서로 넘기세요(예: predict(model, loader)의 결과).")
    m = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(m, (t, p), 1)
    return m


def sensitivity_specificity(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[float, float]:
    """``(sensitivity, specificity)`` of binary predictions (1 = positive, e.g. "has the finding").

    Sensitivity = TP / (TP + FN), the share of real positives found; specificity =
    TN / (TN + FP), the share of real negatives cleared. NaN when a class is absent.

    >>> sensitivity_specificity([1, 1, 0, 0], [1, 0, 0, 0])
    (0.5, 1.0)
    """
    (tn, fp), (fn, tp) = confusion_matrix(_binary(y_true), _binary(y_pred))
    sens = tp / (tp + fn) if tp + fn else float("nan")
    spec = tn / (tn + fp) if tn + fp else float("nan")
    return float(sens), float(spec)


def roc_curve(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve ``(fpr, tpr, thresholds)``: "positive when score >= threshold" for each threshold.

    Thresholds are the distinct scores from high to low, preceded by ``inf`` (nothing
    positive), so the curve runs from (0, 0) to (1, 1).

    >>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    y = _binary(y_true)
    s = _as_numpy(scores).astype(float).ravel()
    if y.shape != s.shape:
        raise CourseValueError(f"y_true와 scores의 길이가 다릅니다: {y.shape} 대 {s.shape}.\n"
                               "해결: 같은 샘플들의 정답과 양성 확률(예: probs[:, 1])을 같은 순서로 넘기세요.")
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        raise CourseValueError("ROC 곡선에는 양성과 음성 예가 적어도 하나씩 있어야 합니다.\n"
                               "해결: 두 클래스가 모두 들어 있는 분할(검증 또는 테스트)로 계산하세요.")
    thresholds = np.concatenate([[np.inf], np.unique(s)[::-1]])
    tpr = np.array([(s[y == 1] >= t).sum() / n_pos for t in thresholds])
    fpr = np.array([(s[y == 0] >= t).sum() / n_neg for t in thresholds])
    return fpr, tpr, thresholds


def auc(fpr: ArrayLike, tpr: ArrayLike) -> float:
    """Area under a curve by the trapezoid rule (for an ROC curve: 0.5 = chance, 1 = perfect)."""
    x, y = _as_numpy(fpr).astype(float), _as_numpy(tpr).astype(float)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


def roc_auc(y_true: ArrayLike, scores: ArrayLike) -> float:
    """AUC of the ROC curve: the chance that a random positive scores above a random negative.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    return auc(*roc_curve(y_true, scores)[:2])


def threshold_from_validation(y_val: ArrayLike, scores_val: ArrayLike, min_sensitivity: float | None = None) -> float:
    """Decision threshold chosen on **validation** outputs ("positive when score >= threshold").

    Default: Youden's rule, the threshold with the largest sensitivity + specificity - 1
    (ties: the higher threshold). With ``min_sensitivity`` (screening: miss few cases), the
    highest threshold whose validation sensitivity reaches it. The returned value is the
    midpoint between the chosen score and the next lower one, so it does not sit exactly
    on a validation score.

    >>> round(threshold_from_validation([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 3)
    0.6
    """
    fpr, tpr, thr = roc_curve(y_val, scores_val)
    if min_sensitivity is None:
        j = tpr - fpr
        best = int(np.nonzero(j >= j.max() - 1e-9)[0][0])  # ties (up to rounding): the highest threshold
    else:
        ok = np.nonzero(tpr >= min_sensitivity)[0]
        best = int(ok[0])
    if best == 0:  # inf: nothing positive
        return float("inf")
    lower = thr[best + 1] if best + 1 < len(thr) else thr[best] - 1.0
    return float((thr[best] + lower) / 2)
