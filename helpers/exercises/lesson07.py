"""Checks for lesson 07 (brain MRI case study). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("07.1", answer_1, cm=cm_test)
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np

from helpers.exercises import Wrong, exercise
from helpers.metrics import roc_curve, sensitivity_specificity


@exercise("07.1")
def sensitivity_specificity_by_hand(answer: Any, cm: Any) -> None:
    """``answer``: ``(sensitivity, specificity)`` read off the 2x2 confusion matrix ``cm``.

    ``cm[true, predicted]`` with index 1 = hippocampus (positive), 0 = no hippocampus.
    """
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise Wrong("answer_1 에는 (민감도, 특이도) 두 숫자의 튜플을 넣으세요.")
    m = np.asarray(cm)
    (tn, fp), (fn, tp) = m
    want = (tp / (tp + fn), tn / (tn + fp))
    got = tuple(float(v) for v in answer)
    if np.allclose(got, want[::-1], atol=1e-6) and not np.allclose(got, want, atol=1e-6):
        raise Wrong("두 값의 순서가 바뀐 것 같습니다. 민감도는 '실제 양성' 행, 특이도는 '실제 음성' 행에서 계산합니다.")
    if not np.allclose(got, want, atol=1e-6):
        raise Wrong("혼동 행렬의 행은 정답, 열은 예측입니다. 민감도 = 실제 양성 중 양성으로 맞힌 비율, "
                    "특이도 = 실제 음성 중 음성으로 맞힌 비율입니다 (분모가 행의 합인지 확인하세요).")


@exercise("07.2")
def screening_threshold(answer: Any, y_val: Any, scores_val: Any) -> None:
    """``answer``: a threshold with validation sensitivity 1.0 and the best specificity among those."""
    try:
        t = float(answer)
    except (TypeError, ValueError):
        raise Wrong("answer_2 에는 임계값 숫자 하나를 넣으세요.") from None
    y = np.asarray(y_val).astype(int)
    s = np.asarray(scores_val, dtype=float)
    sens, spec = sensitivity_specificity(y, (s >= t).astype(int))
    if sens < 1.0:
        raise Wrong("이 임계값에서는 검증 데이터의 해마 단면 중 놓치는 것이 있습니다. 임계값을 낮춰 보세요.")
    fpr, tpr, _ = roc_curve(y, s)
    best_spec = max(1 - f for f, r in zip(fpr, tpr) if r >= 1.0)
    if spec < best_spec - 1e-9:
        raise Wrong("민감도는 1이지만 임계값이 필요 이상으로 낮아 음성 단면을 너무 많이 양성으로 부릅니다. "
                    "검증 데이터의 해마 단면 점수 중 가장 낮은 값을 생각해 보세요.")


@exercise("07.3")
def leaking_brains(answer: Any, rows: Iterable[Mapping[str, str]]) -> None:
    """``answer``: the set of brains (``subject``) that appear in more than one split of ``rows``."""
    if not isinstance(answer, (set, frozenset, list, tuple)):
        raise Wrong("answer_3 에는 뇌 이름(subject)의 집합(set)을 넣으세요.")
    splits: dict[str, set[str]] = {}
    for r in rows:
        splits.setdefault(r["subject"], set()).add(r["split"])
    want = {s for s, sp in splits.items() if len(sp) > 1}
    got = set(answer)
    if not got <= set(splits):
        raise Wrong("subject 열에 없는 이름이 들어 있습니다. 파일 이름이나 volume이 아니라 subject(뇌)를 세세요.")
    if got != want:
        raise Wrong("뇌마다 그 뇌의 단면이 들어간 분할(split)을 모아 보세요. 분할이 두 개 이상인 뇌가 누출입니다.")
