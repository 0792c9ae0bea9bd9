"""What this machine runs best: the precision "auto" stands for, and float16's loss scale.

Contract: a precision setting (RuntimeConfig.precision) in, the name of the precision the VGG
extractor computes in out ("float32", "bfloat16" or "float16"); images, features, losses,
gradients and the optimiser's state stay float32 whichever it is. Looks at the devices TensorFlow
sees and the CPU's flags (once per process); builds no model.
"""

from __future__ import annotations

import contextlib
import functools
import os

import tensorflow as tf

# float16 gradients inside VGG are tiny and partly flush to zero: the loss is multiplied by this
# before differentiation and the gradient divided by it after (static loss scaling). Measured at
# 512 px with ImageNet VGG16: gradient cosine to float32 0.949 unscaled, 0.999 with 2^12. The
# normalised losses are O(1), so a fixed scale suffices; a non-finite result stops the run.
FLOAT16_LOSS_SCALE = 2.0**12


@contextlib.contextmanager
def building_in(precision: str):
    """Keras layers built within compute in `precision`: "float32", or "bfloat16" / "float16" as
    Keras' mixed policy (variables float32, computations in that type); the policy is restored after."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32" if precision == "float32" else f"mixed_{precision}")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def auto_precision(cpu_flags: set[str] | None = None, gpu_capabilities: list | None = None) -> str:
    """The precision "auto" stands for on this machine (arguments: for tests).

    bfloat16 where the hardware computes it natively: TPUs, NVIDIA GPUs of compute capability 8.0+
    (Ampere on), CPUs with AVX512_BF16 or AMX (measured here: 1.75x faster per step than float32,
    gradient cosine 0.99). float16 on NVIDIA Volta/Turing (7.x: tensor cores, no bfloat16).
    float32 elsewhere: emulated bfloat16 or float16 is slower than float32 (float16 measured 7x
    slower on a CPU).
    """
    if cpu_flags is None and gpu_capabilities is None:
        if tf.config.list_logical_devices("TPU"):
            return "bfloat16"
        gpu_capabilities = [
            tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
            for gpu in tf.config.list_physical_devices("GPU")
        ]
        cpu_flags = _cpu_flags()
    if gpu_capabilities:
        capability = min(tuple(c) for c in gpu_capabilities)
        return "bfloat16" if capability >= (8, 0) else "float16" if capability >= (7, 0) else "float32"
    return "bfloat16" if (cpu_flags or set()) & {"avx512_bf16", "amx_bf16"} else "float32"


def _cpuinfo() -> dict[str, str]:
    """The first CPU's entries of /proc/cpuinfo ({} where there is none)."""
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if not sep or not key.strip():
                    if info:
                        break  # the end of the first CPU's block
                    continue
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def _onednn_isa_cap() -> str | None:
    """The instruction-set cap the user gave oneDNN (ONEDNN_MAX_CPU_ISA), upper case, or None."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    return cap.strip().upper() if cap and cap.strip().upper() not in ("ALL", "DEFAULT") else None


def capped_cpu_flags(flags: set[str], isa_cap: str | None) -> set[str]:
    """The CPU flags TensorFlow's oneDNN kernels may use under `isa_cap` (an ONEDNN_MAX_CPU_ISA value).

    Below AVX512_CORE_BF16 oneDNN has no bfloat16 kernels: measured on a Zen 4 capped at
    AVX512_CORE, a bfloat16 convolution is 2.8x slower than float32, and capped at AVX2 it fails
    ("could not create a primitive descriptor"). So "auto" must not pick bfloat16 there.
    """
    if isa_cap is None or any(tag in isa_cap for tag in ("BF16", "AMX", "AVX10", "FP16")):
        return flags
    return flags - {"avx512_bf16", "amx_bf16"}


def _cpu_flags() -> set[str]:
    return capped_cpu_flags(set(_cpuinfo().get("flags", "").split()), _onednn_isa_cap())


@functools.cache
def _machine_precision() -> str:
    return auto_precision()  # devices and CPU flags do not change within a process


def auto_jit(cpu_flags: set[str] | None = None, accelerators: bool | None = None, isa_cap: str | None = None):
    """What jit_compile "auto" settles without timing (arguments: for tests): True on GPUs and TPUs
    (XLA 1.45-2.2x faster per step on an H200, docs/gpu.md); False on CPUs whose oneDNN kernels
    use AVX-512 (XLA 0.72x on a Zen 5, 0.80-0.85x on a Zen 4: XLA's convolutions are not oneDNN's;
    probing cost 7 s of a 45 s 512 px run on the Zen 4); None where it differs (AVX2-only CPUs:
    1.07-1.48x on a Zen 3), which the probe times (step.ImageOptimizer)."""
    if cpu_flags is None and accelerators is None:
        accelerators = bool(tf.config.list_logical_devices("TPU") or tf.config.list_physical_devices("GPU"))
        cpu_flags, isa_cap = set(_cpuinfo().get("flags", "").split()), _onednn_isa_cap()
    if accelerators:
        return True
    capped = isa_cap is not None and not any(tag in isa_cap for tag in ("AVX512", "AMX", "AVX10"))
    return False if "avx512f" in (cpu_flags or set()) and not capped else None


@functools.cache
def _machine_jit():
    return auto_jit()  # devices and CPU flags do not change within a process


def resolved_jit(jit_compile: str):
    """XLA for a long enough final scale (scales.ScaleRunner.jit): True or False as jit_compile
    (RuntimeConfig) says, or for "auto" this machine's auto_jit (None: probe)."""
    return _machine_jit() if jit_compile == "auto" else jit_compile == "true"


def loss_scale(precision: str) -> float:
    """What the loss is multiplied by before differentiation (and the gradient divided by after) when
    the features are computed in `precision` (resolved): FLOAT16_LOSS_SCALE for float16, else 1."""
    return FLOAT16_LOSS_SCALE if precision == "float16" else 1.0


def resolved_precision(precision: str) -> str:
    """The precision the VGG features are computed in: `precision` (RuntimeConfig.precision), or
    for "auto" what this machine runs best (auto_precision)."""
    return _machine_precision() if precision == "auto" else precision


def cpu_model() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it."""
    return _cpuinfo().get("model name", "unknown CPU")


def describe_gpus() -> list[str]:
    """One "NAME (compute capability X.Y)" per GPU TensorFlow sees."""
    described = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capability = ".".join(map(str, details.get("compute_capability", ("?",))))
        described.append(f"{details.get('device_name', gpu.name)} (compute capability {capability})")
    return described


def describe_machine() -> str:
    """One line for reports: CPU model and family, cores, SIMD flags that matter here, GPUs, versions."""
    import platform

    import keras

    cpu = _cpuinfo()
    # Family and model number tell CPUs with the same name apart (AMD EPYC family 25: model 1 is a
    # Zen 3, model 17 a Zen 4; family 26 a Zen 5).
    model, family, number = cpu_model(), cpu.get("cpu family", ""), cpu.get("model", "")
    simd: list[str] = [flag for flag in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if flag in _cpu_flags()]
    if cap := _onednn_isa_cap():
        simd.append(f"oneDNN capped at {cap} by ONEDNN_MAX_CPU_ISA")
    gpus = describe_gpus()
    return (
        f"{model} (family {family or '?'}, model {number or '?'}), {os.cpu_count()} cores, "
        f"{', '.join(simd) or 'no AVX2'}; "
        f"{'GPU: ' + ', '.join(gpus) if gpus else 'no GPU'}; Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )
