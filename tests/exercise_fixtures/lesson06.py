"""Lesson 06's exercises tried with answers the solution did not write (see ``__init__.py``)."""
from exercise_fixtures import Fixture

_M1_RIGHT_NONLOCAL = '''
def _f(model, layer, x):
    got = None
    def hook(module, inputs, output):
        nonlocal got
        got = output.clone().detach()
    handle = layer.register_forward_hook(hook)
    try:
        with torch.inference_mode():
            model(x)
    finally:
        handle.remove()
    return got
answer_m1 = _f
'''
_M1_RIGHT_LIST = '''
def _f(model, layer, x):
    outs = []
    handle = layer.register_forward_hook(lambda m, i, o: outs.append(o.detach().clone()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return outs[-1]
answer_m1 = _f
'''
_M1_RIGHT_FEATUREMAPS = '''
def _f(model, layer, x):
    name = next(n for n, m in model.named_modules() if m is layer)
    with FeatureMaps(model, names=[name]) as maps, torch.no_grad():
        model(x)
    return maps.maps[name]
answer_m1 = _f
'''


def _m1(store: str, remove: str = "finally", grad: str = "with torch.no_grad():") -> str:
    body = f"        {grad}\n            model(x)\n" if grad else "        model(x)\n"
    if remove == "finally":
        run = f"    try:\n{body}    finally:\n        handle.remove()\n"
    elif remove == "after":
        run = f"    if True:\n{body}    handle.remove()\n"
    else:
        run = f"    if True:\n{body}"
    return ("def _f(model, layer, x):\n    saved = {}\n"
            f"    def hook(module, inputs, output):\n        saved['out'] = {store}\n"
            "    handle = layer.register_forward_hook(hook)\n" + run + "    return saved['out']\nanswer_m1 = _f\n")


_CAM = '''
def _f(model, x, layer, class_idx):
    kept = {{}}
    def fwd(module, inputs, output):
        kept["A"] = output
        {grad_line}
    handles = [layer.register_forward_hook(fwd)]
    {extra}
    try:
        scores = model(x)
        model.zero_grad()
        scores[0, class_idx].backward()
    finally:
        {remove}
    A, dA = kept["A"].detach()[0], {dA}
    w = dA.mean(dim=(1, 2))
    heat = {relu}((w[:, None, None] * A).sum(0))
    heat = F.interpolate(heat[None, None], size=x.shape[-2:], mode="{mode}", {align})[0, 0]
    {norm}
answer_m2 = _f
'''


def _cam(grad_line='output.register_hook(lambda g: kept.__setitem__("dA", g))', extra="", remove="[h.remove() for h in handles]",
         dA='kept["dA"][0]', relu="F.relu", mode="bilinear", align="align_corners=False",
         norm="heat = heat - heat.min()\n    return heat / heat.max()") -> str:
    return _CAM.format(grad_line=grad_line, extra=extra, remove=remove, dA=dA, relu=relu, mode=mode, align=align, norm=norm)


_SCORE = '''
def _f(model, x, layer, channels, class_idx):
    def hook(module, inputs, output):
{body}
    handle = layer.register_forward_hook(hook)
    try:
        with torch.no_grad():
            return {ret}
    finally:
        {remove}
answer_2 = _f
'''


def _score(body="        output = output.clone()\n        output[:, channels] = 0\n        return output",
           ret="model(x)[0, class_idx].item()", remove="handle.remove()") -> str:
    return _SCORE.format(body=body, ret=ret, remove=remove)


