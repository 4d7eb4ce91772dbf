"""helpers.metrics: confidence interval, confusion matrix, sensitivity/specificity, ROC/AUC, threshold."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers.errors import CourseError
from helpers.metrics import (accuracy_interval, auc, confusion_matrix, roc_auc, roc_curve,
                             sensitivity_specificity, threshold_from_validation)


def test_accuracy_interval_contains_the_estimate_and_narrows_with_more_data():
    acc, lo, hi = accuracy_interval(18, 19)
    assert lo < acc < hi and acc == pytest.approx(18 / 19)
    _, lo_big, hi_big = accuracy_interval(180, 190)
    assert hi_big - lo_big < hi - lo
    assert accuracy_interval(0, 5)[1] == 0.0 and accuracy_interval(5, 5)[2] == 1.0
    with pytest.raises(ValueError):
        accuracy_interval(6, 5)


def test_confusion_matrix_rows_are_truth_columns_are_predictions():
    m = confusion_matrix([1, 1, 1, 0, 0], [1, 0, 1, 0, 1])
    assert m.tolist() == [[1, 1], [1, 2]]          # [[TN, FP], [FN, TP]]
    assert confusion_matrix(torch.tensor([2, 0]), torch.tensor([2, 1]), num_classes=3)[2, 2] == 1


def test_sensitivity_and_specificity_by_hand():
    # 3 positives, 2 found; 5 negatives, 4 cleared
    y = [1, 1, 1, 0, 0, 0, 0, 0]
    p = [1, 1, 0, 0, 0, 0, 0, 1]
    sens, spec = sensitivity_specificity(y, p)
    assert sens == pytest.approx(2 / 3) and spec == pytest.approx(4 / 5)
    assert math.isnan(sensitivity_specificity([0, 0], [0, 1])[0])   # no positives: undefined
    with pytest.raises(ValueError):
        sensitivity_specificity([0, 2], [0, 1])


def test_roc_curve_runs_from_origin_to_corner_and_matches_a_hand_count():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    fpr, tpr, thr = roc_curve(y, s)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert math.isinf(thr[0]) and list(thr[1:]) == [0.8, 0.4, 0.35, 0.1]
    assert roc_auc(y, s) == pytest.approx(0.75)


def test_auc_equals_the_pairwise_ranking_probability():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = rng.normal(size=200) + y          # positives score higher on average, some ties none
    s = np.round(s, 1)                    # create ties
    pos, neg = s[y == 1], s[y == 0]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert roc_auc(y, s) == pytest.approx(pairs)
    assert roc_auc(y, -s) == pytest.approx(1 - pairs)
    assert roc_auc(torch.tensor(y), torch.tensor(s)) == pytest.approx(pairs)   # tensors work
    assert auc([0, 1], [0, 1]) == pytest.approx(0.5)


def test_roc_needs_both_classes():
    with pytest.raises(ValueError):
        roc_curve([1, 1], [0.2, 0.3])


def test_threshold_from_validation_youden_and_min_sensitivity():
    y = [0, 0, 0, 1, 1, 1]
    s = [0.1, 0.2, 0.6, 0.5, 0.7, 0.9]
    t = threshold_from_validation(y, s)
    pred = (np.array(s) >= t).astype(int)
    sens, spec = sensitivity_specificity(y, pred)
    # best Youden index over every possible cut of these scores
    best = max(sensitivity_specificity(y, (np.array(s) >= c).astype(int))[0]
               + sensitivity_specificity(y, (np.array(s) >= c).astype(int))[1] for c in s)
    assert sens + spec == pytest.approx(best)
    assert t not in s                                # midway between two scores
    t_sens = threshold_from_validation(y, s, min_sensitivity=1.0)
    assert sensitivity_specificity(y, (np.array(s) >= t_sens).astype(int))[0] == 1.0
    assert t_sens < t


def test_threshold_perfectly_separated_sits_between_the_classes():
    t = threshold_from_validation([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert 0.2 < t < 0.8


def test_exact_interval_matches_published_clopper_pearson_values():
    # Clopper-Pearson 95 % for 18/19 and 0/5 (standard tables: 0.7397-0.9987; upper 0.5218 = 1 - 0.025 ** (1 / 5))
    _, lo, hi = accuracy_interval(18, 19)
    assert abs(lo - 0.7397) < 1e-4 and abs(hi - 0.9987) < 1e-4
    assert abs(accuracy_interval(0, 5)[2] - (1 - 0.025 ** (1 / 5))) < 1e-9


def test_sign_test_is_exact_mcnemar():
    from helpers.metrics import sign_test

    assert sign_test(4, 0) == sign_test(0, 4) == 0.125          # 2 * (1/2)^4
    assert sign_test(6, 0) == 2 / 64 and sign_test(0, 0) == 1.0
    assert abs(sign_test(7, 2) - 2 * sum(math.comb(9, k) for k in range(3)) / 2 ** 9) < 1e-12
    with pytest.raises(CourseError):
        sign_test(-1, 2)


def test_rank_sum_test_is_exact():
    """U counted pair by pair, p over every labelling, checked against a direct count on data with ties."""
    import itertools

    import numpy as np

    from helpers.metrics import rank_sum_test

    best = rank_sum_test([0.9, 0.8, 0.3, 0.2, 0.1], [1, 1, 0, 0, 0], alpha=0.1)
    assert best == {"U": 6.0, "pairs": 6, "p": 0.1, "U needed": 6.0}           # 1 of C(5, 2) = 10 labellings
    assert rank_sum_test([0.9, 0.8, 0.3, 0.2, 0.1], [1, 1, 0, 0, 0], alpha=0.05)["U needed"] == float("inf")

    def u_direct(values, pos):  # pairs (positive, negative) ordered right, a tie one half
        return sum((a > b) + 0.5 * (a == b) for a in values[pos] for b in values[~pos])

    rng = np.random.default_rng(0)
    values = rng.integers(0, 4, size=9).astype(float)          # ties on purpose
    positive = np.zeros(9, dtype=bool)
    positive[[1, 4, 7]] = True
    got = rank_sum_test(values, positive, alpha=0.2)
    labellings = [np.isin(np.arange(9), c) for c in itertools.combinations(range(9), 3)]
    chance = np.array([u_direct(values, p) for p in labellings])
    assert got["U"] == u_direct(values, positive) and got["pairs"] == 18
    assert got["p"] == (chance >= got["U"]).mean()
    assert got["U needed"] == min(v for v in set(chance) if (chance >= v).mean() <= 0.2)
