"""The shared flags are generated from Config's fields: one flag per field, its default and help.

In-process, on absl's global FLAGS (saved and restored around each test) or on a private FlagValues.
"""

import dataclasses
import typing

import pytest
from absl import flags
from absl.testing import flagsaver

import style_transfer.cli  # noqa: F401 (defines Config's flags on absl's FLAGS)
from style_transfer import cli_common
from style_transfer.config import Config, ScheduleConfig, VideoConfig, VideoSetup, setting
from style_transfer.errors import ConfigError

FLAGS = flags.FLAGS
FLAG_TYPES = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "string",
    tuple[str, ...]: "comma separated list of strings",
    tuple[float, ...]: "comma separated list of strings",  # converted to floats by config_from_flags
}
NOT_FLAGS = {"style_layer_weights", "beta_1", "beta_2", "epsilon"}  # metadata {"flag": False}


@pytest.fixture
def global_flags():
    """absl's global FLAGS, unparsed (all defaults); its state before comes back afterwards."""
    was_parsed = FLAGS.is_parsed()
    saved = flagsaver.save_flag_values()
    FLAGS.unparse_flags()
    try:
        yield FLAGS
    finally:
        FLAGS.unparse_flags()
        flagsaver.restore_flag_values(saved)
        if was_parsed:
            FLAGS.mark_as_parsed()


def test_every_config_field_is_a_flag_unless_it_opts_out():
    names = set(Config().fields())
    assert len(names) == sum(len(dataclasses.fields(part)) for part in cli_common.config_parts().values())
    flag_names = {field.name for field in cli_common.flag_fields()}
    assert flag_names == names - NOT_FLAGS
    for name in NOT_FLAGS:
        assert name not in FLAGS, name


def test_each_flag_has_the_config_default_help_and_type(global_flags):
    defaults = Config().fields()
    types = {
        name: kind for part in cli_common.config_parts().values() for name, kind in typing.get_type_hints(part).items()
    }
    for field in cli_common.flag_fields():
        assert field.name in FLAGS, field.name
        flag = FLAGS[field.name]
        default = defaults[field.name]
        value = tuple(flag.value) if isinstance(default, tuple) else flag.value
        assert value == default, field.name
        assert flag.help.endswith(field.metadata["help"]), field.name  # enums: "<a|b>: " first
        choices = field.metadata.get("choices")
        if choices:
            assert flag.flag_type() == "string enum" and tuple(flag.parser.enum_values) == choices, field.name
        else:
            assert flag.flag_type() == FLAG_TYPES[types[field.name]], field.name


def test_no_flags_give_the_default_config(global_flags):
    global_flags(["prog"])
    assert cli_common.config_from_flags() == Config()


def test_parsed_flags_become_the_config(global_flags):
    global_flags(
        [
            "prog",
            "--steps=7",
            "--content_weight=2.5",
            "--network=vgg16",
            "--jit_compile=true",
            "--content_layers= block3_conv2 ,block4_conv2",
            "--style_layers=block1_conv1:2, block2_conv1",
            "--optimizer=lbfgs",
            "--weights=none",
        ]
    )
    config = cli_common.config_from_flags()
    assert config == Config().replace(
        steps=7,
        content_weight=2.5,
        network="vgg16",
        jit_compile="true",
        content_layers=("block3_conv2", "block4_conv2"),
        style_layers=("block1_conv1", "block2_conv1"),
        style_layer_weights=(2.0, 1.0),
        optimizer="lbfgs",
        weights="none",
    )
    global_flags(["prog", "--style_layers=block1_conv1,block2_conv1"])  # no NAME:WEIGHT: equal weights
    assert cli_common.config_from_flags().loss.style_layer_weights == ()


def test_enum_flags_refuse_other_values(global_flags):
    with pytest.raises(flags.IllegalFlagValueError):
        global_flags(["prog", "--network=resnet"])


@dataclasses.dataclass(frozen=True)
class Extras:
    """A new part: its fields need nothing but their metadata to become flags."""

    extra_count: int = setting(4, "A new integer.")
    extra_mode: str = setting("b", "A new choice.", choices=("a", "b"))
    extra_scales: tuple[float, ...] = setting((0.5, 1.0), "New numbers.")
    extra_on: bool = setting(True, "A new switch.")
    extra_frames: tuple[int, ...] = setting((1, 2), "New whole numbers.")
    extra_hidden: int = setting(1, "Not a flag.", flag=False)


@dataclasses.dataclass(frozen=True)
class Extended:
    """A config of two parts: the schedule's fields and the new ones all become flags."""

    schedule: ScheduleConfig = ScheduleConfig()
    extras: Extras = Extras()


