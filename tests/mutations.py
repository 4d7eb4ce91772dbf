"""Each self-check can fail: break a lesson's claim on purpose and watch its self-check fail.

The lessons are not run again for this. ``tests/test_lessons.py`` runs each lesson once on the
stand-in GPU; then, in the same kernel, for each mutation below:

1. ``mutate`` puts the lesson's state into the buggy state the claim rules out;
2. the self-check cell (the code cell that prints "자기 점검 통과") runs again and must stop with
   the Korean ``SelfCheckFailed`` (``helpers.selfcheck``) whose message contains ``claim``;
3. ``restore`` puts the state back, and the self-check must pass again (the control: the
   failure was the mutation's doing, not a second run's).

Cells are found by their text, not their position, so reordering a lesson's cells changes
nothing; a claim that is no longer in the self-check, or mutation code that no longer fits the
lesson (a renamed variable), fails loudly and names this file.
"""
from __future__ import annotations

from dataclasses import dataclass

from helpers.selfcheck import SELF_CHECK_PASSED


@dataclass(frozen=True)
class Mutation:
    claim: str    # a substring of the self-check's assert message
    why: str      # the bug it stands for
    mutate: str   # code run in the lesson's kernel after the lesson
    restore: str  # code that undoes ``mutate``


MUTATIONS: dict[str, list[Mutation]] = {
    "01": [Mutation(
        claim="테스트에서 맞힌 사진 수가 다수 클래스 기준선",
        why="a head that always answers the minority class (a model no better than the majority baseline)",
        mutate='_mutation_saved = {k: v.clone() for k, v in head.state_dict().items()}\n'
               '_minority = min(Counter(test_labels.tolist()).items(), key=lambda kv: kv[1])[0]\n'
               'with torch.no_grad():\n'
               '    head.weight.zero_()\n'
               '    head.bias.copy_(torch.where(torch.arange(len(head.bias)) == _minority, 5.0, -5.0))',
        restore='head.load_state_dict(_mutation_saved)\ndel _mutation_saved, _minority',
    ), Mutation(
        claim="val 전처리는 늘 같아야",
        why="the validation set read with the random training transform",
        mutate='val_dataset.phase = "train"',
        restore='val_dataset.phase = "val"',
    )],
    "02": [Mutation(
        claim="검증·테스트 데이터는 증강하지 않아야 합니다",
        why="the validation loader gets the random training transform",
        mutate='_mutation_saved = loaders["val"].dataset.transform\n'
               'loaders["val"].dataset.transform = preprocess.train_transform()',
        restore='loaders["val"].dataset.transform = _mutation_saved\ndel _mutation_saved',
    )],
    "03": [Mutation(
        claim="1단계: 헤드만 학습해야",
        why="stage 1 leaves the ImageNet backbone trainable (set_parameter_requires_grad(..., feature_extracting=False))",
        mutate='import copy as _copy\n'
               '_mutation_saved = stage1_trainable\n'
               '_mutation_model = _copy.deepcopy(stage1_model)\n'
               'set_parameter_requires_grad(_mutation_model, feature_extracting=False)\n'
               'stage1_trainable = trainable_parameter_names(_mutation_model)\n'
               'del _mutation_model',
        restore='stage1_trainable = _mutation_saved\ndel _mutation_saved',
    )],
    "04": [Mutation(
        claim="표 5-2와 다릅니다",
        why="detach() replaced by a copy (clone().detach()): the 'detached' tensor no longer shares the original's memory",
        mutate='_mutation_saved = MAKERS["tensor.detach()"]\n'
               'MAKERS["tensor.detach()"] = lambda t: t.clone().detach()',
        restore='MAKERS["tensor.detach()"] = _mutation_saved\ndel _mutation_saved',
    )],
    "07": [Mutation(
        claim="테스트 뇌를 결정보다 먼저",
        why="a model is scored on the test brain before the model and threshold are chosen on validation",
        mutate='_mutation_saved = list(looks)\nlooks.remove("test")\nlooks.insert(0, "test")',
        restore='looks[:] = _mutation_saved\ndel _mutation_saved',
    ), Mutation(
        claim="바르게 줄 세운 (양성, 음성) 묶음 쌍",
        why="the scratch CNN ranks the test brain's blocks no better than the exact test allows for chance",
        mutate='_mutation_saved = tests["scratch"]\n'
               'tests["scratch"] = dict(_mutation_saved, U=_mutation_saved["U needed"] - 1)',
        restore='tests["scratch"] = _mutation_saved\ndel _mutation_saved',
    )],
    "08": [Mutation(
        claim="GCN이 가장 적게 맞힌 노드 수",
        why="the GCN loses its edges (A_hat replaced by I, the edge-blind MLP): its answers stand in for the GCN's at every seed",
        mutate='_mutation_saved = gcn_rows\n'
               '_mutation_right = int(((mlp_preds == labels) & test_mask).sum())\n'
               'gcn_rows = [(s, _mutation_right, g, l) for s, _, g, l in gcn_rows]',
        restore='gcn_rows = _mutation_saved\ndel _mutation_saved, _mutation_right',
    )],
}


def self_check_source(nb, lesson: str) -> str:
    found = [c.source for c in nb.cells if c.cell_type == "code" and SELF_CHECK_PASSED in c.source]
    assert len(found) == 1, (f"lesson {lesson}: expected one self-check cell (a code cell printing {SELF_CHECK_PASSED!r}), "
                             f"found {len(found)}; the mutation tests (tests/mutations.py) need it")
    return found[0]


def check_claims(nb, lesson: str) -> str:
    """The self-check's source, after checking that it still states every claim mutated here."""
    source = self_check_source(nb, lesson)
    for mutation in MUTATIONS.get(lesson, []):
        assert mutation.claim in source, (
            f"lesson {lesson}: the claim {mutation.claim!r} is no longer in the self-check cell; "
            "a mutation test in tests/mutations.py depends on it: keep the claim's message or update the test")
    return source


def run_mutations(client, nb, lesson: str) -> list[str]:
    """Run lesson ``lesson``'s mutations in ``client``'s kernel (the lesson has run); what each proved."""
    from lesson_runs import run_cell

    source = check_claims(nb, lesson)
    proved = []
    for mutation in MUTATIONS.get(lesson, []):
        where = f"lesson {lesson}, mutation {mutation.claim!r} (tests/mutations.py)"
        error = run_cell(client, nb, mutation.mutate)
        assert error is None, f"{where}: the mutation code no longer fits the lesson: {error['ename']}: {error['evalue'][:500]}"
        error = run_cell(client, nb, source)
        assert error is not None, f"{where}: the self-check passed although {mutation.why}"
        assert error["ename"] == "SelfCheckFailed" and mutation.claim in error["evalue"], \
            f"{where}: expected that claim's AssertionError, got {error['ename']}: {error['evalue'][:500]}"
        error = run_cell(client, nb, mutation.restore)
        assert error is None, f"{where}: restore failed: {error['ename']}: {error['evalue'][:500]}"
        error = run_cell(client, nb, source)
        assert error is None, f"{where}: after restore the self-check fails: {error['ename']}: {error['evalue'][:500]}"
        proved.append(f"{mutation.claim}: fails when {mutation.why}")
    return proved
