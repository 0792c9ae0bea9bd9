"""Programs run inside the test process, as their processes would run them, without starting Python and
importing TensorFlow again for every run (~4 s each, most of test_cli.py's time when each run was a
process).

- `run_in_process(args, cwd)`: `style-transfer ARGS`, its stdout, stderr and exit status as a
  subprocess.CompletedProcess: the same absl flags parsed from the same arguments, the same `main`,
  in the given working directory;
- `run_program_in_process(path, args, cwd)`: any absl program (`style-transfer-train`,
  `style-transfer-export`, a benchmark script): its module executed afresh with absl's flags as a
  new process has them (its own only: programs share flag names), restored after.

What only a real process shows stays in subprocesses (test_cli.py's run_cli_process): TensorFlow's
own lines on stderr, the console script itself, an empty Keras cache (Keras fixes its home when it
is imported), Ctrl-C, logical devices.
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import subprocess
import sys
import warnings

from absl import flags


@contextlib.contextmanager
def _as_a_process(cwd):
    """Inside: the working directory `cwd`, stdout and stderr captured into the two StringIOs it
    yields; after: the working directory and warnings.showwarning as before (absl's main installs
    its own)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    cwd_before, showwarning_before = os.getcwd(), warnings.showwarning
    try:
        os.chdir(cwd or cwd_before)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            yield stdout, stderr
    finally:
        os.chdir(cwd_before)
        warnings.showwarning = showwarning_before


def run_in_process(args: list[str], cwd) -> subprocess.CompletedProcess:
    from style_transfer import cli  # the imported module: tests' monkeypatches of it apply

    argv = ["style-transfer", *map(str, args)]
    flags.FLAGS.unparse_flags()  # every flag at its default, as in a new process
    try:
        with _as_a_process(cwd) as (stdout, stderr):
            status = cli.main(flags.FLAGS(argv))  # a flag absl cannot parse raises here
    finally:
        flags.FLAGS.unparse_flags()
    return subprocess.CompletedProcess(argv, status, stdout.getvalue(), stderr.getvalue())


def _containers_copied(value):
    """`value` with its dicts and lists copied (two levels: the registrations are dicts of lists,
    changed in place), the Flag objects in them the same."""
    if isinstance(value, dict):
        return {key: list(item) if isinstance(item, list) else item for key, item in value.items()}
    return list(value) if isinstance(value, list) else value


@contextlib.contextmanager
def _own_flags():
    """absl's flags as a new process has them (its own only) inside, and as they were after: a
    program's flags are defined when its module is executed, and two programs may share names."""
    from style_transfer import cli_common

    state = flags.FLAGS.__dict__
    saved = {key: _containers_copied(value) for key, value in state.items()}
    defined = set(cli_common._DEFINED)  # which Config flags it has defined (it defines them once)
    cli_common._DEFINED.clear()
    programs = {  # every flag but absl's own (deleting changes these lists: names first)
        flag.name
        for module, defined in flags.FLAGS.flags_by_module_dict().items()
        if not module.startswith("absl.")
        for flag in defined
    }
    for name in programs:
        if name in flags.FLAGS:
            delattr(flags.FLAGS, name)
    try:
        yield
    finally:
        state.update(saved)  # the same Flag objects, registrations and parse state as before
        cli_common._DEFINED.clear()
        cli_common._DEFINED.update(defined)


def run_program_in_process(path, args: list[str], cwd=None) -> subprocess.CompletedProcess:
    """`python PATH ARGS` for an absl program (a benchmark script, a package CLI module) run in
    this process: its module executed afresh with its own flags, `main` called as app.run calls it
    (a UsageError: its message and status 1); stdout and stderr captured; absl's and TensorFlow's
    log levels, the working directory and sys.path restored after."""
    import importlib.util
    import logging

    from absl import app
    from absl import logging as absl_logging

    path = pathlib.Path(path)
    argv = [str(path), *map(str, args)]
    path_before = list(sys.path)
    verbosity, tf_level = absl_logging.get_verbosity(), logging.getLogger("tensorflow").level
    with _own_flags():
        try:
            with _as_a_process(cwd) as (stdout, stderr):
                sys.path.insert(0, str(path.parent))  # as for a script: its folder's modules import
                spec = importlib.util.spec_from_file_location(f"_program_{path.stem}", path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module  # dataclasses and pickling look their module up there
                spec.loader.exec_module(module)
                try:
                    status = module.main(flags.FLAGS(argv)) or 0
                except app.UsageError as error:
                    print(f"{path.name}: {error}", file=sys.stderr)
                    status = 1
                except SystemExit as exit_:
                    status = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            sys.modules.pop(f"_program_{path.stem}", None)
            sys.path[:] = path_before
            absl_logging.set_verbosity(verbosity)
            logging.getLogger("tensorflow").setLevel(tf_level)
    return subprocess.CompletedProcess(argv, status, stdout.getvalue(), stderr.getvalue())
