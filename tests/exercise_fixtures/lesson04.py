"""Lesson 04's exercises tried with answers the solution did not write (see ``__init__.py``)."""
from exercise_fixtures import Fixture


def _neuron(grad_q: str = "2 * (q - t)", grad_s: str = "grad_q * q * (1 - q)", grad_w: str = "grad_s * x") -> str:
    return ("import math\n"
            "def _f(w, x, b, t):\n"
            "    s = w * x + b\n"
            "    q = 1 / (1 + math.exp(-s))\n"
            f"    grad_q = {grad_q}\n"
            f"    grad_s = {grad_s}\n"
            f"    grad_w = {grad_w}\n"
            '    return {"q": grad_q, "s": grad_s, "w": grad_w, "b": grad_s}\n'
            "answer_m1 = _f")


_EMA_UPDATE = ("def _update(ema, model, decay):\n"
               "    with torch.no_grad():\n"
               "        for n, p in model.named_parameters():\n"
               "            ema[n].mul_(decay).add_(p, alpha=1 - decay)\n")

FIXTURES = [
    # ---------------------------------------------------------------- 04.M1: one neuron's backward pass by hand
    Fixture("04.M1", _neuron(grad_s="grad_q * math.exp(-s) / (1 + math.exp(-s)) ** 2"),
            why="sigma' written with exp(-s) instead of q(1 - q)"),
    Fixture("04.M1", "import numpy as np\n"
                     "def _f(w, x, b, t):\n"
                     "    q = np.float64(1) / (1 + np.exp(-(w * x + b)))\n"
                     "    d = 2 * (q - t) * q * (1 - q)\n"
                     '    return dict(q=2 * (q - t), s=d, w=d * x, b=d)\n'
                     "answer_m1 = _f", why="NumPy scalars, dict(), no intermediate names"),
    Fixture("04.M1", "import math\n"
                     "def _f(w, x, b, t):\n"
                     "    s = w * x + b\n"
                     "    q = math.exp(s) / (math.exp(s) + 1)\n"
                     "    upstream = 1.0\n"
                     "    upstream *= 2 * (q - t); dq = upstream\n"
                     "    upstream *= q * (1 - q); ds = upstream\n"
                     '    return {"b": ds * 1, "w": ds * x, "s": ds, "q": dq}\n'
                     "answer_m1 = _f", why="a running upstream gradient, keys in another order"),
    Fixture("04.M1", _neuron(grad_q="2 * (t - q)"), hint="부호가 반대", why="d/dq of (t - q)^2 taken as 2(t - q)"),
    Fixture("04.M1", _neuron(grad_q="q - t"), hint="절반", why="the 2 of the square forgotten"),
    Fixture("04.M1", _neuron(grad_s="grad_q * s * (1 - s)"), hint="출력 q = σ(s)로", why="sigma'(s) written with the input s"),
    Fixture("04.M1", _neuron(grad_s="grad_q"), hint="dq/ds를 곱하지 않았습니다", why="the sigmoid node skipped"),
    Fixture("04.M1", _neuron(grad_s="grad_q * q"), hint="σ(s) 하나가 아니라", why="sigma' taken as sigma"),
    Fixture("04.M1", _neuron(grad_w="grad_s * w"), hint="ds/dw는 w가 아니라", why="multiplied by w instead of x"),
    Fixture("04.M1", "def _f(w, x, b, t):\n"
                     "    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)\n"
                     "    s = wt * x + bt\n    s.retain_grad()\n    q = torch.sigmoid(s)\n    q.retain_grad()\n"
                     "    ((q - t) ** 2).backward()\n"
                     '    return {"q": q.grad, "s": s.grad, "w": wt.grad, "b": bt.grad}\n'
                     "answer_m1 = _f", hint="자동 미분을 쓰지 말고", why="autograd instead of the hand-written backward pass"),
    Fixture("04.M1", "answer_m1 = neuron_backprop(0.5, 2.0, -0.3, 1.0)", hint="자체를 넣으세요", why="the result, not the function"),
    # ---------------------------------------------------------------- 04.1: which gradients are None (predict)
    Fixture("04.1", 'answer_1 = {"a": None, "b": 6, "c": 12}', why="integers"),
    Fixture("04.1", 'import numpy as np\nanswer_1 = {"c": np.float32(12), "b": np.float64(6), "a": None}', why="NumPy scalars, keys in another order"),
    Fixture("04.1", "answer_1 = dict(a=None, b=torch.tensor(6.0), c=torch.tensor(12.0))", why="0-d tensors"),
    Fixture("04.1", 'answer_1 = {"a": 0.0, "b": 6.0, "c": 12.0}', hint="세 값 중 1개", why="a cut path read as a zero gradient"),
    Fixture("04.1", 'answer_1 = {"a": None, "b": 26.0, "c": 12.0}', hint="세 값 중 1개", why="b through the detached path too (a*c + 2b)"),
    Fixture("04.1", 'answer_1 = {"a": 15.0, "b": 26.0, "c": None}', hint="세 값 중 3개", why="detach ignored everywhere, c thought constant"),
    Fixture("04.1", 'answer_1 = {"a": None, "b": 6.0}', hint='키가 "a", "b", "c"', why="a key missing"),
    Fixture("04.1", "answer_1 = [None, 6.0, 12.0]", hint="딕셔너리", why="a list"),
    Fixture("04.1", 'answer_1 = {"a": None, "b": "6", "c": 12}', hint="숫자 하나를", why="a string value"),
    # ---------------------------------------------------------------- 04.2: EMA copy of the weights
    Fixture("04.2", "def _make(model):\n    return copy.deepcopy(model.state_dict())\n"
                    "def _update(ema, model, decay):\n"
                    "    with torch.no_grad():\n"
                    "        for n, p in model.named_parameters():\n"
                    "            ema[n].lerp_(p, 1 - decay)\n"
                    "answer_2 = (_make, _update)", why="deepcopy of the state_dict, lerp_"),
    Fixture("04.2", "def _make(model):\n    return {n: p.clone().detach() for n, p in model.named_parameters()}\n"
                    "def _update(ema, model, decay):\n"
                    "    for n, p in model.named_parameters():\n"
                    "        ema[n] = decay * ema[n] + (1 - decay) * p.detach()\n"
                    "answer_2 = [_make, _update]", why="clone().detach(), entries replaced, a list"),
    Fixture("04.2", "def _make(model):\n    return {n: torch.empty_like(p).copy_(p.detach()) for n, p in model.named_parameters()}\n"
                    "@torch.no_grad()\n"
                    "def _update(ema, model, decay):\n"
                    "    for n, p in model.named_parameters():\n"
                    "        ema[n].copy_(decay * ema[n] + (1 - decay) * p)\n"
                    "answer_2 = (_make, _update)", why="empty_like + copy_, the decorator form of no_grad"),
    Fixture("04.2", "def _make(model):\n    return {n: p.detach() for n, p in model.named_parameters()}\n" + _EMA_UPDATE +
                    "answer_2 = (_make, _update)", hint="같은 메모리", why="detach() alone: shares the parameters' memory"),
    Fixture("04.2", "def _make(model):\n    return model.state_dict()\n" + _EMA_UPDATE +
                    "answer_2 = (_make, _update)", hint="같은 메모리", why="state_dict() without a copy"),
    Fixture("04.2", "def _make(model):\n    return {n: p.clone() for n, p in model.named_parameters()}\n" + _EMA_UPDATE +
                    "answer_2 = (_make, _update)", hint="make_ema가 만든 텐서가 계산 그래프", why="clone() without detach: in the graph"),
    Fixture("04.2", "def _make(model):\n    return {n: p.detach().clone() for n, p in model.named_parameters()}\n"
                    "def _update(ema, model, decay):\n"
                    "    for n, p in model.named_parameters():\n"
                    "        ema[n] = decay * ema[n] + (1 - decay) * p\n"
                    "answer_2 = (_make, _update)", hint="갱신한 EMA 텐서가 계산 그래프", why="the update recorded by autograd"),
    Fixture("04.2", "def _make(model):\n    return {n: p.detach().clone() for n, p in model.named_parameters()}\n"
                    "def _update(ema, model, decay):\n"
                    "    with torch.no_grad():\n"
                    "        for n, p in model.named_parameters():\n"
                    "            ema[n].mul_(1 - decay).add_(p, alpha=decay)\n"
                    "answer_2 = (_make, _update)", hint="EMA 값이 다릅니다", why="decay and 1 - decay swapped"),
    Fixture("04.2", "def _make(model):\n    return {n: p.detach().clone() for n, p in model.named_parameters()}\n"
                    "def _update(ema, model, decay):\n"
                    "    with torch.no_grad():\n"
                    "        for n, p in model.named_parameters():\n"
                    "            ema[n].copy_(p)\n"
                    "answer_2 = (_make, _update)", hint="현재 가중치와 똑같습니다", why="the current weights copied, no average"),
    Fixture("04.2", "answer_2 = make_ema", hint="튜플", why="one function instead of the pair"),
    # ---------------------------------------------------------------- 04.3: which in-place snippet raises (predict)
    Fixture("04.3", 'answer_3 = ["D", "A"]', why="a list, upper case, another order"),
    Fixture("04.3", 'answer_3 = ("a", "d")', why="a tuple"),
    Fixture("04.3", 'answer_3 = frozenset({"(a)", " d"})', why="a frozenset, parentheses and spaces"),
    Fixture("04.3", 'answer_3 = {"a", "b", "c", "d"}', hint="예측이 실행 결과와 다릅니다", why="every in-place op raises"),
    Fixture("04.3", "answer_3 = set()", hint="예측이 실행 결과와 다릅니다", why="no in-place op raises"),
    Fixture("04.3", 'answer_3 = {"a", "c", "d"}', hint="예측이 실행 결과와 다릅니다", why="(c): sum saves its input"),
    Fixture("04.3", 'answer_3 = "ad"', hint="글자의 집합", why="a string, not a set"),
    Fixture("04.3", 'answer_3 = {"a", "e"}', hint="중 하나만", why="a letter that is not a snippet"),
]