FIXTURES = [
    # ---------------------------------------------------------------- 06.M1: capture one layer's output
    Fixture("06.M1", _M1_RIGHT_NONLOCAL, why="nonlocal, clone().detach() order, inference_mode"),
    Fixture("06.M1", _M1_RIGHT_LIST, why="a list and a lambda hook"),
    Fixture("06.M1", _M1_RIGHT_FEATUREMAPS, why="the helper FeatureMaps with the layer's name"),
    Fixture("06.M1", _m1("output.detach().clone()", remove="never"), hint="훅이 모델에 남아",
            why="forgets handle.remove(): the hook stays (and must not poison the next try)"),
    Fixture("06.M1", _m1("output.detach().clone()", remove="after"), hint="finally",
            why="remove() after the forward, not in finally: a forward error leaves the hook"),
    Fixture("06.M1", _m1("output"), hint="제자리에서 덮어썼습니다", why="stores the live output: no detach, no clone"),
    Fixture("06.M1", _m1("output.detach()"), hint="제자리에서 덮어썼습니다", why="detach() without clone(): shares memory"),
    Fixture("06.M1", _m1("output.clone()", grad=""), hint="그래프에서 떼어", why="no no_grad, no detach: the graph comes along"),
    Fixture("06.M1", _m1("inputs[0].detach().clone()"), hint="세 인자 중 무엇이 출력", why="the input instead of the output"),
    Fixture("06.M1", "answer_m1 = capture_output(model, last_conv, x)", hint="자체를 넣으세요", why="the result, not the function"),
    # ---------------------------------------------------------------- 06.M2: Grad-CAM with hooks
    Fixture("06.M2", _cam(grad_line="output.retain_grad()", dA='kept["A"].grad[0]'), why="retain_grad() instead of a tensor hook"),
    Fixture("06.M2", _cam(grad_line="pass", extra='handles.append(layer.register_full_backward_hook(lambda m, gi, go: kept.__setitem__("dA", go[0])))'),
            why="a full backward hook for the gradient"),
    Fixture("06.M2", _cam(norm="return (heat - heat.min()) / (heat.max() - heat.min())"), why="min-max in one line"),
    Fixture("06.M2", _cam(relu=""), hint="ReLU를 적용했는지", why="no ReLU after the weighted sum"),
    Fixture("06.M2", _cam(dA='-kept["dA"][0]'), hint="기울기의 부호", why="the gradient's sign flipped"),
    Fixture("06.M2", _cam(remove="pass"), hint="훅이 남아", why="the hook never removed"),
    Fixture("06.M2", _cam(mode="nearest", align=""), hint="bilinear", why="nearest upsampling"),
    Fixture("06.M2", _cam(norm="return heat"), hint="[0, 1]이 아닙니다", why="no scaling to [0, 1]"),
    # ---------------------------------------------------------------- 06.1: activation classes, then explain their range
    Fixture("06.1", 'act_types = (nn.ReLU6,)\nanswer_1 = "(A)"', why="upper case in parentheses"),
    Fixture("06.1", 'act_types = nn.ReLU6\nanswer_1 = " a "', why="a single class, not a tuple"),
    Fixture("06.1", 'act_types = tuple({type(m) for m in model.modules() if type(m).__name__ == "ReLU6"})\nanswer_1 = "a"',
            why="classes found by scanning model.modules()"),
    Fixture("06.1", 'act_types = [nn.ReLU6]\nanswer_1 = "a)"', why="a list of classes"),
    Fixture("06.1", 'act_types = None\nanswer_1 = "a"', hint="act_types가 아직 None", why="the choice without the code"),
    Fixture("06.1", 'act_types = (nn.ReLU6,)\nanswer_1 = "b"', hint="설명은 출력한 숫자와 맞지 않습니다", why="BatchNorm as the reason"),
    Fixture("06.1", 'act_types = (nn.ReLU6, nn.BatchNorm2d)\nanswer_1 = "a"', hint="활성화 함수가 아닌 층",
            why="an extra non-activation class (BatchNormAct2d is a BatchNorm2d)"),
    Fixture("06.1", 'act_types = (nn.ReLU,)\nanswer_1 = "a"', hint="잡힌 층이 없습니다", why="ReLU instead of ReLU6"),
    Fixture("06.1", 'act_types = (nn.ReLU6(),)\nanswer_1 = "a"', hint="클래스들의 튜플", why="an instance, not the class"),
    Fixture("06.1", 'act_types = (nn.ReLU6,)\nanswer_1 = "c"', hint="설명은 출력한 숫자와 맞지 않습니다", why="zeros as missing maps (last: leaves act_types right for the solution's re-check)"),
    # ---------------------------------------------------------------- 06.2: switch channels off with a hook
    Fixture("06.2", _score(body="        output[:, channels] = 0"), why="in place on the output under no_grad, returning None"),
    Fixture("06.2", _score(body="        keep = torch.ones(output.shape[1], device=output.device)\n        keep[channels] = 0\n"
                                "        return output * keep[None, :, None, None]"), why="a channel mask"),
    Fixture("06.2", _score(body="        return output.index_fill(1, torch.tensor(channels, dtype=torch.long, device=output.device), 0.0)",
                           ret="float(model(x)[0, class_idx])"), why="index_fill and float()"),
    Fixture("06.2", _score(ret="model(x)[0, class_idx]"), hint="텐서가 아니라", why="a tensor where a float is asked"),
    Fixture("06.2", _score(body="        output = output.clone()\n        output[:, channels] = 0"), hint="돌려주어야",
            why="modifies a copy but never returns it"),
    Fixture("06.2", _score(remove="pass"), hint="훅이 남아", why="the hook never removed"),
    Fixture("06.2", _score(body="        keep = torch.zeros(output.shape[1], device=output.device)\n        keep[channels] = 1\n"
                                "        return output * keep[None, :, None, None]"),
            hint="점수가 다릅니다", why="an inverted mask: keeps only the listed channels"),
    Fixture("06.2", _score(body="        output = output.clone()\n        output[..., channels] = 0\n        return output"),
            hint="IndexError", why="the last axis instead of the channel axis: the student's own error, with their line"),
    # ---------------------------------------------------------------- 06.3: occlude the hottest square (predict)
    Fixture("06.3", 'answer_3 = "C"', why="upper case"),
    Fixture("06.3", 'answer_3 = "(c)"', why="in parentheses"),
    Fixture("06.3", 'answer_3 = " c) "', why="with spaces and a bracket"),
    Fixture("06.3", 'answer_3 = "a"', hint="예측이 실행 결과와 다릅니다", why="the map is all the model looks at"),
    Fixture("06.3", 'answer_3 = "b"', hint="예측이 실행 결과와 다릅니다", why="a large drop"),
    Fixture("06.3", 'answer_3 = "d"', hint="예측이 실행 결과와 다릅니다", why="no drop"),
    Fixture("06.3", 'answer_3 = "e"', hint="중 하나만", why="not an option"),
]
