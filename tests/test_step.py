"""step.py, scales.py, multiscale.py, devices.py: the loss terms, the step lowers the loss,
determinism, the in-graph loops, coarse to fine, precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from style_transfer import devices, multiscale, optimizers, resample, scales, starts, step, vgg
from style_transfer.config import Config
from style_transfer.errors import NonFiniteLossError
from style_transfer.objective import Objective
from tests.conftest import gradient_photo

CONFIG = Config(
    network="vgg16",
    weights="none",
    content_layers=("block2_conv2",),
    style_layers=("block1_conv1", "block2_conv1"),
    max_size=32,
    steps=5,
    learning_rate=0.05,
    scales=1,
    min_scale_size=0,  # tiny images: every scale asked for is used
    optimizer="adam",  # the mechanics below are Adam's; L-BFGS has tests of its own
    init="content",
    precision="float32",
    jit_compile="false",  # "auto" compiles with XLA to time it: tested on its own below
)


CONTENT = gradient_photo(16, 20, 1)
STYLE = gradient_photo(18, 14, 2)


@pytest.fixture(scope="module")
def extractor():
    return vgg.extractor_for(CONFIG)


def _objective(extractor, config=CONFIG):
    return Objective.of_images(extractor, tf.constant(CONTENT), [tf.constant(STYLE)], config.loss)


def test_objective_terms_are_weighted_and_sum_to_total(extractor):
    weighted = CONFIG.replace(content_weight=2.0, style_weight=3.0, tv_weight=5.0)
    plain = _objective(extractor, CONFIG.replace(content_weight=1.0, style_weight=1.0, tv_weight=1.0))(
        gradient_photo(16, 20, 9)
    )
    terms = _objective(extractor, weighted)(gradient_photo(16, 20, 9))
    for name, weight in (("content", 2.0), ("style", 3.0), ("tv", 5.0)):
        np.testing.assert_allclose(terms[name].numpy(), weight * plain[name].numpy(), rtol=1e-5)
    np.testing.assert_allclose(terms["total"], terms["content"] + terms["style"] + terms["tv"], rtol=1e-6)
    # From the content image itself, the content loss is exactly zero.
    assert _objective(extractor)(CONTENT)["content"].numpy() == 0.0


def test_steps_lower_the_loss_and_keep_the_range(extractor):
    seen = []
    stylizer = step.ImageOptimizer(
        _objective(extractor), starts.initial_image(CONTENT, STYLE, "noise", 0), CONFIG.optim
    )
    out = stylizer.run(20, lambda step, terms, image: seen.append((step, terms["total"])))
    assert [s for s, _ in seen] == list(range(1, 21))
    assert seen[-1][1] < 0.7 * seen[0][1]
    assert out.shape == CONTENT.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_callback_gets_terms_and_the_live_image(extractor):
    calls = []
    stylizer = step.ImageOptimizer(_objective(extractor), CONTENT, CONFIG.optim)
    stylizer.run(2, lambda step, terms, image: calls.append((step, sorted(terms), np.array(image))))
    assert [c[0] for c in calls] == [1, 2]
    assert calls[0][1] == ["content", "style", "total", "tv"]
    assert not np.array_equal(calls[0][2], calls[1][2])  # the image moved between steps
    np.testing.assert_array_equal(calls[1][2], stylizer.image.numpy())


def test_runs_are_deterministic(extractor):
    first = multiscale.stylize(CONTENT, STYLE, CONFIG.replace(init="noise", seed=3), extractor=extractor)
    second = multiscale.stylize(CONTENT, STYLE, CONFIG.replace(init="noise", seed=3), extractor=extractor)
    np.testing.assert_array_equal(first, second)
    other_seed = multiscale.stylize(CONTENT, STYLE, CONFIG.replace(init="noise", seed=4), extractor=extractor)
    assert not np.array_equal(first, other_seed)


def test_random_weights_are_seeded():
    a = vgg.extractor_for(CONFIG.replace(seed=7))
    b = vgg.extractor_for(CONFIG.replace(seed=7))
    np.testing.assert_array_equal(a(CONTENT)["block2_conv2"], b(CONTENT)["block2_conv2"])


def test_initial_images():
    content = starts.initial_image(CONTENT, STYLE, "content", 0)
    np.testing.assert_array_equal(content, CONTENT)
    style = starts.initial_image(CONTENT, STYLE, "style", 0).numpy()
    assert style.shape == CONTENT.shape and 0 <= style.min() and style.max() <= 1
    assert abs(style.mean() - STYLE.mean()) < 0.05
    noise = starts.initial_image(CONTENT, STYLE, "noise", 0).numpy()
    assert noise.shape == CONTENT.shape and 0 <= noise.min() and noise.max() <= 1
    assert abs(noise.mean() - 0.5) < 0.05
    np.testing.assert_array_equal(noise, starts.initial_image(CONTENT, STYLE, "noise", 0))
    assert not np.array_equal(noise, starts.initial_image(CONTENT, STYLE, "noise", 1))


def test_in_graph_loop_matches_the_variable_loop(extractor):
    """The stateless tf.while_loop and the tf.Variable loop run the same update."""
    objective = _objective(extractor)
    start = starts.initial_image(CONTENT, STYLE, "noise", 0)
    eager = step.ImageOptimizer(objective, start, CONFIG.optim).run(4)
    graph = tf.function(lambda image: step.optimize_in_graph(objective, image, 4, CONFIG.optim))(start)
    np.testing.assert_allclose(graph.numpy(), eager, atol=1e-5)
    assert not np.allclose(eager, start.numpy(), atol=1e-3)  # it did move


def test_blended_styles_weigh_each_paintings_loss(extractor):
    """Blend weights 3:1 make the style term 3/4 of the first painting's plus 1/4 of the second's
    (departure 3), and stylize() follows them: the result is nearer the heavier painting."""
    other = gradient_photo(12, 12, 5)
    image = tf.constant(gradient_photo(16, 20, 9))
    loss = CONFIG.loss

    def style_term(styles, blend=None, at=image):
        return Objective.of_images(extractor, CONTENT, styles, loss, blend)(at)["style"].numpy()

    alone = style_term([STYLE]), style_term([other])
    np.testing.assert_allclose(style_term([STYLE, other], [3.0, 1.0]), 0.75 * alone[0] + 0.25 * alone[1], rtol=1e-5)
    np.testing.assert_allclose(style_term([STYLE, other], [6.0, 2.0]), style_term([STYLE, other], [3.0, 1.0]))
    config = CONFIG.replace(steps=20)
    towards_first = multiscale.stylize(
        CONTENT, [STYLE, other], config, style_blend_weights=[3.0, 1.0], extractor=extractor
    )
    towards_other = multiscale.stylize(
        CONTENT, [STYLE, other], config, style_blend_weights=[1.0, 3.0], extractor=extractor
    )
    assert style_term([STYLE], at=towards_first) < style_term([STYLE], at=towards_other)
    assert style_term([other], at=towards_other) < style_term([other], at=towards_first)


class _NaNExtractor:
    """Stands in for a network whose weights are corrupt."""

    def __init__(self, real):
        self.real = real

    def __call__(self, image):
        return {k: v * float("nan") for k, v in self.real(image).items()}


def test_non_finite_loss_raises(extractor):
    with pytest.raises(NonFiniteLossError, match="loss became nan at step 1"):
        multiscale.stylize(CONTENT, STYLE, CONFIG, extractor=_NaNExtractor(extractor))


def test_stylize_validates_config():
    with pytest.raises(ValueError, match="learning_rate"):
        multiscale.stylize(CONTENT, STYLE, CONFIG.replace(learning_rate=0.0))


def teardown_module():
    keras.backend.clear_session()


def test_handover_keeps_the_photos_detail():
    rng = np.random.default_rng(0)
    fine = tf.constant(rng.random((1, 32, 40, 3), np.float32))
    coarse = resample.to_size(fine, (16, 20))
    result = tf.clip_by_value(coarse + 0.1, 0.0, 1.0)  # a coarse-scale "stylisation": brighter
    kept = resample.handover(result, coarse, fine, keep_detail=True).numpy()
    plain = resample.handover(result, coarse, fine, keep_detail=False).numpy()
    assert kept.shape == plain.shape == (1, 32, 40, 3)
    # Detail: the photo's high frequencies survive the hand-over only with keep_detail ...
    detail = lambda x: np.abs(np.diff(x, axis=2)).mean()  # noqa: E731
    assert detail(kept) > 0.9 * detail(fine.numpy()) > detail(plain)
    # ... and the coarse change (+0.1 where not clipped) is carried over either way.
    inside = (fine.numpy() > 0.15) & (fine.numpy() < 0.85)
    assert abs((kept - fine.numpy())[inside].mean() - 0.1) < 0.02


def test_multiscale_runs_coarse_to_fine(extractor):
    seen = []
    config = CONFIG.replace(scales=3, steps=6, scale_ratio=2**0.5, coarse_share=2 / 3)
    content = gradient_photo(32, 40, 3)
    out = multiscale.stylize(
        content, STYLE, config, extractor=extractor, callback=lambda step, t, image: seen.append((step, image.shape))
    )
    # 32x40 times sqrt(2)^-2, sqrt(2)^-1 and 1 (rounded half to even), two steps at each.
    sizes = [(16, 20)] * 2 + [(23, 28)] * 2 + [(32, 40)] * 2
    assert seen == [(step, (1, h, w, 3)) for step, (h, w) in enumerate(sizes, start=1)]
    assert out.shape == content.shape


def test_in_graph_multiscale_matches_stylize(extractor):
    config = CONFIG.replace(scales=2, steps=5)
    eager = multiscale.stylize(CONTENT, STYLE, config, extractor=extractor)
    graph = tf.function(lambda c, s: multiscale.coarse_to_fine_in_graph(extractor, c, [s], config))(CONTENT, STYLE)
    np.testing.assert_allclose(graph.numpy(), eager, atol=1e-4)


def _features_and_grad(config, image):
    extractor = vgg.extractor_for(config)
    objective = _objective(extractor, config)
    update = step.make_update(objective, config.optim, devices.loss_scale(config.runtime.precision))
    x = tf.constant(image)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = objective(x)["total"]
    plain_grad = tape.gradient(total, x).numpy()
    new_image, _, _ = update(x, optimizers.adam_init(x))
    return extractor(x), plain_grad, new_image.numpy()


def _cosine(a, b):
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_reduced_precision_features_and_gradients_agree_with_float32(precision):
    image = gradient_photo(16, 20, 7)
    f32, g32, step32 = _features_and_grad(CONFIG, image)
    low, glow, steplow = _features_and_grad(CONFIG.replace(precision=precision), image)
    for name in f32:
        assert low[name].dtype == tf.float32  # features are handed on in float32
        rel = np.linalg.norm(low[name] - f32[name]) / np.linalg.norm(f32[name])
        assert rel < 0.03, (name, rel)
    assert _cosine(glow, g32) > 0.99
    # The update (float16: with loss scaling) moves the image the same way as float32's.
    assert _cosine(steplow - image, step32 - image) > 0.95


def test_jit_compiled_step_matches(extractor):
    objective = _objective(extractor)
    plain = step.ImageOptimizer(objective, CONTENT, CONFIG.optim).run(2)
    compiled = step.ImageOptimizer(objective, CONTENT, CONFIG.optim, jit=True).run(2)
    np.testing.assert_allclose(compiled, plain, atol=1e-4)


def test_jit_auto_probes_both_ways_then_keeps_the_faster(extractor):
    objective = _objective(extractor)
    extractor.compiled_steps.clear()  # no probe of an earlier test for this shape
    plain = step.ImageOptimizer(objective, CONTENT, CONFIG.optim).run(8)
    auto = step.ImageOptimizer(objective, CONTENT, CONFIG.optim, jit=None)
    assert auto.jit is None
    result = auto.run(8)
    # One untimed step each way, then JIT_PROBE_STEPS timed ones each way, then the choice.
    assert [len(auto.probe_seconds[flag]) for flag in (False, True)] == [step.JIT_PROBE_STEPS] * 2
    expected = min(auto.probe_seconds[True]) < min(auto.probe_seconds[False])
    assert auto.jit is expected
    # The same update, whichever ran it; but XLA rounds differently and Adam carries that along (its
    # step is about the sign of the gradient where the gradient is near 0), so a few pixels may move
    # by 1e-3 (3e-3 seen once in CI). A probe that lost the optimiser's state between its two
    # compiled functions would be off by the step size (0.05) per step.
    difference = np.abs(result - plain)
    assert difference.mean() < 1e-3 and difference.max() < 2e-2, (difference.mean(), difference.max())
    # A later optimizer of this structure and shape takes the choice without probing; forced
    # either way, neither probes.
    for jit, expected_jit in ((None, expected), (True, True), (False, False)):
        later = step.ImageOptimizer(objective, CONTENT, CONFIG.optim, jit=jit)
        assert later.jit is expected_jit
        later.run(3)
        assert later.probe_seconds == {False: [], True: []}
    # Another shape probes anew.
    wider = gradient_photo(16, 24, 3)
    other = Objective.of_images(extractor, tf.constant(wider), [tf.constant(STYLE)], CONFIG.loss)
    assert step.ImageOptimizer(other, wider, CONFIG.optim, jit=None).jit is None


def test_multiscale_probes_jit_only_at_a_long_enough_final_scale(extractor, monkeypatch):
    made = []
    original = step.ImageOptimizer.__init__

    def spy(self, objective, image, optim, jit=False, loss_scale=1.0):
        made.append(jit)
        original(self, objective, image, optim, jit, loss_scale)

    monkeypatch.setattr(step.ImageOptimizer, "__init__", spy)
    monkeypatch.setattr(devices, "_machine_jit", lambda: None)  # a machine where XLA may win or lose: AVX2
    config = CONFIG.replace(jit_compile="auto", scales=2, steps=40, coarse_share=0.6)  # 24 + 16 steps
    multiscale.stylize(gradient_photo(32, 32, 1), STYLE, config, extractor=extractor)
    assert made == [False, False]  # a final scale this small never repays an XLA compile
    monkeypatch.setattr(scales, "JIT_PROBE_MIN_PIXELS", 32 * 32)
    made.clear()
    multiscale.stylize(gradient_photo(32, 32, 1), STYLE, config, extractor=extractor)
    assert made == [False, None]  # coarse scale without XLA, the final one measured
    made.clear()
    multiscale.stylize(gradient_photo(32, 32, 1), STYLE, config.replace(steps=6), extractor=extractor)
    assert made == [False, False]  # too few final steps to repay a compile
    made.clear()  # unless calls share the compiled step (a clip's frames, of different step counts)
    short = config.replace(steps=6, scales=1)
    multiscale.stylize(gradient_photo(32, 32, 1), STYLE, short, extractor=extractor, reuse=scales.Reuse())
    assert made == [None]
    # Where the kind of machine settles it, no probe: XLA (GPUs, TPUs) or not (AVX-512 CPUs).
    for settled in (True, False):
        monkeypatch.setattr(devices, "_machine_jit", lambda settled=settled: settled)
        made.clear()
        multiscale.stylize(gradient_photo(32, 32, 1), STYLE, config, extractor=extractor)
        assert made == [False, settled]


def test_auto_jit_by_kind_of_machine():
    zen4, zen3 = {"avx2", "avx512f", "avx512_bf16"}, {"avx2", "fma"}
    assert devices.auto_jit(zen4, False) is False  # XLA slower per step with AVX-512 oneDNN
    assert devices.auto_jit(zen3, False) is None  # it varies: the probe decides
    assert devices.auto_jit(zen3, True) is True and devices.auto_jit(zen4, True) is True  # GPU or TPU
    assert devices.auto_jit(zen4, False, "AVX2") is None  # oneDNN capped to AVX2: as an AVX2 CPU
    assert devices.auto_jit(zen4, False, "AVX512_CORE_BF16") is False
    assert devices.resolved_jit("true") is True and devices.resolved_jit("false") is False


def test_auto_precision():
    assert devices.auto_precision({"avx2", "avx512f", "avx512_bf16"}, []) == "bfloat16"
    assert devices.auto_precision({"avx2", "amx_bf16"}, []) == "bfloat16"
    assert devices.auto_precision({"avx2", "avx512f"}, []) == "float32"
    assert devices.auto_precision(set(), [(9, 0)]) == "bfloat16"  # H100
    assert devices.auto_precision(set(), [(7, 5)]) == "float16"  # T4
    assert devices.auto_precision(set(), [(8, 0), (7, 0)]) == "float16"  # the weakest GPU decides
    assert devices.auto_precision(set(), [(6, 1)]) == "float32"
    # A oneDNN instruction-set cap below AVX512_CORE_BF16 leaves no bfloat16 kernels.
    zen4 = {"avx2", "avx512f", "avx512_bf16"}
    assert devices.capped_cpu_flags(zen4, None) == zen4
    assert devices.capped_cpu_flags(zen4, "AVX512_CORE_BF16") == zen4
    assert devices.capped_cpu_flags(zen4, "AVX2") == {"avx2", "avx512f"}
    assert devices.auto_precision(devices.capped_cpu_flags(zen4, "AVX512_CORE"), []) == "float32"
    assert devices.resolved_precision("bfloat16") == "bfloat16"


def test_auto_precision_resolves_to_what_this_machine_runs_best(monkeypatch):
    """ "auto" is asked of auto_precision once per process; any other setting is itself."""
    asked = []
    monkeypatch.setattr(devices, "auto_precision", lambda: asked.append(1) or "float16")
    devices._machine_precision.cache_clear()
    try:
        assert devices.resolved_precision("auto") == "float16" and devices.resolved_precision("auto") == "float16"
        assert asked == [1]
        assert [devices.resolved_precision(p) for p in ("float32", "bfloat16")] == ["float32", "bfloat16"]
    finally:
        devices._machine_precision.cache_clear()
    assert devices.loss_scale("float16") == devices.FLOAT16_LOSS_SCALE and devices.loss_scale("bfloat16") == 1.0


def test_too_small_content_is_a_clear_error(extractor):
    with pytest.raises(ValueError, match="needs at least 16 px on each side"):
        multiscale.stylize(gradient_photo(10, 40, 1), STYLE, Config(weights="none", steps=1), extractor=None)


def test_lbfgs_lowers_the_loss_and_runs_in_graph(extractor):
    config = CONFIG.replace(optimizer="lbfgs", lbfgs_memory=5)
    objective = _objective(extractor, config)
    start = starts.initial_image(CONTENT, STYLE, "noise", 0)
    seen = []
    eager = step.ImageOptimizer(objective, start, config.optim).run(
        15, lambda step, terms, image: seen.append(terms["total"])
    )
    assert seen[-1] < 0.7 * seen[0]
    graph = tf.function(lambda image: step.optimize_in_graph(objective, image, 15, config.optim))(start)
    np.testing.assert_allclose(graph.numpy(), eager, atol=1e-4)


def test_lbfgs_reports_and_returns_its_last_accepted_image(extractor):
    """The image variable holds L-BFGS's next, untried trial; callbacks and the result get the
    last accepted image, whose loss is the lowest seen."""
    config = CONFIG.replace(optimizer="lbfgs", lbfgs_memory=5)
    objective = _objective(extractor, config)
    seen = []
    stylizer = step.ImageOptimizer(objective, starts.initial_image(CONTENT, STYLE, "noise", 0), config.optim)
    result = stylizer.run(8, lambda step, terms, image: seen.append(np.array(image)))
    np.testing.assert_array_equal(seen[-1], result)
    assert not np.array_equal(result, stylizer.image.numpy())  # the variable already holds the next trial
    losses = [float(objective(tf.constant(image))["total"][0]) for image in seen]
    assert all(b <= a + 1e-6 for a, b in zip(losses[:-1], losses[1:], strict=True))  # accepted: never worse


def test_photo_normalised_style_term_starts_at_the_style_weight(extractor):
    photo = _objective(extractor, CONFIG.replace(style_normalization="photo", style_weight=2.5))
    assert float(photo(CONTENT)["style"][0]) == pytest.approx(2.5, rel=1e-4)
    painting = _objective(extractor, CONFIG.replace(style_normalization="painting", style_weight=2.5))
    assert float(painting(CONTENT)["style"][0]) != pytest.approx(2.5, rel=1e-2)


def test_a_non_finite_reduced_precision_falls_back_to_float32():
    """float16 that overflows (a first kernel scaled by 1e6: activations past 65504) must not end the
    run: it goes on in float32 from the last finite image, with one warning, and finishes."""
    import warnings

    from style_transfer import multiscale
    from style_transfer.errors import PrecisionFallbackWarning

    config = Config(network="vgg16", weights="none", max_size=32, steps=4, scales=1, init="content", seed=0)
    content = np.random.default_rng(0).random((1, 24, 32, 3)).astype(np.float32)
    style = np.random.default_rng(1).random((1, 32, 32, 3)).astype(np.float32)
    overflowing = vgg.extractor_for(config.replace(precision="float16"))
    kernel = overflowing.model.get_layer("block1_conv1").kernel
    kernel.assign(kernel * 1e6)
    steps = []
    with pytest.warns(PrecisionFallbackWarning, match="non-finite in float16 at step 1; going on in float32"):
        result = multiscale.stylize(
            content,
            style,
            config.replace(precision="float16"),
            extractor=overflowing,
            callback=lambda step, terms, image: steps.append(step),
        )
    assert steps == [1, 2, 3, 4] and np.isfinite(result).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float32 from the start: no fallback, the same result
        expected = multiscale.stylize(content, style, config.replace(precision="float32"))
    np.testing.assert_allclose(result, expected, atol=1e-6)


def test_running_out_of_device_memory_is_a_one_line_error(monkeypatch):
    import tensorflow as tf

    from style_transfer import multiscale
    from style_transfer.errors import OutOfMemoryError

    def exhausted(self, *args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape [1,64,4096,4096]")

    monkeypatch.setattr(step.ImageOptimizer, "run", exhausted)
    config = Config(network="vgg16", weights="none", max_size=32, steps=2, precision="float32")
    content = np.zeros((1, 24, 32, 3), np.float32)
    with pytest.raises(OutOfMemoryError) as error:
        multiscale.stylize(content, content, config)
    message = str(error.value)
    assert (
        "\n" not in message
        and "out of memory at 32x24 px" in message
        and "lower max_size" in message
        and "set tile_size" in message
    )
