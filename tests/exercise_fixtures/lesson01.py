"""Lesson 01's exercise fixtures: right answers written differently, and common mistakes with their hints."""
from exercise_fixtures import Fixture

FIXTURES = [
    # ----------------------------------------------------------------- 01.M1 swap_head
    Fixture("01.M1", '''
def _swap_a(vgg, num_classes):
    vgg.requires_grad_(False)
    vgg.classifier[-1] = nn.Linear(4096, num_classes)
    return vgg.classifier[-1]
answer_m1 = _swap_a''', why="requires_grad_(False) on the module, classifier[-1], in_features typed as 4096"),
    Fixture("01.M1", '''
def _swap_b(vgg, num_classes):
    set_parameter_requires_grad(vgg)
    head = nn.Linear(in_features=vgg.classifier[6].in_features, out_features=num_classes, bias=True)
    vgg.classifier[6] = head
    return head
answer_m1 = _swap_b''', why="the helpers' freeze, keyword arguments"),
    Fixture("01.M1", '''
def _swap_c(vgg, num_classes):
    for name, param in vgg.named_parameters():
        param.requires_grad_(False)
    old = vgg.classifier[6]
    vgg.classifier[6] = nn.Linear(old.in_features, num_classes)
    for p in vgg.classifier[6].parameters():
        p.requires_grad = True          # explicit, already the default
    return vgg.classifier[6]
answer_m1 = _swap_c''', why="named_parameters loop, new layer set trainable explicitly"),
    Fixture("01.M1", '''
def _swap_late_freeze(vgg, num_classes):
    vgg.classifier[6] = nn.Linear(4096, num_classes)
    for p in vgg.parameters():
        p.requires_grad = False
    return vgg.classifier[6]
answer_m1 = _swap_late_freeze''', hint="새 층을 만든 뒤에 고정했나요", why="freezes after the swap: the new head is frozen too"),
    Fixture("01.M1", '''
def _swap_no_freeze(vgg, num_classes):
    vgg.classifier[6] = nn.Linear(4096, num_classes)
    return vgg.classifier[6]
answer_m1 = _swap_no_freeze''', hint="몸통을 먼저 고정했나요", why="forgets to freeze the body"),
    Fixture("01.M1", '''
def _swap_wrong_in(vgg, num_classes):
    vgg.requires_grad_(False)
    vgg.classifier[6] = nn.Linear(1000, num_classes)
    return vgg.classifier[6]
answer_m1 = _swap_wrong_in''', hint="입력은 앞 층이 내는 크기", why="in_features = the old output size 1000"),
    Fixture("01.M1", '''
def _swap_append(vgg, num_classes):
    vgg.requires_grad_(False)
    vgg.classifier.append(nn.Linear(1000, num_classes))
    return vgg.classifier[-1]
answer_m1 = _swap_append''', hint="층을 더하지 말고", why="adds a layer after the 1000-class layer instead of replacing it"),
    Fixture("01.M1", '''
def _swap_returns_model(vgg, num_classes):
    vgg.requires_grad_(False)
    vgg.classifier[6] = nn.Linear(4096, num_classes)
    return vgg
answer_m1 = _swap_returns_model''', hint="새로 넣은 출력층(nn.Linear)을 돌려주어야", why="returns the model, not the new layer"),
    Fixture("01.M1", '''
def _swap_not_written(vgg, num_classes):
    raise NotImplementedError
answer_m1 = _swap_not_written''', hint="swap_head이(가) 오류를 냈습니다", why="the TODO cell's function run as it is"),
    # ----------------------------------------------------------------- 01.M2 train_step
    Fixture("01.M2", '''
def _step_a(model, inputs, labels, criterion, optimizer):
    model.zero_grad()                     # same parameters as the optimizer's here
    loss = criterion(model(inputs), labels)
    loss.backward()
    optimizer.step()
    return float(loss)
answer_m2 = _step_a''', why="model.zero_grad() and float(loss)"),
    Fixture("01.M2", '''
def _step_b(model, inputs, labels, criterion, optimizer):
    optimizer.zero_grad(set_to_none=False)
    outputs = model.forward(inputs)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    return loss.detach().cpu().item()
answer_m2 = _step_b''', why="zero_grad(set_to_none=False), detach().cpu().item()"),
    Fixture("01.M2", '''
def _step_c(model, inputs, labels, criterion, optimizer):
    for p in model.parameters():
        p.grad = None
    loss = criterion(model(inputs), labels)
    value = loss.item()
    loss.backward()
    optimizer.step()
    return value
answer_m2 = _step_c''', why="grads cleared by hand, value read before backward"),
    Fixture("01.M2", '''
def _step_no_zero(model, inputs, labels, criterion, optimizer):
    loss = criterion(model(inputs), labels)
    loss.backward()
    optimizer.step()
    return loss.item()
answer_m2 = _step_no_zero''', hint="먼저 시켜야 하는 일", why="forgets zero_grad: gradients accumulate from step 2 on"),
    Fixture("01.M2", '''
def _step_tensor(model, inputs, labels, criterion, optimizer):
    optimizer.zero_grad()
    loss = criterion(model(inputs), labels)
    loss.backward()
    optimizer.step()
    return loss
answer_m2 = _step_tensor''', hint=".item()", why="returns the loss tensor (with its graph) instead of a float"),
    Fixture("01.M2", '''
def _step_no_step(model, inputs, labels, criterion, optimizer):
    optimizer.zero_grad()
    loss = criterion(model(inputs), labels)
    loss.backward()
    return loss.item()
answer_m2 = _step_no_step''', hint="파라미터를 실제로 바꾸는 것은 누구", why="forgets optimizer.step()"),
    Fixture("01.M2", '''
def _step_zero_late(model, inputs, labels, criterion, optimizer):
    loss = criterion(model(inputs), labels)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()
answer_m2 = _step_zero_late''', hint="기울기를 지우지 않았는지", why="zero_grad between backward and step wipes the gradients"),
    Fixture("01.M2", '''
def _step_softmax(model, inputs, labels, criterion, optimizer):
    optimizer.zero_grad()
    loss = criterion(torch.softmax(model(inputs), dim=1), labels)
    loss.backward()
    optimizer.step()
    return loss.item()
answer_m2 = _step_softmax''', hint="로짓을 그대로 넘기세요", why="softmax before CrossEntropyLoss (the loss is not the one on logits)"),
    Fixture("01.M2", '''
def _step_loss_after(model, inputs, labels, criterion, optimizer):
    optimizer.zero_grad()
    loss = criterion(model(inputs), labels)
    loss.backward()
    optimizer.step()
    return criterion(model(inputs), labels).item()
answer_m2 = _step_loss_after''', hint="갱신한 뒤의 손실", why="returns the loss after the update"),
    # ----------------------------------------------------------------- 01.1 predict: no zero_grad
    Fixture("01.1", 'answer_1 = "B"', why="upper case"),
    Fixture("01.1", 'answer_1 = " (b) "', why="parentheses and spaces"),
    Fixture("01.1", 'answer_1 = "b)"', why="a closing parenthesis"),
    Fixture("01.1", 'answer_1 = "a"', hint="'써넣나요', '더하나요'", why="thinks backward() overwrites .grad"),
    Fixture("01.1", 'answer_1 = "c"', hint="두 번째 step() 때 .grad에는", why="thinks the step does nothing without zero_grad"),
    Fixture("01.1", 'answer_1 = 2', hint="문자열로", why="the factor as a number instead of a choice"),
    Fixture("01.1", 'answer_1 = "ab"', hint="하나만", why="two choices"),
    # ----------------------------------------------------------------- 01.2 top-p
    Fixture("01.2", '''
def _topp_sort(logits, categories, p=0.9):
    probs = logits.flatten().softmax(dim=-1)
    values, indices = torch.sort(probs, descending=True)
    n = int((values.cumsum(0) < p).sum()) + 1          # the classes before the sum reaches p, plus the one that does
    return [(categories[i], v) for v, i in zip(values[:n].tolist(), indices[:n].tolist())]
answer_2 = _topp_sort''', why="cumsum and a count instead of a loop"),
    Fixture("01.2", '''
import numpy as _np
def _topp_numpy(logits, categories, p=0.9):
    z = logits.detach().numpy().reshape(-1).astype(_np.float64)
    probs = _np.exp(z - z.max()); probs /= probs.sum()
    out = []
    for i in _np.argsort(-probs):
        out.append((categories[i], probs[i]))               # numpy float64 (a float subclass)
        if sum(v for _, v in out) >= p:
            return out
    return out
answer_2 = _topp_numpy''', why="NumPy softmax, numpy.float64 probabilities"),
    Fixture("01.2", '''
def _topp_python(logits, categories, p=0.9):
    probs = torch.softmax(logits.view(-1), 0).tolist()
    ranked = sorted(zip(categories, probs), key=lambda pair: pair[1], reverse=True)
    total, out = 0.0, []
    while total < p:
        name, v = ranked[len(out)]
        out.append((name, v)); total += v
    return out
answer_2 = _topp_python''', why="plain Python sorted() and a while loop"),
    Fixture("01.2", '''
def _topp_short(logits, categories, p=0.9):
    probs = torch.softmax(logits.reshape(-1), 0)
    values, indices = probs.sort(descending=True)
    out, total = [], 0.0
    for v, i in zip(values.tolist(), indices.tolist()):
        if total + v >= p:
            break
        out.append((categories[i], v)); total += v
    return out
answer_2 = _topp_short''', hint="하나 모자랍니다", why="off by one: stops before the class that reaches p"),
    Fixture("01.2", '''
def _topp_unsorted(logits, categories, p=0.9):
    probs = torch.softmax(logits.reshape(-1), 0).tolist()
    out, total = [], 0.0
    for i, v in enumerate(probs):
        out.append((categories[i], v)); total += v
        if total >= p:
            break
    return out
answer_2 = _topp_unsorted''', hint="클래스 번호 순서대로", why="accumulates in class-number order, without sorting"),
    Fixture("01.2", '''
def _topp_logits(logits, categories, p=0.9):
    values, indices = logits.reshape(-1).sort(descending=True)
    out, total = [], 0.0
    for v, i in zip(values.tolist(), indices.tolist()):
        out.append((categories[i], v)); total += v
        if total >= p:
            break
    return out
answer_2 = _topp_logits''', hint="확률 자리에 로짓", why="adds up logits instead of softmax probabilities"),
    Fixture("01.2", '''
def _topp_top5(logits, categories, p=0.9):
    probs = torch.softmax(logits.reshape(-1), 0)
    values, indices = probs.topk(5)
    return [(categories[i], v) for v, i in zip(values.tolist(), indices.tolist())]
answer_2 = _topp_top5''', hint="늘 5개를", why="section 1.6's top-5 again"),
    Fixture("01.2", '''
def _topp_tensors(logits, categories, p=0.9):
    probs = torch.softmax(logits.reshape(-1), 0)
    values, indices = probs.sort(descending=True)
    out, total = [], 0.0
    for v, i in zip(values, indices):
        out.append((categories[i], v)); total += v
        if total >= p:
            break
    return out
answer_2 = _topp_tensors''', hint="파이썬 float로", why="0-d tensors instead of floats"),
    Fixture("01.2", '''
def _topp_2d_only(logits, categories, p=0.9):
    probs = torch.softmax(logits, dim=1)[0]
    values, indices = probs.sort(descending=True)
    out, total = [], 0.0
    for v, i in zip(values.tolist(), indices.tolist()):
        out.append((categories[i], v)); total += v
        if total >= p:
            break
    return out
answer_2 = _topp_2d_only''', hint="reshape(-1)", why="only (1, 1000) logits: dim=1 fails on (1000,)"),
    Fixture("01.2", '''
def _topp_default(logits, categories, p=0.5):
    return topp_classes(logits, categories, p)
answer_2 = _topp_default''', hint="기본값", why="the wrong default p"),
    Fixture("01.2", "answer_2 = topp_classes(logits_photo, categories)", hint="topp_classes 자체",
            why="the result of a call instead of the function"),
    # ----------------------------------------------------------------- 01.3 predict: 256 px
    Fixture("01.3", 'answer_3 = "B"', why="upper case"),
    Fixture("01.3", 'answer_3 = "(b)"', why="parentheses"),
    Fixture("01.3", 'answer_3 = "b."', why="a full stop"),
    Fixture("01.3", 'answer_3 = "a"', hint="torch.nn.AdaptiveAvgPool2d", why="expects a shape error at the first Linear layer"),
    Fixture("01.3", 'answer_3 = "c"', hint="MaxPool2d(2, 2) 다섯 번", why="thinks the conv part still gives 7 x 7"),
    Fixture("01.3", 'answer_3 = "d"', hint="하나만", why="not a choice"),
    Fixture("01.3", 'answer_3 = ["b"]', hint="문자열로", why="a list instead of a string"),
]
