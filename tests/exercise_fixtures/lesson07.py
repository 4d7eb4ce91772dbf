"""Lesson 07's exercises tried with answers the solution's author did not write (see ``__init__``)."""
from exercise_fixtures import Fixture

FIXTURES = [
    # ------------------------------------------------------------------ 07.M1 sensitivity, specificity
    Fixture("07.M1", """
def _m1_numpy(y, scores, threshold):
    y, s = np.asarray(y), np.asarray(scores)
    called = s >= threshold
    return float((called & (y == 1)).sum() / (y == 1).sum()), float((~called & (y == 0)).sum() / (y == 0).sum())
answer_m1 = _m1_numpy""", why="NumPy, Python floats"),
    Fixture("07.M1", """
def _m1_means(y, scores, threshold):
    called = (scores >= threshold).float()
    return called[y == 1].mean().item(), (1 - called[y == 0]).mean().item()
answer_m1 = _m1_means""", why="means over the positives and the negatives"),
    Fixture("07.M1", """
def _m1_bincount(y, scores, threshold):
    cm = torch.bincount(2 * y.long() + (scores >= threshold).long(), minlength=4).view(2, 2)
    (tn, fp), (fn, tp) = cm.tolist()
    return [tp / (tp + fn), tn / (tn + fp)]
answer_m1 = _m1_bincount""", why="a 2x2 confusion matrix by bincount, a list"),
    Fixture("07.M1", """
def _m1_swapped(y, scores, threshold):
    called = scores >= threshold
    return (~called & (y == 0)).float().sum().item() / (y == 0).sum().item(), (called & (y == 1)).float().sum().item() / (y == 1).sum().item()
answer_m1 = _m1_swapped""", hint="순서가 바뀐", why="(specificity, sensitivity)"),
    Fixture("07.M1", """
def _m1_strict(y, scores, threshold):
    called = scores > threshold
    return called[y == 1].float().mean().item(), (~called[y == 0]).float().mean().item()
answer_m1 = _m1_strict""", hint="'점수 ≥ 임계값'이 양성", why="'>' instead of '>='"),
    Fixture("07.M1", """
def _m1_total(y, scores, threshold):
    called = scores >= threshold
    return (called & (y == 1)).sum().item() / len(y), (~called & (y == 0)).sum().item() / len(y)
answer_m1 = _m1_total""", hint="분모가 실제 양성", why="divides by all slices"),
    Fixture("07.M1", """
def _m1_tensors(y, scores, threshold):
    called = scores >= threshold
    return called[y == 1].float().mean(), (~called[y == 0]).float().mean()
answer_m1 = _m1_tensors""", hint=".item()", why="returns tensors where the prompt asks for Python numbers"),
    Fixture("07.M1", "answer_m1 = my_sens_spec(y_val, s_val, 0.5)", hint="괄호 없이 이름만",
            why="the result of a call instead of the function"),

    # ------------------------------------------------------------------ 07.M2 ROC points and AUC
    Fixture("07.M2", """
def _m2_numpy(y, scores):
    y, s = np.asarray(y), np.asarray(scores)
    ts = np.concatenate([[np.inf], np.unique(s)[::-1]])
    tpr = np.array([(s[y == 1] >= t).mean() for t in ts])
    fpr = np.array([(s[y == 0] >= t).mean() for t in ts])
    return fpr, tpr, float(np.trapz(tpr, fpr)) if hasattr(np, "trapz") else float(np.trapezoid(tpr, fpr))
answer_m2 = _m2_numpy""", why="NumPy arrays and np.trapz"),
    Fixture("07.M2", """
def _m2_sorted(y, scores):
    ts = sorted(set(scores.tolist()), reverse=True)
    pos, neg = scores[y == 1], scores[y == 0]
    fpr, tpr = [0.0], [0.0]
    for t in ts:
        fpr.append((neg >= t).float().mean().item())
        tpr.append((pos >= t).float().mean().item())
    area = sum((fpr[i + 1] - fpr[i]) * (tpr[i + 1] + tpr[i]) / 2 for i in range(len(fpr) - 1))
    return fpr, tpr, area
answer_m2 = _m2_sorted""", why="Python lists, the trapezoid rule written out"),
    Fixture("07.M2", """
def _m2_roc_helper_auc(y, scores):
    fpr, tpr = my_roc(y, scores)[:2]
    pos, neg = scores[y == 1], scores[y == 0]
    auc_pairs = ((pos[:, None] > neg[None, :]).float() + 0.5 * (pos[:, None] == neg[None, :]).float()).mean().item()
    return fpr, tpr, auc_pairs
answer_m2 = _m2_roc_helper_auc""", why="AUC as the share of (positive, negative) pairs ranked right (Hanley & McNeil)"),
    Fixture("07.M2", """
def _m2_ascending(y, scores):
    fpr, tpr, area = my_roc(y, scores)
    return fpr.flip(0), tpr.flip(0), area
answer_m2 = _m2_ascending""", hint="(0, 0)", why="thresholds from low to high"),
    Fixture("07.M2", """
def _m2_no_inf(y, scores):
    ts = torch.unique(scores).flip(0)
    tpr = torch.stack([(scores[y == 1] >= t).float().mean() for t in ts])
    fpr = torch.stack([(scores[y == 0] >= t).float().mean() for t in ts])
    return fpr, tpr, torch.trapezoid(tpr, fpr).item()
answer_m2 = _m2_no_inf""", hint="(0, 0)", why="forgets the threshold inf: the curve does not start at (0, 0)"),
    Fixture("07.M2", """
def _m2_axes(y, scores):
    fpr, tpr, _ = my_roc(y, scores)
    return fpr, tpr, torch.trapezoid(fpr, tpr).item()
answer_m2 = _m2_axes""", hint="가로축은 fpr", why="torch.trapezoid(fpr, tpr): the axes swapped"),
    Fixture("07.M2", """
def _m2_grid(y, scores):
    ts = torch.cat([torch.tensor([float("inf")]), torch.linspace(1, 0, 11)])
    tpr = torch.stack([(scores[y == 1] >= t).float().mean() for t in ts])
    fpr = torch.stack([(scores[y == 0] >= t).float().mean() for t in ts])
    return fpr, tpr, torch.trapezoid(tpr, fpr).item()
answer_m2 = _m2_grid""", hint="임계값 후보는 inf와 점수의 서로 다른 값 전부", why="a fixed grid of 11 thresholds"),
    Fixture("07.M2", """
def _m2_tensor_auc(y, scores):
    fpr, tpr, area = my_roc(y, scores)
    return fpr, tpr, torch.tensor(area)
answer_m2 = _m2_tensor_auc""", hint=".item()", why="the AUC as a tensor, not a float"),

    # ------------------------------------------------------------------ 07.1 threshold by cost
    Fixture("07.1", """
def _c_vector(y, scores):
    ts = torch.unique(scores)
    called = scores[None, :] >= ts[:, None]
    cost = COST_MISS * (~called & (y == 1)).sum(1) + (called & (y == 0)).sum(1)
    return ts[cost.argmin()].item()
answer_1 = _c_vector""", why="all candidates at once, argmin"),
    Fixture("07.1", """
def _c_numpy(y, scores):
    y, s = np.asarray(y), np.asarray(scores)
    costs = {t: COST_MISS * np.sum((s < t) & (y == 1)) + np.sum((s >= t) & (y == 0)) for t in np.unique(s)}
    return min(costs, key=costs.get)
answer_1 = _c_numpy""", why="NumPy, a dict, returns a numpy float32"),
    Fixture("07.1", """
def _c_last_of_ties(y, scores):
    best = None
    for t in sorted(set(scores.tolist())):
        called = scores >= t
        cost = COST_MISS * int(((y == 1) & ~called).sum()) + int(((y == 0) & called).sum())
        if best is None or cost <= best[0]:
            best = (cost, t)
    return best[1]
answer_1 = _c_last_of_ties""", why="another tie (the highest of equal-cost thresholds)"),
    Fixture("07.1", """
def _c_youden(y, scores):
    best_j, best_t = -2.0, None
    for t in torch.unique(scores):
        called = scores >= t
        j = called[y == 1].float().mean() + (~called[y == 0]).float().mean() - 1
        if j > best_j:
            best_j, best_t = j.item(), t.item()
    return best_t
answer_1 = _c_youden""", hint="민감도 + 특이도 − 1이 가장 큰", why="section 5's rule (Youden): the costs ignored"),
    Fixture("07.1", """
def _c_rate_weighted(y, scores):
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    ts = torch.unique(scores)
    cost = torch.stack([n_neg / n_pos * ((scores < t) & (y == 1)).sum() + ((scores >= t) & (y == 0)).sum() for t in ts])
    return ts[cost.argmin()].item()
answer_1 = _c_rate_weighted""", hint="민감도 + 특이도 − 1이 가장 큰",
            why="a miss weighted N/P instead of COST_MISS: Youden's rule written as a cost, the same thresholds"),
    Fixture("07.1", """
def _c_swapped(y, scores):
    ts = torch.unique(scores)
    cost = torch.stack([COST_MISS * ((scores >= t) & (y == 0)).sum() + ((scores < t) & (y == 1)).sum() for t in ts])
    return ts[cost.argmin()].item()
answer_1 = _c_swapped""", hint="비싼 쪽이 바뀌었습니다", why="COST_MISS on the false alarms"),
    Fixture("07.1", """
def _c_strict(y, scores):
    ts = torch.unique(scores)
    cost = torch.stack([COST_MISS * ((scores <= t) & (y == 1)).sum() + ((scores > t) & (y == 0)).sum() for t in ts])
    return ts[cost.argmin()].item()
answer_1 = _c_strict""", hint="'점수 ≥ 임계값'이 양성", why="'>' instead of '>='"),
    Fixture("07.1", """
def _c_grid(y, scores):
    ts = torch.linspace(0, 1, 11)
    cost = torch.stack([COST_MISS * ((scores < t) & (y == 1)).sum() + ((scores >= t) & (y == 0)).sum() for t in ts])
    return ts[cost.argmin()].item()
answer_1 = _c_grid""", hint="정해 둔 간격의 값이 아니라", why="a fixed grid of candidates"),
    Fixture("07.1", """
def _c_tensor(y, scores):
    ts = torch.unique(scores)
    cost = torch.stack([COST_MISS * ((scores < t) & (y == 1)).sum() + ((scores >= t) & (y == 0)).sum() for t in ts])
    return ts[cost.argmin()]
answer_1 = _c_tensor""", hint=".item()", why="returns a tensor where the prompt asks for a Python number"),

    # ------------------------------------------------------------------ 07.2 predict: threshold chosen on test
    Fixture("07.2", 'answer_2 = "A"', why="upper case"),
    Fixture("07.2", 'answer_2 = "(a)"', why="with parentheses"),
    Fixture("07.2", 'answer_2 = " a) "', why="spaces and a closing parenthesis"),
    Fixture("07.2", 'answer_2 = "c"', hint="무엇을 가장 크게 만들도록", why="'it depends on the seed'"),
    Fixture("07.2", 'answer_2 = "b"', hint="무엇을 가장 크게 만들도록", why="'never higher'"),
    Fixture("07.2", 'answer_2 = "ab"', hint="중 하나만", why="two choices"),
    Fixture("07.2", "answer_2 = 1", hint="문자열로", why="a number instead of a letter"),

    # ------------------------------------------------------------------ 07.3 predict: twins after a slice split
    Fixture("07.3", 'answer_3 = "C"', why="upper case"),
    Fixture("07.3", 'answer_3 = "(c)"', why="with parentheses"),
    Fixture("07.3", 'answer_3 = "c "', why="a trailing space"),
    Fixture("07.3", 'answer_3 = "a"', hint="20%는 단면 하나가 테스트로", why="the test share (20 %)"),
    Fixture("07.3", 'answer_3 = "b"', hint="60%는 이웃 단면 한 장이", why="one neighbour's chance (60 %)"),
    Fixture("07.3", "answer_3 = 3", hint="문자열로", why="the old exercise's answer: a count of brains"),
]
