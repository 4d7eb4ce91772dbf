"""Checks for lesson 07 (brain MRI case study). Each raises ``Wrong(hint)``; the hint points at the
mistake without the answer. Measurements are printed only after 통과, and only the numbers: the
reasoning is left to the lesson's "설명해 보기" cells.

The core mechanisms ("07.M1", "07.M2") and exercise 07.1 are run on the lesson's validation outputs
and on inputs built here (ties, and a case where the usual mistakes give different answers), and
compared with ``helpers.metrics``; every correct answer is accepted.

>>> from helpers.exercises import check
>>> check("07.M1", answer_m1, y=y_val, scores=s_val)
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import torch

from helpers.exercises import Wrong, as_choice, as_function, as_number, as_numbers, exercise, judge_choice
from helpers.metrics import roc_auc, roc_curve, sensitivity_specificity

# A case where the right cost threshold, the strict ">" rule, swapped costs and Youden's rule all differ.
_MISTAKES_DIFFER = (torch.tensor([1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0], dtype=torch.int32),
                    torch.tensor([0.213, 0.813, 0.813, 0.963, 0.213, 0.413, 0.513, 0.563, 0.113, 0.163, 0.763, 0.413]))


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
    my_sens_spec = as_function(answer, "answer_m1", "my_sens_spec")
    for y_c, s_c in _cases(y, scores) + [_MISTAKES_DIFFER]:
        for t in (float(s_c.min()), float(s_c.median()), 0.5, float(s_c.max())):
            got = tuple(as_numbers(my_sens_spec(y_c.clone(), s_c.clone(), t), "my_sens_spec의 결과", length=2, tensor=False))
            want = sensitivity_specificity(y_c, (s_c >= t).int())
            if np.allclose(got, want, atol=1e-6):
                continue
            if np.allclose(got, want[::-1], atol=1e-6):
                raise Wrong("두 값의 순서가 바뀐 것 같습니다. 첫째는 실제 양성 중 찾아낸 비율, 둘째는 실제 음성 중 맞힌 비율입니다.")
            if np.allclose(got, sensitivity_specificity(y_c, (s_c > t).int()), atol=1e-6):
                raise Wrong(f"임계값 {t:.3f}와 점수가 같은 단면을 음성으로 불렀습니다. '점수 ≥ 임계값'이 양성입니다.")
            raise Wrong(f"임계값 {t:.3f}에서 helpers의 결과 {tuple(round(v, 3) for v in want)}와 다릅니다. "
                        "분모가 실제 양성(TP + FN)과 실제 음성(TN + FP)인지 보세요.")


@exercise("07.M2")
def roc_by_hand(answer: Any, y: Any, scores: Any) -> None:
    """``answer``: ``f(y, scores) -> (fpr, tpr, auc)``; compared with ``roc_curve`` / ``roc_auc``."""
    my_roc = as_function(answer, "answer_m2", "my_roc")
    for y_c, s_c in _cases(y, scores):
        result = my_roc(y_c.clone(), s_c.clone())
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise Wrong("my_roc는 (fpr, tpr, auc) 세 가지를 튜플로 돌려줘야 합니다.")
        fpr, tpr, area = result
        fpr = np.asarray(as_numbers(fpr, "fpr"), dtype=float)
        tpr = np.asarray(as_numbers(tpr, "tpr"), dtype=float)
        area = as_number(area, "auc", tensor=False)
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
        if not np.isclose(area, roc_auc(y_c, s_c), atol=1e-6):
            raise Wrong(f"넓이 {area:.4f}가 AUC {roc_auc(y_c, s_c):.4f}와 다릅니다. "
                        "사다리꼴 규칙의 가로축은 fpr, 세로축은 tpr입니다.")


def _cost(y: torch.Tensor, s: torch.Tensor, t: float, cost_miss: float, *, strict: bool = False,
          swapped: bool = False) -> float:
    called = s > t if strict else s >= t
    fn, fp = int((~called & (y == 1)).sum()), int((called & (y == 0)).sum())
    return cost_miss * fp + fn if swapped else cost_miss * fn + fp


def _youden(y: torch.Tensor, s: torch.Tensor, t: float) -> float:
    sens, spec = sensitivity_specificity(y, (s >= t).int())
    return sens + spec - 1


@exercise("07.1")
def cost_threshold(answer: Any, y: Any, scores: Any, cost_miss: Any, youden_threshold: Any = None) -> None:
    """``answer``: ``f(y, scores) -> threshold`` (a Python number) with the lowest ``cost_miss * FN + FP``
    on those outputs, among the scores' distinct values ("score >= threshold" is positive).
    On 통과, with ``youden_threshold`` (section 5's threshold), prints how both thresholds decide
    on the lesson's validation outputs: sensitivity and specificity, not the raw threshold values
    (Youden's threshold is a midpoint between two scores, the cost rule returns a score)."""
    my_cost_threshold = as_function(answer, "answer_1", "my_cost_threshold")
    cost_miss = as_number(cost_miss, "COST_MISS")
    for y_c, s_c in [_MISTAKES_DIFFER] + _cases(y, scores):   # the case where the mistakes differ comes first
        t = as_number(my_cost_threshold(y_c.clone(), s_c.clone()), "my_cost_threshold가 돌려준 임계값", tensor=False)
        candidates = [float(c) for c in torch.unique(s_c)]

        def best(f, lowest=True):
            values = [f(c) for c in candidates]
            return min(values) if lowest else max(values)

        if _cost(y_c, s_c, t, cost_miss) <= best(lambda c: _cost(y_c, s_c, c, cost_miss)) + 1e-9:
            continue
        if t in candidates and (_cost(y_c, s_c, t, cost_miss, strict=True)
                                <= best(lambda c: _cost(y_c, s_c, c, cost_miss, strict=True)) + 1e-9):
            raise Wrong("임계값과 점수가 같은 단면을 음성으로 불렀습니다. '점수 ≥ 임계값'이 양성입니다.")
        if _cost(y_c, s_c, t, cost_miss, swapped=True) <= best(lambda c: _cost(y_c, s_c, c, cost_miss, swapped=True)) + 1e-9:
            raise Wrong("비싼 쪽이 바뀌었습니다. COST_MISS배는 놓친 양성(FN: 실제 양성인데 점수 < 임계값)에 붙습니다.")
        if _youden(y_c, s_c, t) >= best(lambda c: _youden(y_c, s_c, c), lowest=False) - 1e-9:
            raise Wrong("민감도 + 특이도 − 1이 가장 큰 임계값(5절의 규칙)입니다. 그 규칙은 놓침 하나를 헛경보 N/P개로 칩니다"
                        "(P, N = 양성·음성 수). 이 연습은 COST_MISS개로 칩니다: 후보마다 COST_MISS × FN + FP를 세어 "
                        "가장 작은 것을 고르세요.")
        raise Wrong("비용이 더 작은 임계값이 있습니다. 점수의 서로 다른 값을 모두 후보로 보고(정해 둔 간격의 값이 아니라), "
                    "후보마다 FN과 FP를 다시 세세요.")
    if youden_threshold is not None:
        y_v, s_v = _cases(y, scores)[0]
        n_pos, n_neg = int(y_v.sum()), int((y_v == 0).sum())
        by_cost = sensitivity_specificity(y_v, (s_v >= as_number(my_cost_threshold(y_v.clone(), s_v.clone()))).int())
        by_youden = sensitivity_specificity(y_v, (s_v >= as_number(youden_threshold, "threshold")).int())
        print(f"측정(검증 점수, 양성 P = {n_pos}, 음성 N = {n_neg}): 5절의 Youden 규칙은 놓침 하나를 헛경보 "
              f"N/P = {n_neg / n_pos:.1f}개로 칩니다. 비용 규칙(COST_MISS = {cost_miss:g}): 민감도 {by_cost[0]:.2f}, "
              f"특이도 {by_cost[1]:.2f} | Youden 규칙: 민감도 {by_youden[0]:.2f}, 특이도 {by_youden[1]:.2f}.")


@exercise("07.2")
def threshold_on_test(answer: Any, youden: Mapping[str, float]) -> None:
    """``answer``: "a" / "b" / "c"; the test Youden index with a test-chosen threshold is never below the validation one's."""
    answer = as_choice(answer, "abc", "answer_2")
    judge_choice(answer, "a", {"else": "테스트에서 고른 임계값은 어느 데이터의 점수에서, 무엇을 가장 크게 만들도록 고른 것인가요? "
                                       "보고한 값도 같은 데이터에서 잰 것입니다."})
    on_val, on_test = youden["threshold from validation"], youden["threshold from test"]
    print(f"측정(테스트 뇌의 민감도 + 특이도 − 1): 검증에서 고른 임계값으로 {on_val:.3f}, "
          f"테스트에서 고른 임계값으로 {on_test:.3f}.")


def twin_share(rows: Iterable[Mapping[str, str]], within_mm: float = 2.0) -> float:
    """Share of the test rows with a training row of the same subject within ``within_mm`` (a near twin)."""
    rows = list(rows)
    train: dict[str, list[float]] = {}
    for r in rows:
        if r["split"] == "train":
            train.setdefault(r["subject"], []).append(float(r["y_mm"]))
    test = [r for r in rows if r["split"] == "test"]
    return float(np.mean([any(abs(float(r["y_mm"]) - t) <= within_mm for t in train.get(r["subject"], []))
                          for r in test]))


@exercise("07.3")
def twins_in_training(answer: Any, rows: Iterable[Mapping[str, str]]) -> None:
    """``answer``: "a" (< 40 %), "b" (40-80 %) or "c" (>= 80 %): the share of test slices with a same-brain
    training slice within 2 mm, after a slice-by-slice random split ``rows``."""
    answer = as_choice(answer, "abc", "answer_3")
    share = twin_share(rows)
    right = "a" if share < 0.4 else "b" if share < 0.8 else "c"
    judge_choice(answer, right, {
        "a": "20%는 단면 하나가 테스트로 갈 확률입니다. 물음은 테스트 단면의 2 mm 이내 이웃이 학습 분할에 있느냐입니다.",
        "b": "60%는 이웃 단면 한 장이 학습으로 갈 확률입니다. 테스트 단면 하나에 2 mm 이내 이웃이 몇 장인지 세어 보세요"
             "(단면 간격은 뇌마다 다릅니다: SOURCES.csv의 y_mm. 학습 뇌는 같은 사람의 처리본이 셋입니다).",
        "c": "이웃 단면이 모두 학습 밖에 있을 확률을 계산해 보세요.",
    })
    print(f"측정: 테스트 단면의 {share:.0%}가 학습 분할에 2 mm 이내 쌍둥이를 둡니다.")
