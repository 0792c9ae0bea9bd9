"""`style-transfer ARGS` run inside the test process: what it prints on stdout and stderr and the
status it exits with, as a subprocess.CompletedProcess, without starting Python and importing
TensorFlow again for every run (~4 s each, most of test_cli.py's time when each run was a process).

The CLI's own code runs as the console script runs it: the same absl flags parsed from the same
arguments, the same `main`, in the given working directory. What only a real process shows stays in
subprocesses (test_cli.py's run_cli_process): TensorFlow's own lines on stderr, the console script
itself, an empty Keras cache (Keras fixes its home when it is imported), Ctrl-C.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import warnings

from absl import flags


def run_in_process(args: list[str], cwd) -> subprocess.CompletedProcess:
    from style_transfer import cli

    argv = ["style-transfer", *map(str, args)]
    stdout, stderr = io.StringIO(), io.StringIO()
    cwd_before, showwarning_before = os.getcwd(), warnings.showwarning
    flags.FLAGS.unparse_flags()  # every flag at its default, as in a new process
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            status = cli.main(flags.FLAGS(argv))  # a flag absl cannot parse raises here
    finally:
        flags.FLAGS.unparse_flags()
        os.chdir(cwd_before)
        warnings.showwarning = showwarning_before  # main installs its own
    return subprocess.CompletedProcess(argv, status, stdout.getvalue(), stderr.getvalue())
