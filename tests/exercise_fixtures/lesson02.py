"""Lesson 02's exercises tried with answers their author did not write (see ``__init__``)."""
from exercise_fixtures import Fixture

# A correct extract_once, reused by the fixtures below with one line changed.
_EXTRACT = '''
def extract_once(model, loader):
    dev = next(model.parameters()).device
    model.eval()
    feats, labs = [], []
    with without_head(model):
        for x, y in loader:
            with torch.no_grad():
                feats.append(model(x.to(dev)).cpu())
            labs.append(y)
    return torch.cat(feats), torch.cat(labs)
answer_m1 = extract_once
'''

# The zero-shot top-1 classes, computed once by the first 02.3 fixture and reused by the others.
_TOP1 = '''
if "_zs_top1" not in globals():
    _zs_net = load_pretrained(ARCH, verbose=False).model.to(device).eval()
    with torch.no_grad():
        _zs_top1 = [int(i) for x in test_images.split(BATCH_SIZE) for i in _zs_net(x.to(device)).argmax(1).cpu()]
    del _zs_net
_zs_bird, _zs_mammal = class_names.index("birds"), class_names.index("mammals")
_zs_truth = test_labels.tolist()
'''

FIXTURES = [
    # ---------------------------------------------------------------- 02.1 (predict: "c")
    Fixture("02.1", 'answer_1 = "C"', why="upper case"),
    Fixture("02.1", 'answer_1 = " (c) "', why="parentheses and spaces"),
    Fixture("02.1", 'import numpy as np\nanswer_1 = np.str_("c)")', why="a NumPy string with a closing parenthesis"),
    Fixture("02.1", 'answer_1 = "a"', hint="고정(requires_grad = False)은",
            why="the notes' belief: a frozen backbone computes the same in any mode"),
    Fixture("02.1", 'answer_1 = "b"', hint="나머지 사진이 그 값에",
            why="train mode differs from eval mode but is thought to be deterministic per photo"),
    Fixture("02.1", 'answer_1 = 3', hint="중 하나를 문자열로", why="the option's number instead of its letter"),
    Fixture("02.1", 'answer_1 = "b 또는 c"', hint="중 하나만", why="two options at once"),

    # ---------------------------------------------------------------- 02.M1 (extract_once)
    Fixture("02.M1", _EXTRACT, why="no_grad per batch inside without_head"),
    Fixture("02.M1", '''
def extract_once(model, loader):
    from helpers.models import head_path
    path = head_path(model)
    head = model.get_submodule(path)
    setattr(model, path, nn.Identity())          # swap the head by hand, put it back in finally
    try:
        model.eval()
        with torch.inference_mode():
            pairs = [(model(x.to(next(model.parameters()).device)).cpu(), y) for x, y in loader]
    finally:
        setattr(model, path, head)
    return torch.cat([f for f, _ in pairs]), torch.cat([y for _, y in pairs])
answer_m1 = extract_once''', why="head swapped by hand with try/finally, inference_mode"),
    Fixture("02.M1", '''
def extract_once(model, loader):
    model.train(False)                           # = eval()
    out, labs = [], []
    with without_head(model):
        for x, y in loader:
            out.append(model(x.to(next(model.parameters()).device)).detach().cpu())  # detach, not no_grad
            labs += y.tolist()
    return torch.cat(out), torch.tensor(labs)
answer_m1 = extract_once''', why="train(False), detach(), labels gathered as Python ints"),
    Fixture("02.M1", _EXTRACT.replace("    model.eval()\n", "    model.eval()\n    torch.set_grad_enabled(False)\n"),
            why="right features, but leaves grad mode off globally (the check puts it back and says so)"),
    Fixture("02.M1", _EXTRACT.replace("    model.eval()\n", ""), hint="어떤 모드에서 실행되었나요",
            why="forgot eval(): BatchNorm normalises with each batch's statistics"),
    Fixture("02.M1", _EXTRACT.replace("            with torch.no_grad():\n                feats", "            if True:\n                feats"),
            hint="계산 그래프", why="forgot no_grad: the features carry a graph"),
    Fixture("02.M1", _EXTRACT.replace("    with without_head(model):\n", "    if True:\n"), hint="특성의 길이가 2",
            why="kept the head: returns the 2 class scores, not the head's input"),
    Fixture("02.M1", _EXTRACT.replace("return torch.cat(feats), torch.cat(labs)", "return torch.cat(feats)"),
            hint="튜플로", why="returns only the features"),
    Fixture("02.M1", _EXTRACT.replace("return torch.cat(feats), torch.cat(labs)", "return torch.cat(feats), labs"),
            hint="라벨이", why="labels left as a list of batches (torch.cat forgotten)"),
    Fixture("02.M1", '''
def extract_once(model, loader):
    model.eval()
    model.classifier = nn.Identity()             # head removed and never put back
    with torch.no_grad():
        dev = next(model.parameters()).device
        return torch.cat([model(x.to(dev)).cpu() for x, _ in loader]), torch.cat([y for _, y in loader])
answer_m1 = extract_once''', hint="원래 헤드가 있어야", why="replaced the head without restoring it"),
    Fixture("02.M1", _EXTRACT.replace("model(x.to(dev))", "model(x.to(dev), y)"), hint="오류를 냈습니다",
            why="the student's own error (labels passed to the model) is reported as theirs"),

    # ---------------------------------------------------------------- 02.2 (lowest_true_prob)
    Fixture("02.2", '''
def lowest_true_prob(probs, labels, k=3):
    return probs.gather(1, labels.unsqueeze(1)).squeeze(1).argsort()[:k]
answer_2 = lowest_true_prob''', why="gather, returns a tensor"),
    Fixture("02.2", '''
import numpy as np
def lowest_true_prob(probs, labels, k=3):
    p = probs.numpy()
    return np.argsort(p[np.arange(len(p)), labels.numpy()])[:k]
answer_2 = lowest_true_prob''', why="NumPy fancy indexing, returns an array"),
    Fixture("02.2", '''
def lowest_true_prob(probs, labels, k=3):
    return sorted(range(len(labels)), key=lambda i: probs[i, labels[i]].item())[:k]
answer_2 = lowest_true_prob''', why="sorted with a key, returns a list"),
    Fixture("02.2", '''
def lowest_true_prob(probs, labels, k=3):
    true = probs[torch.arange(len(labels)), labels]
    return true.topk(k, largest=False).indices.tolist()
answer_2 = lowest_true_prob''', why="topk(largest=False)"),
    Fixture("02.2", '''
def lowest_true_prob(probs, labels, k=3):
    return probs.max(dim=1).values.argsort()[:k].tolist()
answer_2 = lowest_true_prob''', hint="'가장 큰 확률'",
            why="sorted by the predicted class's probability (can pick the same photos on this data)"),
    Fixture("02.2", '''
def lowest_true_prob(probs, labels, k=3):
    return probs[torch.arange(len(labels)), labels].argsort(descending=True)[:k].tolist()
answer_2 = lowest_true_prob''', hint="가장 높은 사진부터", why="the most confident photos instead"),
    Fixture("02.2", '''
def lowest_true_prob(probs, labels, k=3):
    return probs[torch.arange(len(labels)), labels].argsort()[1:k + 1].tolist()
answer_2 = lowest_true_prob''', hint="하나를 빠뜨렸", why="off by one"),
    Fixture("02.2", '''
def lowest_true_prob(probs, labels, k=3):
    return probs[:, 1].argsort()[:k].tolist()
answer_2 = lowest_true_prob''', hint="1번 열", why="one class's column (the 'birds' probability) for every photo"),
    Fixture("02.2", '''
def lowest_true_prob(probs, labels, k=3):
    order = probs[torch.arange(len(labels)), labels].argsort()[:k]
    return [loaders["test"].dataset.samples[i][0] for i in order]
answer_2 = lowest_true_prob''', hint="정수 하나를", why="file paths instead of indices"),
    Fixture("02.2", 'answer_2 = [0, 1, 2]', hint="lowest_true_prob 자체를", why="a list (a result) instead of the function"),

    # ---------------------------------------------------------------- 02.3 (zero-shot accuracy)
    Fixture("02.3", _TOP1 + '''
mapped = [_zs_bird if i in BIRD_IDS else _zs_mammal if i in MAMMAL_IDS else None for i in _zs_top1]
answer_3 = sum(m == t for m, t in zip(mapped, _zs_truth)) / len(_zs_truth)''', why="plain Python fraction"),
    Fixture("02.3", _TOP1 + '''
import numpy as np
mapped = np.array([_zs_bird if i in BIRD_IDS else _zs_mammal if i in MAMMAL_IDS else -1 for i in _zs_top1])
answer_3 = np.mean(mapped == np.array(_zs_truth))''', why="a NumPy float64"),
    Fixture("02.3", _TOP1 + '''
import numpy as np
mapped = torch.tensor([_zs_bird if i in BIRD_IDS else _zs_mammal if i in MAMMAL_IDS else -1 for i in _zs_top1])
answer_3 = np.float32(mapped.eq(test_labels).float().mean().item())''', why="a NumPy float32"),
    Fixture("02.3", _TOP1 + '''
mapped = torch.tensor([_zs_bird if i in BIRD_IDS else _zs_mammal if i in MAMMAL_IDS else -1 for i in _zs_top1])
answer_3 = mapped.eq(test_labels).float().mean()''', hint="텐서가 아니라", why="a tensor, .item() forgotten"),
    Fixture("02.3", _TOP1 + '''
mapped = [_zs_bird if i in BIRD_IDS else _zs_mammal if i in MAMMAL_IDS else -1 for i in _zs_top1]
answer_3 = 100 * sum(m == t for m, t in zip(mapped, _zs_truth)) / len(_zs_truth)''', hint="0과 1 사이의 비율",
            why="a percentage"),
    Fixture("02.3", _TOP1 + '''
mapped = [_zs_bird if i in BIRD_IDS else _zs_mammal if i in MAMMAL_IDS else -1 for i in _zs_top1]
answer_3 = sum(m == t for m, t in zip(mapped, _zs_truth))''', hint="0과 1 사이의 비율", why="the count of right photos"),
    Fixture("02.3", 'answer_3 = test_acc_fe', hint="원래 1000-클래스",
            why="the trained feature extractor's accuracy instead of the untouched ImageNet head's"),
    Fixture("02.3", '''
_zs_train_net = load_pretrained(ARCH, verbose=False).model.to(device)   # eval() forgotten: still in train mode
with torch.no_grad():
    _zs_train_top1 = _zs_train_net(test_images.to(device)).argmax(1).cpu()
del _zs_train_net
mapped = torch.tensor([class_names.index("birds") if int(i) in BIRD_IDS else class_names.index("mammals")
                       if int(i) in MAMMAL_IDS else -1 for i in _zs_train_top1])
answer_3 = mapped.eq(test_labels).float().mean().item()''', hint="eval()",
            why="the loaded model left in train mode: BatchNorm normalises with the 19 photos' own statistics"),
]
