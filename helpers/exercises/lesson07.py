"""Checks for lesson 07 (brain MRI case study). Each raises ``Wrong(hint)``; no hint gives the answer.

The core mechanisms ("07.M1", "07.M2") are checked by behaviour on several inputs and compared
with ``helpers.metrics``; the exercises accept every correct answer.

>>> from helpers.exercises import check
>>> check("07.M1", answer_m1, y=y_val, scores=s_val)
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import torch

from helpers.exercises import Wrong, exercise
from helpers.metrics import roc_auc, roc_curve, sensitivity_specificity


def _cases(y: Any, scores: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The lesson's validation outputs, a case with ties, and a small random one: (y 0/1, scores)."""
    y = torch.as_tensor(np.asarray(y)).int().cpu()
    s = torch.as_tensor(np.asarray(scores, dtype=np.float32)).cpu()
    g = torch.Generator().manual_seed(0)
    y_r = (torch.rand(40, generator=g) < 0.3).int()
    y_r[:2] = torch.tensor([0, 1], dtype=torch.int32)
    return [(y, s),
            (torch.tensor([0, 0, 1, 1, 0, 1], dtype=torch.int32), torch.tensor([0.2, 0.5, 0.5, 0.9, 0.1, 0.2])),
            (y_r, torch.rand(40, generator=g))]


@exercise("07.M1")
def sens_spec_by_hand(answer: Any, y: Any, scores: Any) -> None:
    """``answer``: ``f(y, scores, threshold) -> (sensitivity, specificity)``; "score >= threshold" is positive."""
    if not callable(answer):
        raise Wrong("answer_m1 에는 함수(my_sens_spec)를 넣으세요: answer_m1 = my_sens_spec")
    for y_c, s_c in _cases(y, scores):
        for t in (float(s_c.min()), float(s_c.median()), 0.5, float(s_c.max())):
            got = tuple(float(v) for v in answer(y_c, s_c, t))
            want = sensitivity_specificity(y_c, (s_c >= t).int())
            if np.allclose(got, want[::-1], atol=1e-6) and not np.allclose(got, want, atol=1e-6):
                raise Wrong("두 값의 순서가 바뀐 것 같습니다. 첫째는 실제 양성 중 찾아낸 비율, 둘째는 실제 음성 중 맞힌 비율입니다.")
            if not np.allclose(got, want, atol=1e-6):
                raise Wrong(f"임계값 {t:.3f}에서 helpers의 결과 {tuple(round(v, 3) for v in want)}와 다릅니다. "
                            "'점수 ≥ 임계값'을 양성으로 불렀는지, 분모가 실제 양성(TP + FN)과 실제 음성(TN + FP)인지 보세요.")


@exercise("07.M2")
def roc_by_hand(answer: Any, y: Any, scores: Any) -> None:
    """``answer``: ``f(y, scores) -> (fpr, tpr, auc)``; compared with ``roc_curve`` / ``roc_auc``."""
    if not callable(answer):
        raise Wrong("answer_m2 에는 함수(my_roc)를 넣으세요: answer_m2 = my_roc")
    for y_c, s_c in _cases(y, scores):
        fpr, tpr, area = answer(y_c, s_c)
        fpr, tpr = np.asarray(torch.as_tensor(fpr).cpu(), dtype=float), np.asarray(torch.as_tensor(tpr).cpu(), dtype=float)
        h_fpr, h_tpr, _ = roc_curve(y_c, s_c)
        if fpr.shape != tpr.shape or len(fpr) < 2:
            raise Wrong("fpr와 tpr는 임계값마다 하나씩, 같은 길이의 텐서여야 합니다.")
        if not (np.isclose(fpr[0], 0) and np.isclose(tpr[0], 0) and np.isclose(fpr[-1], 1) and np.isclose(tpr[-1], 1)):
            raise Wrong("곡선은 (0, 0)(아무것도 양성이 아님)에서 시작해 (1, 1)(모두 양성)에서 끝나야 합니다. "
                        "첫 임계값과 마지막 임계값을 보세요.")
        if np.any(np.diff(fpr) < -1e-9) or np.any(np.diff(tpr) < -1e-9):
            raise Wrong("임계값을 큰 것부터 작은 것 순서로 내려야 fpr와 tpr가 줄지 않고 늘어납니다.")
        points = {(round(a, 6), round(b, 6)) for a, b in zip(fpr, tpr)}
        if points != {(round(a, 6), round(b, 6)) for a, b in zip(h_fpr, h_tpr)}:
            raise Wrong("곡선의 점이 helpers.metrics.roc_curve와 다릅니다. 임계값 후보는 inf와 점수의 서로 다른 값 전부입니다.")
        if not np.isclose(float(area), roc_auc(y_c, s_c), atol=1e-6):
            raise Wrong(f"넓이 {float(area):.4f}가 AUC {roc_auc(y_c, s_c):.4f}와 다릅니다. "
                        "사다리꼴 규칙의 가로축은 fpr, 세로축은 tpr입니다.")


