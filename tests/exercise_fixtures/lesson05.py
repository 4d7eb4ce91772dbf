"""Lesson 05's exercises tried with answers the solution did not write (see ``__init__.py``)."""
from exercise_fixtures import Fixture

FIXTURES = [
    # ---------------------------------------------------------------- 05.M1: my_log_softmax by hand
    Fixture("05.M1", "def _f(x, dim=1):\n"
                     "    m = x.max(dim=dim, keepdim=True).values\n"
                     "    return x - (m + torch.log(torch.sum(torch.exp(x - m), dim=dim, keepdim=True)))\n"
                     "answer_m1 = _f", why="max().values and the LSE added back as m + log-sum"),
    Fixture("05.M1", "def _f(x, dim=1):\n"
                     "    m = x.amax(dim, keepdim=True).detach()\n"
                     "    s = x - m\n"
                     "    return s - s.exp().sum(dim, keepdim=True).log()\n"
                     "answer_m1 = _f", why="method chain, the max detached (the shift cancels in the gradient)"),
    Fixture("05.M1", "answer_m1 = lambda x, dim=1: (x - x.amax(dim, True)) - (x - x.amax(dim, True)).exp().sum(dim, True).log()",
            why="a lambda with positional keepdim"),
    Fixture("05.M1", "def _f(x, dim=1):\n    return torch.log(torch.softmax(x, dim=dim))\nanswer_m1 = _f",
            hint="-inf가 나옵니다", why="log of torch.softmax: the underflow the lesson shows"),
    Fixture("05.M1", "def _f(x, dim=1):\n    e = torch.exp(x)\n    return torch.log(e / e.sum(dim=dim, keepdim=True))\nanswer_m1 = _f",
            hint="nan이 나옵니다", why="fully naive: no max subtraction"),
    Fixture("05.M1", "answer_m1 = lambda x, dim=1: x - torch.special.logsumexp(x, dim, keepdim=True)",
            hint="logsumexp", why="torch.special.logsumexp (not in the old list of patched names)"),
    Fixture("05.M1", "answer_m1 = lambda x, dim=1: torch._log_softmax(x, dim, False)",
            hint="log_softmax", why="the private kernel torch._log_softmax"),
    Fixture("05.M1", "answer_m1 = lambda x, dim=1: x.log_softmax(dim)", hint="log_softmax", why="the Tensor method"),
    Fixture("05.M1", "def _f(x, dim=1):\n"
                     "    m = x.amax(dim=1, keepdim=True)\n"
                     "    return (x - m) - torch.log(torch.exp(x - m).sum(dim=1, keepdim=True))\n"
                     "answer_m1 = _f", hint="dim=0을 주었을 때", why="dim hard-coded to 1"),
    Fixture("05.M1", "def _f(x, dim=1):\n"
                     "    m = x.amax(dim=dim, keepdim=True)\n"
                     "    return (x - m) - torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True)).detach()\n"
                     "answer_m1 = _f", hint="기울기가 다릅니다", why="the LSE detached: right values, wrong gradient"),
    Fixture("05.M1", "def _f(x, dim=1):\n"
                     "    m = x.amax(dim=dim, keepdim=True)\n"
                     "    return torch.log(torch.exp(x - m) / torch.exp(x - m).sum(dim=dim, keepdim=True))\n"
                     "answer_m1 = _f", hint="-inf가 나옵니다", why="max subtracted, but the log still taken of a probability"),
    Fixture("05.M1", "def _f(x, dim=1):\n"
                     "    m = x.amax(dim=dim, keepdim=True)\n"
                     "    return -torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True)) + x * 0\n"
                     "answer_m1 = _f", hint="값이 torch.log_softmax와 다릅니다", why="forgets the (x - m) term"),
    Fixture("05.M1", "answer_m1 = my_log_softmax(x_over)", hint="자체를 넣으세요", why="the function's result, not the function"),
    # ---------------------------------------------------------------- 05.1: float16 overflow (predict)
    Fixture("05.1", "import numpy as np\nanswer_1 = np.int64(12)", why="a NumPy integer"),
    Fixture("05.1", "answer_1 = 12.0", why="a float that is a whole number"),
    Fixture("05.1", "answer_1 = int(math.log(65504)) + 1", why="computed from ln(max)"),
    Fixture("05.1", "answer_1 = 11", hint="예측이 실행 결과와 다릅니다", why="floor of ln(65504): the last n that fits"),
    Fixture("05.1", "answer_1 = 89", hint="예측이 실행 결과와 다릅니다", why="the float32 value of section 3"),
    Fixture("05.1", "answer_1 = torch.tensor(12)", hint="텐서가 아니라", why="a tensor where a plain integer is asked"),
    Fixture("05.1", "answer_1 = 11.09", hint="정수를 넣으세요", why="ln(65504) itself, not an integer"),
    Fixture("05.1", 'answer_1 = "12"', hint="정수", why="a string"),
    # ---------------------------------------------------------------- 05.2: entropies per temperature
    Fixture("05.2", "answer_2 = [torch.distributions.Categorical(logits=example[0] / T).entropy().item() for T in [0.5, 1, 2, 5]]",
            why="torch.distributions.Categorical"),
    Fixture("05.2", "answer_2 = torch.stack([-(torch.softmax(example / T, 1) * torch.log_softmax(example / T, 1)).sum() for T in temperatures])",
            why="a 1-d tensor, log_softmax for log p"),
    Fixture("05.2", "import numpy as np\n"
                    "_p = [np.exp(example.cpu().numpy()[0] / T) / np.exp(example.cpu().numpy()[0] / T).sum() for T in (0.5, 1.0, 2.0, 5.0)]\n"
                    "answer_2 = tuple(np.float64(-(p * np.log(p)).sum()) for p in _p)", why="NumPy scalars in a tuple"),
    Fixture("05.2", "answer_2 = [float('nan')] * 4", hint="nan", why="NaN entropies (passed the old check)"),
    Fixture("05.2", "answer_2 = []", hint="비어 있습니다", why="an empty list (passed the old check with temperatures = [])"),
    Fixture("05.2", "class _Liar(list):\n    def __len__(self):\n        return 4\nanswer_2 = _Liar([1.0])",
            hint="4개 있어야", why="a list that lies about its length"),
    Fixture("05.2", "temperatures = [0.5]\nanswer_2 = [-(torch.softmax(example / 0.5, 1) * torch.log(torch.softmax(example / 0.5, 1))).sum().item()]",
            hint="4개 있어야", why="temperatures edited in the student's namespace: the check keeps its own"),
    Fixture("05.2", "answer_2 = [-(torch.softmax(example / T, 1) * torch.log2(torch.softmax(example / T, 1))).sum().item() for T in [0.5, 1, 2, 5]]",
            hint="밑이 2인 로그", why="log2 instead of the natural log"),
    Fixture("05.2", "answer_2 = [-(torch.softmax(example * T, 1) * torch.log(torch.softmax(example * T, 1))).sum().item() for T in [0.5, 1, 2, 5]]",
            hint="T로 나누세요", why="logits multiplied by T"),
    Fixture("05.2", "answer_2 = [-(torch.softmax(example / T, 0) * torch.log(torch.softmax(example / T, 0))).sum().item() for T in [0.5, 1, 2, 5]]",
            hint="dim=1", why="softmax over the batch axis"),
    Fixture("05.2", "answer_2 = [-(torch.softmax(example / T, 1) * torch.log(torch.softmax(example / T, 1))).sum().item() for T in [5, 2, 1, 0.5]]",
            hint="순서가 거꾸로", why="temperatures in the reverse order"),
    Fixture("05.2", "answer_2 = [(torch.softmax(example / T, 1) * torch.log(torch.softmax(example / T, 1))).sum().item() for T in [0.5, 1, 2, 5]]",
            hint="음수 부호", why="the minus sign forgotten"),
    # ---------------------------------------------------------------- 05.3: label-smoothed cross-entropy
    Fixture("05.3", "def _f(logits, labels, eps):\n"
                    "    log_p = F.log_softmax(logits, dim=1)\n"
                    "    nll = -log_p.gather(1, labels[:, None]).squeeze(1)\n"
                    "    return ((1 - eps) * nll - eps * log_p.mean(dim=1)).mean()\n"
                    "answer_3 = _f", why="(1 - eps) NLL + eps * mean over classes"),
    Fixture("05.3", "def _f(logits, labels, eps):\n"
                    "    c = logits.shape[1]\n"
                    "    q = F.one_hot(labels, c).to(logits.dtype) * (1 - eps) + eps / c\n"
                    "    return F.cross_entropy(logits, q)\n"
                    "answer_3 = _f", why="probability targets in F.cross_entropy"),
    Fixture("05.3", "def _f(logits, labels, eps):\n"
                    "    log_p = my_log_softmax(logits)\n"
                    "    c = log_p.shape[1]\n"
                    "    q = torch.zeros_like(log_p).scatter_(1, labels[:, None], 1 - eps) + eps / c\n"
                    "    return torch.mean(torch.sum(-q * log_p, dim=1))\n"
                    "answer_3 = _f", why="the student's own my_log_softmax and scatter_"),
    Fixture("05.3", "def _f(logits, labels, eps):\n"
                    "    p = torch.softmax(logits, 1)\n"
                    "    c = p.shape[1]\n"
                    "    q = F.one_hot(labels, c) * (1 - eps) + eps / c\n"
                    "    return -(q * torch.log(p)).sum(1).mean()\n"
                    "answer_3 = _f", hint="inf/nan", why="log of probabilities"),
    Fixture("05.3", "def _f(logits, labels, eps):\n"
                    "    log_p = torch.log_softmax(logits, 1)\n"
                    "    c = log_p.shape[1]\n"
                    "    q = F.one_hot(labels, c) * (1 - eps) + eps / (c - 1) * (1 - F.one_hot(labels, c))\n"
                    "    return -(q * log_p).sum(1).mean()\n"
                    "answer_3 = _f", hint="eps = 0.1에서 다릅니다", why="eps spread over the wrong classes only (C - 1)"),
    Fixture("05.3", "def _f(logits, labels, eps):\n"
                    "    log_p = torch.log_softmax(logits, 1)\n"
                    "    q = F.one_hot(labels, log_p.shape[1]) * (1 - eps) + eps / log_p.shape[1]\n"
                    "    return -(q * log_p).sum()\n"
                    "answer_3 = _f", hint="eps = 0 (스무딩 없음)에서도", why="sum over the batch instead of the mean"),
    Fixture("05.3", "def _f(logits, labels, eps):\n"
                    "    log_p = torch.log_softmax(logits, 1)\n"
                    "    q = F.one_hot(labels, log_p.shape[1]) * (1 - eps) + eps / log_p.shape[1]\n"
                    "    return -(q * log_p).sum(1)\n"
                    "answer_3 = _f", hint="스칼라 텐서 하나", why="per-sample losses, no mean"),
    Fixture("05.3", "def _f(logits, labels, eps):\n"
                    "    log_p = torch.log_softmax(logits, 0)\n"
                    "    q = F.one_hot(labels, log_p.shape[1]) * (1 - eps) + eps / log_p.shape[1]\n"
                    "    return -(q * log_p).sum(1).mean()\n"
                    "answer_3 = _f", hint="eps = 0 (스무딩 없음)에서도", why="log_softmax over the batch axis"),
    Fixture("05.3", "def _f(logits, labels, eps):\n"
                    "    log_p = torch.log_softmax(logits, 1)\n"
                    "    n, c = log_p.shape\n"
                    "    q = torch.zeros(n, c).scatter_(1, labels[:, None], 1 - eps) + eps / c\n"
                    "    return -(q * log_p).sum(1).mean()\n"
                    "answer_3 = _f", hint="device=logits.device",
            why="torch.zeros made on the lesson's default device (the stand-in GPU the instructor kernel runs on) "
                "while the check passes CPU tensors"),
]
