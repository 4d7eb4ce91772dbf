"""Each self-check can fail: break a lesson's claim on purpose and watch its self-check fail.

The lessons are not run again for this. ``tests/test_lessons.py`` runs each lesson once on the
stand-in GPU; then, in the same kernel, for each mutation below:

1. ``mutate`` puts the lesson's state into the buggy state the claim rules out;
2. the self-check cell (the code cell that prints "자기 점검 통과") runs again and must stop with
   an ``AssertionError`` whose message contains ``claim``;
3. ``restore`` puts the state back, and the self-check must pass again (the control: the
   failure was the mutation's doing, not a second run's).

Cells are found by their text, not their position, so reordering a lesson's cells changes
nothing; a claim that is no longer in the self-check, or mutation code that no longer fits the
lesson (a renamed variable), fails loudly and names this file.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    claim: str    # a substring of the self-check's assert message
    why: str      # the bug it stands for
    mutate: str   # code run in the lesson's kernel after the lesson
    restore: str  # code that undoes ``mutate``


MUTATIONS: dict[str, list[Mutation]] = {
    "02": [Mutation(
        claim="must not be augmented",
        why="the validation loader gets the random training transform",
        mutate='_mutation_saved = loaders["val"].dataset.transform\n'
               'loaders["val"].dataset.transform = preprocess.train_transform()',
        restore='loaders["val"].dataset.transform = _mutation_saved\ndel _mutation_saved',
    )],
    "03": [Mutation(
        claim="stage 1: head only",
        why="stage 1 leaves the ImageNet backbone trainable (set_parameter_requires_grad(..., feature_extracting=False))",
        mutate='import copy as _copy\n'
               '_mutation_saved = stage1_trainable\n'
               '_mutation_model = _copy.deepcopy(stage1_model)\n'
               'set_parameter_requires_grad(_mutation_model, feature_extracting=False)\n'
               'stage1_trainable = trainable_parameter_names(_mutation_model)\n'
               'del _mutation_model',
        restore='stage1_trainable = _mutation_saved\ndel _mutation_saved',
    )],
}


def self_check_source(nb, lesson: str) -> str:
    from lesson_runs import SELF_CHECK

    found = [c.source for c in nb.cells if c.cell_type == "code" and SELF_CHECK in c.source]
    assert len(found) == 1, (f"lesson {lesson}: expected one self-check cell (a code cell printing {SELF_CHECK!r}), "
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
        assert error["ename"] == "AssertionError" and mutation.claim in error["evalue"], \
            f"{where}: expected that claim's AssertionError, got {error['ename']}: {error['evalue'][:500]}"
        error = run_cell(client, nb, mutation.restore)
        assert error is None, f"{where}: restore failed: {error['ename']}: {error['evalue'][:500]}"
        error = run_cell(client, nb, source)
        assert error is None, f"{where}: after restore the self-check fails: {error['ename']}: {error['evalue'][:500]}"
        proved.append(f"{mutation.claim}: fails when {mutation.why}")
    return proved