@exercise("07.1")
def youden_threshold(answer: Any, y: Any, scores: Any) -> None:
    """``answer``: ``f(y, scores) -> threshold`` with the largest sensitivity + specificity - 1 on those outputs."""
    if not callable(answer):
        raise Wrong("answer_1 에는 함수(my_threshold)를 넣으세요.")
    for y_c, s_c in _cases(y, scores):
        t = float(answer(y_c, s_c))
        fpr, tpr, _ = roc_curve(y_c, s_c)
        best = float(np.max(tpr - fpr))
        sens, spec = sensitivity_specificity(y_c, (s_c >= t).int())
        if sens + spec - 1 < best - 1e-6:
            raise Wrong(f"이 임계값의 민감도 + 특이도 − 1 = {sens + spec - 1:.3f}이지만 더 큰 값({best:.3f})이 있습니다. "
                        "점수의 서로 다른 값을 모두 후보로 보고, 후보마다 두 비율을 다시 계산하세요.")


@exercise("07.2")
def threshold_on_test(answer: Any, youden: Mapping[str, float]) -> None:
    """``answer``: "a" / "b" / "c"; the test Youden index with a test-chosen threshold is never below the validation one's."""
    if answer not in ("a", "b", "c"):
        raise Wrong('answer_2 에는 "a", "b", "c" 중 하나를 넣으세요.')
    on_val, on_test = youden["threshold from validation"], youden["threshold from test"]
    if on_test < on_val - 1e-9:  # impossible by construction: the test-chosen threshold maximises the test index
        raise Wrong("측정이 예상과 다릅니다: 테스트에서 고른 임계값의 값이 더 낮습니다. threshold_from_validation에 테스트 점수를 넘겼는지 보세요.")
    why = (f"측정: 검증에서 고른 임계값 {on_val:.3f}, 테스트에서 고른 임계값 {on_test:.3f}. 테스트에서 고른 임계값은 바로 그 테스트 점수에서 "
           "민감도 + 특이도 − 1이 가장 큰 곳이므로, 다른 어떤 임계값(검증에서 고른 것 포함)보다 낮을 수 없습니다. 시드와 상관없는 산수입니다. "
           "그 값은 '처음 보는 환자'에 대한 추정이 아니라 테스트에 맞춘 값이라 부풀려져 있습니다. 그래서 임계값과 모델은 검증 데이터로 고릅니다.")
    if answer != "a":
        raise Wrong(why)
    print(why)


@exercise("07.3")
def leaking_brains(answer: Any, rows: Iterable[Mapping[str, str]]) -> None:
    """``answer``: the predicted number of brains (``subject``) that land in more than one split of ``rows``."""
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer <= 3:
        raise Wrong("answer_3 에는 0, 1, 2, 3 중 정수 하나를 넣으세요.")
    splits: dict[str, set[str]] = {}
    for r in rows:
        splits.setdefault(r["subject"], set()).add(r["split"])
    leaking = sorted(s for s, sp in splits.items() if len(sp) > 1)
    per_brain = {s: sum(1 for r in rows if r["subject"] == s) for s in splits}
    why = (f"뇌마다 단면이 {min(per_brain.values())}–{max(per_brain.values())}장이라, 단면을 하나씩 무작위로 나누면 "
           "한 뇌의 단면이 모두 같은 분할에 떨어질 확률은 사실상 0입니다. 그래서 거의 모든 뇌의 이웃 단면(쌍둥이)이 "
           "학습과 테스트에 함께 들어갑니다. 분할은 '뇌(환자) → 분할'을 먼저 정하고 단면이 따라가게 해야 합니다.")
    if answer != len(leaking):
        raise Wrong(f"실제로 두 분할 이상에 든 뇌: {len(leaking)}개 {leaking}. {why}")
    print(f"두 분할 이상에 든 뇌: {leaking}. {why}")
