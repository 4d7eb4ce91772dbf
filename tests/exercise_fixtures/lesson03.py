"""Lesson 03's exercises tried with answers the solution did not write (see ``__init__.py``)."""
from exercise_fixtures import Fixture

FIXTURES = [
    # ---------------------------------------------------------------- 03.M1: unfreeze the last n blocks
    Fixture("03.M1", "def _f(m, n):\n"
                     "    blocks = backbone_blocks(m)\n"
                     "    opened = []\n"
                     "    for name, params in (blocks[-n:] if n > 0 else []):\n"
                     "        for p in params:\n"
                     "            p.requires_grad = True\n"
                     "        opened.append(name)\n"
                     "    return opened\n"
                     "answer_m1 = _f", why="[-n:] with n = 0 handled, attribute assignment"),
    Fixture("03.M1", "def _f(m, n):\n"
                     "    chosen = list(reversed(backbone_blocks(m)))[:n][::-1]\n"
                     "    for _, params in chosen:\n"
                     "        for p in params:\n"
                     "            p.requires_grad_()\n"
                     "    return [name for name, _ in chosen]\n"
                     "answer_m1 = _f", why="reversed, first n, reversed back"),
    Fixture("03.M1", "def _f(m, n):\n"
                     "    blocks = backbone_blocks(m)\n"
                     "    names = []\n"
                     "    for i in range(len(blocks) - n, len(blocks)):\n"
                     "        name, params = blocks[i]\n"
                     "        set_parameter_requires_grad_ = [p.requires_grad_(True) for p in params]\n"
                     "        names.append(name)\n"
                     "    return names\n"
                     "answer_m1 = _f", why="index range, a list comprehension for the side effect"),
    Fixture("03.M1", "def _f(m, n):\n"
                     "    opened = []\n"
                     "    for name, params in backbone_blocks(m)[-n:]:\n"
                     "        for p in params:\n"
                     "            p.requires_grad_(True)\n"
                     "        opened.append(name)\n"
                     "    return opened\n"
                     "answer_m1 = _f", hint="n=0이면 아무 블록도", why="[-n:] opens every block at n = 0"),
    Fixture("03.M1", "def _f(m, n):\n"
                     "    opened = []\n"
                     "    for name, params in backbone_blocks(m)[:n]:\n"
                     "        for p in params:\n"
                     "            p.requires_grad_(True)\n"
                     "        opened.append(name)\n"
                     "    return opened\n"
                     "answer_m1 = _f", hint="풀린 파라미터가 unfreeze_last와 다릅니다", why="the first n blocks (input side)"),
    Fixture("03.M1", "def _f(m, n):\n"
                     "    opened = []\n"
                     "    for name, params in list(reversed(backbone_blocks(m)))[:n]:\n"
                     "        for p in params:\n"
                     "            p.requires_grad_(True)\n"
                     "        opened.append(name)\n"
                     "    return opened\n"
                     "answer_m1 = _f", hint="돌려준 이름", why="names returned head first"),
    Fixture("03.M1", "def _f(m, n):\n"
                     "    opened = []\n"
                     "    for name, params in backbone_blocks(m)[len(backbone_blocks(m)) - n:]:\n"
                     "        params[0].requires_grad_(True)\n"
                     "        opened.append(name)\n"
                     "    return opened\n"
                     "answer_m1 = _f", hint="안 풀린 것", why="only the first tensor of each block"),
    Fixture("03.M1", 'answer_m1 = ["classifier", "conv_head", "blocks.6"]', hint="자체를 넣으세요",
            why="the names instead of the function"),
    # ---------------------------------------------------------------- 03.M2: layer-wise parameter groups
    Fixture("03.M2", "answer_m2 = layerwise_param_groups(ft_demo, head_lr=LR_FT, decay=LR_DECAY)", why="the helper itself"),
    Fixture("03.M2", "_g, _lr = [], LR_FT\n"
                     "for _name, _ps in reversed(backbone_blocks(ft_demo)):\n"
                     "    _t = [p for p in _ps if p.requires_grad]\n"
                     "    if not _t:\n"
                     "        break\n"
                     '    _g.append({"params": iter(_t), "lr": _lr})\n'
                     "    _lr *= LR_DECAY\n"
                     "answer_m2 = tuple(_g)", why="a tuple, generator params, no names, lr multiplied as it goes"),
    Fixture("03.M2", "_depth = {id(p): d for d, (_, ps) in enumerate(reversed(backbone_blocks(ft_demo))) for p in ps}\n"
                     'answer_m2 = [{"params": [p], "lr": LR_FT * LR_DECAY ** _depth[id(p)]} for p in ft_demo.parameters() if p.requires_grad]',
            why="one group per tensor"),
    Fixture("03.M2", "answer_m2 = layerwise_param_groups(ft_demo, head_lr=LR_FT, decay=LR_DECAY, trainable_only=False)",
            hint="고정된(requires_grad=False) 파라미터", why="frozen blocks included"),
    Fixture("03.M2", 'answer_m2 = [{"params": [p for p in ft_demo.parameters() if p.requires_grad], "lr": LR_FT}]',
            hint="모든 그룹의 학습률이 같습니다", why="one lr for everything"),
    Fixture("03.M2", "_tr = [(n, [p for p in ps if p.requires_grad]) for n, ps in backbone_blocks(ft_demo)]\n"
                     "_tr = [(n, ps) for n, ps in _tr if ps]\n"
                     'answer_m2 = [{"params": ps, "lr": LR_FT * LR_DECAY ** i} for i, (n, ps) in enumerate(_tr)]',
            hint="헤드보다 학습률이 큰 블록", why="depth counted from the input: the decay runs the wrong way"),
    Fixture("03.M2", 'answer_m2 = [{"params": [p for p in ps if p.requires_grad]} for _, ps in backbone_blocks(ft_demo) '
                     "if any(p.requires_grad for p in ps)]", hint='"lr"이 없습니다', why="groups without their lr"),
    Fixture("03.M2", 'answer_m2 = [{"params": list(ft_demo.classifier.parameters()), "lr": LR_FT},\n'
                     '             {"params": [p for p in ft_demo.blocks[6].parameters()], "lr": LR_FT * LR_DECAY}]',
            hint="빠진 것", why="conv_head forgotten"),
    Fixture("03.M2", "_tr = [(n, [p for p in ps if p.requires_grad]) for n, ps in reversed(backbone_blocks(ft_demo))]\n"
                     'answer_m2 = [{"params": ps, "lr": LR_FT * LR_DECAY ** (d + 1)} for d, (n, ps) in enumerate(_tr) if ps]',
            hint="학습률이 helpers와 다른 그룹", why="off by one: the head already decayed"),
    # ---------------------------------------------------------------- 03.1: batch norm, weights unchanged (predict)
    Fixture("03.1", 'answer_1 = "B"', why="upper case"),
    Fixture("03.1", 'answer_1 = "(b)"', why="with parentheses"),
    Fixture("03.1", 'answer_1 = " b. "', why="spaces and a full stop"),
    Fixture("03.1", 'answer_1 = "a"', hint="모든 층이 같은 방식으로", why="same weights, so the same loss"),
    Fixture("03.1", 'answer_1 = "c"', hint="예측이 측정과 다릅니다", why="lower"),
    Fixture("03.1", 'answer_1 = "d"', hint="중 하나만", why="not an option"),
    Fixture("03.1", "answer_1 = 2", hint="문자열로", why="the option's number"),
    # ---------------------------------------------------------------- 03.2: the early-stopping rule
    Fixture("03.2", "def _f(losses, patience):\n"
                    "    best_i = 0\n"
                    "    for i in range(1, len(losses)):\n"
                    "        if losses[i] < losses[best_i]:\n"
                    "            best_i = i\n"
                    "        elif i - best_i >= patience:\n"
                    "            return i + 1\n"
                    "    return None\n"
                    "answer_2 = _f", why="indices: epochs since the best"),
    Fixture("03.2", "def _f(losses, patience):\n"
                    "    for e in range(1, len(losses) + 1):\n"
                    "        seen = list(losses[:e])\n"
                    "        if e - (seen.index(min(seen)) + 1) >= patience:\n"
                    "            return e\n"
                    "answer_2 = _f", why="first occurrence of the running minimum; None by falling off the end"),
    Fixture("03.2", "import itertools\n"
                    "def _f(losses, patience):\n"
                    "    best, wait = None, 0\n"
                    "    for epoch, v in zip(itertools.count(1), losses):\n"
                    "        if best is None or v < best:\n"
                    "            best, wait = v, 0\n"
                    "            continue\n"
                    "        wait += 1\n"
                    "        if wait == patience:\n"
                    "            return epoch\n"
                    "    return None\n"
                    "answer_2 = _f", why="itertools.count, wait == patience"),
    Fixture("03.2", "def _f(losses, patience):\n"
                    "    best, waited = float('inf'), 0\n"
                    "    for epoch, value in enumerate(losses, start=1):\n"
                    "        if value <= best:\n"
                    "            best, waited = value, 0\n"
                    "        else:\n"
                    "            waited += 1\n"
                    "            if waited >= patience:\n"
                    "                return epoch\n"
                    "    return None\n"
                    "answer_2 = _f", hint="같은 값을 기록을 깬 것으로", why="<= : an equal value counted as a record"),
    Fixture("03.2", "def _f(losses, patience):\n"
                    "    best, waited = float('inf'), 0\n"
                    "    for epoch, value in enumerate(losses, start=1):\n"
                    "        if value < best:\n"
                    "            best, waited = value, 0\n"
                    "        else:\n"
                    "            waited += 1\n"
                    "            if waited > patience:\n"
                    "                return epoch\n"
                    "    return None\n"
                    "answer_2 = _f", hint="한 에포크 늦게", why="> patience: PyTorch's ReduceLROnPlateau rule"),
    Fixture("03.2", "def _f(losses, patience):\n"
                    "    best, waited = float('inf'), 0\n"
                    "    for epoch, value in enumerate(losses):\n"
                    "        if value < best:\n"
                    "            best, waited = value, 0\n"
                    "        else:\n"
                    "            waited += 1\n"
                    "            if waited >= patience:\n"
                    "                return epoch\n"
                    "    return None\n"
                    "answer_2 = _f", hint="하나씩 작습니다", why="epochs counted from 0"),
    Fixture("03.2", "def _f(losses, patience):\n"
                    "    best, waited = float('inf'), 0\n"
                    "    for epoch, value in enumerate(losses, start=1):\n"
                    "        if value < best:\n"
                    "            best = value\n"
                    "        else:\n"
                    "            waited += 1\n"
                    "            if waited >= patience:\n"
                    "                return epoch\n"
                    "    return None\n"
                    "answer_2 = _f", hint="0으로 되돌리세요", why="the wait never reset"),
    Fixture("03.2", "def _f(losses, patience):\n"
                    "    best, waited, best_epoch = float('inf'), 0, None\n"
                    "    for epoch, value in enumerate(losses, start=1):\n"
                    "        if value < best:\n"
                    "            best, waited, best_epoch = value, 0, epoch\n"
                    "        else:\n"
                    "            waited += 1\n"
                    "            if waited >= patience:\n"
                    "                return best_epoch\n"
                    "    return None\n"
                    "answer_2 = _f", hint="최고 기록의 에포크를", why="returns the best epoch"),
    Fixture("03.2", "def _f(losses, patience):\n"
                    "    best, waited = float('inf'), 0\n"
                    "    for epoch, value in enumerate(losses, start=1):\n"
                    "        if value < best:\n"
                    "            best, waited = value, 0\n"
                    "        else:\n"
                    "            waited += 1\n"
                    "            if waited >= patience:\n"
                    "                return epoch\n"
                    "    return len(losses)\n"
                    "answer_2 = _f", hint="None을 돌려주세요", why="the last epoch instead of None"),
    Fixture("03.2", "def _f(losses, patience):\n"
                    "    return losses.index(min(losses)) + patience + 1 if losses[-1] > min(losses) else None\n"
                    "answer_2 = _f", hint="멈추는 에포크가 EarlyStopping과 다릅니다", why="best + patience from the whole list"),
]

FIXTURES += [
    # ---------------------------------------------------------------- 03.3: when does ReduceLROnPlateau cut (predict)
    Fixture("03.3", "answer_3 = 3.0", why="a float that is a whole number"),
    Fixture("03.3", "import numpy as np\nanswer_3 = np.int64(3)", why="a NumPy integer"),
    Fixture("03.3", "answer_3 = 1 + 1 + 1", why="an expression (first flat epoch + one more than patience)"),
    Fixture("03.3", "answer_3 = 2", hint="Keras의 ReduceLROnPlateau라면", why="Keras's rule (wait >= patience)"),
    Fixture("03.3", "answer_3 = 1", hint="최고 기록입니다", why="the first epoch counted as a bad one"),
    Fixture("03.3", "answer_3 = 4", hint="너무 늦습니다", why="one epoch too late"),
    Fixture("03.3", "answer_3 = torch.tensor(3)", hint="텐서가 아니라", why="a tensor"),
    Fixture("03.3", 'answer_3 = "3"', hint="정수", why="a string"),
]
