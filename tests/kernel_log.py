"""An IPython start-up file: every kernel that runs it logs each cell it is asked to run.

``tests/conftest.py`` installs it (``$IPYTHONDIR/profile_default/startup/``) when
``COURSE_KERNEL_LOG`` names a file, as ``make test`` does, so every kernel started during the
tests (nbclient's, JupyterLab's in the browser test) appends one line per cell:
``{"pid": kernel pid, "sha1": sha1 of the cell's source}``. ``tests/test_run_count.py`` reads
it to count how many times each lesson was executed. Nothing else changes in the kernel.
"""


def _course_kernel_log():
    import hashlib
    import json
    import os

    path = os.environ.get("COURSE_KERNEL_LOG")
    shell = get_ipython()  # noqa: F821 - defined in IPython start-up files
    if not path or shell is None:
        return
    pid = os.getpid()

    def pre_run_cell(info):
        source = (getattr(info, "raw_cell", None) or "").strip()
        if source:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"pid": pid, "sha1": hashlib.sha1(source.encode()).hexdigest()}) + "\n")

    shell.events.register("pre_run_cell", pre_run_cell)


_course_kernel_log()
del _course_kernel_log
