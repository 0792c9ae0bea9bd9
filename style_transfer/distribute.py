"""Several devices: a batch of photos spread over GPUs, a CPU's logical devices or a TPU's cores.

Contract: `DistributedRunner(strategy, config, styles)(content)`: content float32 RGB
[N, H, W, 3] in [0, 1] (N photos of one size, numpy), styles [1, h, w, 3] each; returns float32
numpy [N, H, W, 3] in [0, 1], each photo what multiscale.stylize gives it alone (up to rounding).

Each replica stylises its own share of the batch with the stateless in-graph loop
(multiscale.coarse_to_fine_in_graph at static shapes, which compiles with XLA); there is no
cross-replica reduction, because the photos are independent. The batch is padded (repeating its last photo) to a
multiple of the replica count, so that every replica sees the same static shape, as a TPU needs,
and the padding is dropped from the result. The in-graph loop reports no per-step progress and
supports neither init images nor masks (ConfigError); a non-finite result is NonFiniteLossError.

`make_strategy(runtime, photos)` turns RuntimeConfig.distribution_strategy into a tf.distribute.Strategy,
or None for the default device (multiscale.stylize, with per-step progress).
"""

from __future__ import annotations

import math
import os

import numpy as np
import tensorflow as tf

from style_transfer import multiscale, vgg
from style_transfer.config import Config, RuntimeConfig
from style_transfer.errors import ConfigError, NonFiniteLossError, named

# Environment variables that name a TPU (Colab's TPU runtimes, Cloud TPU VMs): "auto" uses it.
TPU_ENVIRONMENT = ("TPU_NAME", "COLAB_TPU_ADDR")


def make_strategy(runtime: RuntimeConfig, photos: int = 1) -> tf.distribute.Strategy | None:
    """The strategy runtime.distribution_strategy asks for on this machine, for `photos` photos.

    auto: "tpu" when runtime.tpu (or a TPU_ENVIRONMENT variable) names a TPU, "mirrored" for
    several photos on several GPUs, else None: the default device, with per-step progress.
    """
    name = runtime.distribution_strategy
    gpus = tf.config.list_logical_devices("GPU")
    tpu = runtime.tpu or next((os.environ[v] for v in TPU_ENVIRONMENT if os.environ.get(v)), "")
    if name == "auto":
        if tpu:
            name = "tpu"
        elif len(gpus) > 1 and photos > 1:
            name = "mirrored"
        else:
            return None
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        # Every GPU, or where there is none every logical CPU device (a CPU split with
        # tf.config.set_logical_device_configuration: how the tests run it). Nothing is reduced
        # across replicas, so the cross-device communication is the simplest there is.
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    return _tpu_strategy(tpu)


def _tpu_strategy(address: str) -> tf.distribute.Strategy:
    """TPUStrategy for a TPU by name or grpc:// address ("" = the local TPU of a TPU VM)."""
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, OSError, RuntimeError, tf.errors.OpError) as e:  # OSError: a name not found
        where = f"at {address!r}" if address else "on this machine"
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"no TPU found {where} ({first_line}); set {named('tpu')} to its name or grpc:// address, or choose "
            f"another {named('distribution_strategy')}"
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def jit_for(jit_compile: str, strategy: tf.distribute.Strategy) -> bool:
    """Whether the replicas' loop is XLA-compiled: jit_compile (RuntimeConfig), where "auto" means on
    GPUs and TPUs (measured on an H200: 1.45-1.73x faster per step, docs/gpu.md) and off on CPUs
    (0.72-0.85x on AVX-512 Zen 4/5). A TPU compiles with XLA whatever this says."""
    if jit_compile != "auto":
        return jit_compile == "true"
    devices = strategy.extended.worker_devices
    return any("GPU" in d.upper() or "TPU" in d.upper() for d in devices)


class DistributedRunner:
    """Stylise batches of photos across the strategy's replicas (see the module docstring).

    The extractor is built in the strategy's scope (its variables on every replica); the traced
    function is kept, so batches of one shape after the first run without tracing again.
    """

    def __init__(
        self,
        strategy: tf.distribute.Strategy,
        config: Config,
        styles: list[np.ndarray],
        style_blend_weights: list[float] | None = None,
    ):
        self.strategy, self.config = strategy, config.validate()
        if config.runtime.tile_size:  # coarse_to_fine_in_graph refuses it too, but only once tracing, inside TF's error
            raise ConfigError(
                f"{named('distribution_strategy')}={config.runtime.distribution_strategy} runs the in-graph loop, "
                f"which does not tile: set {named('tile_size')}=0, or use {named('distribution_strategy')}=auto on "
                "one device"
            )
        with strategy.scope():
            self.extractor = vgg.extractor_for(config)
        styles = [tf.constant(s, tf.float32) for s in styles]
        blend = style_blend_weights or config.style.blend_weights(len(styles))

        def replica(content):  # [n, H, W, 3]: this replica's photos
            return multiscale.coarse_to_fine_in_graph(self.extractor, content, styles, config, blend)

        replica = tf.function(replica, jit_compile=jit_for(config.runtime.jit_compile, strategy), autograph=False)

        @tf.function(autograph=False)
        def run(shards):
            return strategy.run(replica, args=(shards,))

        self._run = run

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    def __call__(self, content: np.ndarray) -> np.ndarray:
        count = content.shape[0]
        per_replica = math.ceil(count / self.replicas)
        padding = per_replica * self.replicas - count
        padded = np.concatenate([content, np.repeat(content[-1:], padding, axis=0)]) if padding else content
        shards = [padded[i * per_replica : (i + 1) * per_replica] for i in range(self.replicas)]
        values = self.strategy.experimental_distribute_values_from_function(
            lambda context: tf.constant(shards[context.replica_id_in_sync_group], tf.float32)
        )
        results = self.strategy.experimental_local_results(self._run(values))
        result = np.concatenate([np.asarray(r) for r in results])[:count]
        if not np.isfinite(result).all():
            raise NonFiniteLossError(
                "the in-graph optimisation gave non-finite pixels; check the weights file, or lower "
                f"{named('learning_rate')} and the loss weights, or set {named('precision')}=float32"
            )
        return result