def test_a_new_config_field_becomes_a_flag():
    flag_values = flags.FlagValues()
    cli_common.define_config_flags(flag_values, Extended)
    assert flag_values["extra_count"].default == 4 and flag_values["extra_count"].help == "A new integer."
    assert flag_values["extra_mode"].flag_type() == "string enum"
    assert "extra_hidden" not in flag_values

    flag_values(["prog"])
    assert cli_common.config_from_flags(flag_values, Extended) == Extended()

    flag_values.unparse_flags()
    flag_values(["prog", "--extra_count=9", "--extra_mode=a", "--extra_scales=2, 3", "--noextra_on", "--steps=7"])
    config = cli_common.config_from_flags(flag_values, Extended)
    assert config == Extended(
        ScheduleConfig(steps=7), Extras(extra_count=9, extra_mode="a", extra_scales=(2.0, 3.0), extra_on=False)
    )

    flag_values.unparse_flags()
    flag_values(["prog", "--extra_scales=2,x"])
    with pytest.raises(ConfigError, match="--extra_scales takes numbers"):
        cli_common.config_from_flags(flag_values, Extended)

    flag_values.unparse_flags()
    flag_values(["prog", "--extra_frames=1, 15,40"])
    assert cli_common.config_from_flags(flag_values, Extended).extras.extra_frames == (1, 15, 40)
    flag_values.unparse_flags()
    flag_values(["prog", "--extra_frames=1,2.5"])
    with pytest.raises(ConfigError, match="--extra_frames takes whole numbers"):
        cli_common.config_from_flags(flag_values, Extended)


@dataclasses.dataclass(frozen=True)
class _NoHelp:
    extra: int = 3


@dataclasses.dataclass(frozen=True)
class _OddType:
    extra: dict = dataclasses.field(default=None, metadata={"help": "A mapping."})


@dataclasses.dataclass(frozen=True)
class _WithNoHelp:
    part: _NoHelp = _NoHelp()


@dataclasses.dataclass(frozen=True)
class _WithOddType:
    part: _OddType = _OddType()


def test_a_field_without_help_or_with_an_unknown_type_is_refused():
    for config_cls, message in ((_WithNoHelp, "no metadata 'help'"), (_WithOddType, "no flag type")):
        with pytest.raises(TypeError, match=message):
            cli_common.define_config_flags(flags.FlagValues(), config_cls)


def test_readme_flag_table_lists_every_config_flag_with_its_default():
    """README's Flags table is written by hand: every generated flag must be in it (Config's and
    VideoConfig's), with its default."""
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = dict(re.findall(r"^\| `--(\w+)` \| ([^|]+) \|", readme, flags=re.MULTILINE))
    video = VideoConfig()
    defaults = {**Config().fields(), **{name: getattr(video, name) for name in video.__dataclass_fields__}}
    for field in [*cli_common.flag_fields(), *cli_common.flag_fields(VideoSetup)]:
        assert field.name in rows, f"--{field.name} is missing from README's Flags table"
        default = defaults[field.name]
        shown = rows[field.name].strip().strip("`")
        if isinstance(default, bool):
            assert shown == str(default).lower(), (field.name, shown)
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            assert float(shown) == float(default), (field.name, shown)
        elif isinstance(default, str) and field.name != "weights":
            assert shown == (default or "none"), (field.name, shown)  # an empty default reads "none"


def test_blend_weights_flag_becomes_floats(global_flags):
    global_flags(["prog", "--style_blend_weights=0.7,0.3", "--style_scale=0.5", "--preserve_colors=luminance"])
    config = cli_common.config_from_flags()
    assert config.style.style_blend_weights == (0.7, 0.3)
    assert config.style.style_scale == 0.5 and config.style.preserve_colors == "luminance"


def test_abstraction_sets_its_curve_and_given_flags_win(global_flags):
    """--abstraction stands for the settings of config.ABSTRACTION_CURVE; any of them given on the
    command line beside it keeps its value, in either order."""
    from style_transfer.config import abstraction_settings

    global_flags(["prog", "--abstraction=0"])
    config = cli_common.config_from_flags()
    global_flags.unparse_flags()
    assert config == Config(abstraction=0.0)
    fields = config.fields()
    assert {name: fields[name] for name in abstraction_settings(0.0)} == abstraction_settings(0.0)
    assert fields["steps"] == 60 and fields["keep_detail"] is True and fields["style_weight"] == 3.5
    global_flags(["prog", "--steps=20", "--abstraction=1", "--nokeep_detail", "--style_weight=2"])
    config = cli_common.config_from_flags()
    global_flags.unparse_flags()
    expected = {**abstraction_settings(1.0), "steps": 20, "keep_detail": False, "style_weight": 2.0}
    assert {name: config.fields()[name] for name in expected} == expected
    assert config.style.abstraction == 1.0
    # Without --abstraction, a flag of the curve changes only itself.
    global_flags(["prog", "--steps=20"])
    assert cli_common.config_from_flags() == Config(steps=20)
