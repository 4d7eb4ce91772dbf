"""The self-check at the end of every lesson: each claim the lesson made, asserted, in Korean.

::

    with self_check():
        assert tuple(x.shape) == (32, 3, 224, 224), f"배치 모양이 (32, 3, 224, 224)여야 하는데 {tuple(x.shape)}입니다"
        claim("특징 추출이 처음부터 학습보다 더 맞힌 사진 수", fe_wins - scratch_wins, 2, unit="장")
        print("자기 점검 통과 ✔")

- A failed ``assert`` inside ``self_check()`` stops the cell with ``SelfCheckFailed``: one Korean
  message (what was expected and what was measured, from the assert), the self-check's line, and
  what to try; no traceback.
- ``claim`` is an assert with a margin: it prints how far the measured value is from failing, in
  the claim's own unit, and (when ``COURSE_CLAIMS_LOG`` names a file) appends it there as a JSON
  line, which ``benchmarks/claims_sweep.py`` collects over seeds and thread counts.
"""
from __future__ import annotations

import json
import os
import traceback
from contextlib import contextmanager
from typing import Iterator

from helpers.errors import SelfCheckFailed

SELF_CHECK_PASSED = "자기 점검 통과"
"""What a lesson's self-check prints when every assert held (tests and the claims sweep look for it)."""

WHAT_TO_TRY = ("해볼 것: 위쪽 셀을 고쳤다면 되돌리고, 커널을 다시 시작해 처음부터 모두 실행하세요 "
               "(Kernel → Restart Kernel and Run All Cells). 그래도 실패하면 이 메시지를 강사에게 보여 주세요.")


@contextmanager
def self_check() -> Iterator[None]:
    """Run the self-check's asserts; the first that fails becomes one Korean ``SelfCheckFailed``."""
    try:
        yield
    except AssertionError as error:
        if isinstance(error, SelfCheckFailed):
            raise
        frame = traceback.extract_tb(error.__traceback__)[-1]
        where = f"자기 점검 셀 {frame.lineno}번째 줄: {(frame.line or '').strip()}"
        raise SelfCheckFailed(f"자기 점검 실패: {error or '조건이 맞지 않습니다'}\n({where})\n{WHAT_TO_TRY}") from None


def claim(text: str, measured: float, bound: float, *, higher: bool = True, unit: str = "") -> float:
    """Assert ``measured >= bound`` (``higher``) or ``measured <= bound``; print and return the margin.

    The margin is ``measured - bound`` (or ``bound - measured``) in ``unit``: 0 means the claim holds
    with nothing to spare (for counts: one photo more on the wrong side fails it).
    """
    margin = (measured - bound) if higher else (bound - measured)
    passed = margin >= 0
    log = os.environ.get("COURSE_CLAIMS_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(json.dumps({"claim": text, "measured": float(measured), "bound": float(bound),
                                  "higher": higher, "margin": float(margin), "unit": unit, "passed": passed},
                                 ensure_ascii=False) + "\n")
    side = "이상" if higher else "이하"
    assert passed, f"{text}: 측정값 {measured:g}{unit}, 기준은 {bound:g}{unit} {side}입니다 (모자란 만큼 {-margin:g}{unit})"
    print(f"✔ {text}: {measured:g}{unit} (기준 {bound:g}{unit} {side}, 여유 {margin:g}{unit})")
    return margin
