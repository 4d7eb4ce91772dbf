"""For the instructor, not the students: grading submitted notebooks (``classroom.grading``) and the
network guard the tests and the grader's sandbox use (``classroom/netguard``, a folder for ``PYTHONPATH``).

Kept out of ``helpers`` (the package students import) so that nothing of the grader is part of
what a student's code gets by ``import helpers``.
"""
