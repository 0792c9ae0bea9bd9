"""What both command lines share: the flags, generated from the fields of Config's parts (name,
default, help, choices), turning them back into a Config, library errors spelled with flags, a
quiet TensorFlow import, and running an absl main.

CLI layer only: the library never reads FLAGS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import typing

from absl import app, flags

from style_transfer import quiet
from style_transfer.config import Config
from style_transfer.errors import ConfigError, StyleTransferError

FLAGS = flags.FLAGS


def config_parts(config_cls: type = Config) -> dict[str, type]:
    """The parts of `config_cls` by attribute name: {"features": FeatureConfig, ...}."""
    hints = typing.get_type_hints(config_cls)
    return {field.name: hints[field.name] for field in dataclasses.fields(config_cls)}


def flag_fields(config_cls: type = Config) -> list[dataclasses.Field]:
    """The fields of every part of `config_cls` that are flags: all but those with metadata {"flag": False}."""
    return [
        field
        for part in config_parts(config_cls).values()
        for field in dataclasses.fields(part)
        if field.metadata.get("flag", True)
    ]


def _field_types(config_cls: type) -> dict[str, typing.Any]:
    # `from __future__ import annotations` leaves field.type a string: resolve the annotations.
    return {
        name: kind for part in config_parts(config_cls).values() for name, kind in typing.get_type_hints(part).items()
    }


def _defaults(config_cls: type) -> dict[str, typing.Any]:
    """Every field's default, by name, across the parts."""
    defaults = config_cls()
    return {
        field.name: getattr(getattr(defaults, part), field.name)
        for part, cls in config_parts(config_cls).items()
        for field in dataclasses.fields(cls)
    }


_DEFINED: set[tuple[int, type]] = set()  # (id of a FlagValues, config class) already defined there


def define_config_flags(flag_values: flags.FlagValues = FLAGS, config_cls: type = Config) -> None:
    """Define one flag per field of `config_cls`'s parts (see flag_fields): same name, the default
    of `config_cls()`, the help of the field's metadata, and a type from its annotation. Each
    command line calls it for its own config class (style-transfer and style-transfer-export:
    Config; style-transfer-train: TrainingSetup); a second call for the same class does nothing."""
    if (id(flag_values), config_cls) in _DEFINED:
        return
    _DEFINED.add((id(flag_values), config_cls))
    defaults, types = _defaults(config_cls), _field_types(config_cls)
    for field in flag_fields(config_cls):
        name, kind, default = field.name, types[field.name], defaults[field.name]
        help_text, choices = field.metadata.get("help"), field.metadata.get("choices")
        if not help_text:
            raise TypeError(f"{config_cls.__name__}: field {name} has no metadata 'help' for its flag")
        if choices is not None and kind is not str:
            raise TypeError(f"{config_cls.__name__}: field {name}: 'choices' need a str field, not {kind}")
        args = dict(name=name, help=help_text, flag_values=flag_values)
        if kind is bool:
            flags.DEFINE_bool(default=default, **args)
        elif kind is int:
            flags.DEFINE_integer(default=default, **args)
        elif kind is float:
            flags.DEFINE_float(default=default, **args)
        elif kind is str and choices is not None:
            flags.DEFINE_enum(default=default, enum_values=list(choices), **args)
        elif kind is str:
            flags.DEFINE_string(default=default, **args)
        elif kind in (tuple[str, ...], tuple[float, ...], tuple[int, ...]):
            # A comma-separated list; number entries are converted (and checked) by config_from_flags.
            flags.DEFINE_list(default=[str(value) for value in default], **args)
        else:
            raise TypeError(f"{config_cls.__name__}: field {name}: no flag type for {kind}; add one in cli_common.py")


def parse_style_layers(entries: list[str]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """['block1_conv1:2', 'block2_conv1'] -> (names, weights); weights () when none was given."""
    names, weights = [], []
    for entry in entries:
        name, _, weight = entry.partition(":")
        names.append(name.strip())
        try:
            weights.append(float(weight) if weight else 1.0)
        except ValueError:
            raise ConfigError(f"bad style layer weight in {entry!r}; write NAME or NAME:WEIGHT") from None
    explicit = any(":" in entry for entry in entries)
    return tuple(names), tuple(weights) if explicit else ()


def _from_flag(name: str, kind: typing.Any, value: typing.Any) -> typing.Any:
    if kind == tuple[str, ...]:
        return tuple(entry.strip() for entry in value)
    if kind == tuple[float, ...]:
        try:
            return tuple(float(entry) for entry in value)
        except ValueError:
            raise ConfigError(f"--{name} takes numbers separated by commas, got {','.join(value)!r}") from None
    if kind == tuple[int, ...]:
        try:
            return tuple(int(entry) for entry in value)
        except ValueError:
            raise ConfigError(f"--{name} takes whole numbers separated by commas, got {','.join(value)!r}") from None
    return value


def config_from_flags(flag_values: flags.FlagValues = FLAGS, config_cls: type = Config):
    """The validated `config_cls` of the parsed flags (fields that are not flags keep their defaults).

    --style_layers=NAME[:WEIGHT],... sets both style_layers and style_layer_weights.
    """
    types = _field_types(config_cls)
    values = {
        field.name: _from_flag(field.name, types[field.name], flag_values[field.name].value)
        for field in flag_fields(config_cls)
    }
    if "style_layers" in values:
        values["style_layers"], values["style_layer_weights"] = parse_style_layers(
            list(flag_values["style_layers"].value or [])
        )
    parts = {}
    for part, cls in config_parts(config_cls).items():
        names = {field.name for field in dataclasses.fields(cls)}
        parts[part] = cls(**{name: value for name, value in values.items() if name in names})
    config = config_cls(**parts)
    # A flag that stands for others (--abstraction): given, it sets them, except those given too.
    for field in flag_fields(config_cls):
        derive = field.metadata.get("derives")
        if derive is not None and flag_values[field.name].present:
            given = {name: values[name] for name in derive(values[field.name]) if flag_values[name].present}
            config = config.replace(**{field.name: values[field.name]}, **given)
    return config.validate() if hasattr(config, "validate") else config


# Fields that are not flags of their own, spelled as the flag that sets them.
_SPELLINGS = {"style_layer_weights": "the NAME:WEIGHT entries of --style_layers"}


def flag_spelling(name: str) -> str:
    """How the command line writes the setting `name` (a Config field or a flag): --name."""
    return _SPELLINGS.get(name, f"--{name}")


def user_message(error: StyleTransferError) -> str:
    """A library error as the command line says it: the settings it names spelled as flags."""
    return error.spelled(flag_spelling)


def import_tensorflow_quietly() -> None:
    """quiet.import_tensorflow_quietly, keeping TF's INFO lines on --verbosity=0."""
    quiet.import_tensorflow_quietly(info_logs=bool(FLAGS["verbosity"].present))


def run(main, module_name: str, doc: str) -> None:
    """app.run(main), with `module_name`'s flags and `doc` shown by --help."""
    # absl's --help lists the key flags of the module named by sys.argv[0] (the console script or
    # __main__.py, not ours): make ours and the shared ones theirs.
    for name in (module_name, __name__):
        for flag in FLAGS.get_flags_for_module(name):
            FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    sys.modules["__main__"].__doc__ = doc  # absl prints it as the usage text
    with contextlib.suppress(BrokenPipeError):
        app.run(main)
