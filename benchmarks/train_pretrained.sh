#!/usr/bin/env bash
# Trains the network that ships in the package, style_transfer/data/starry_wave.npz (a conditional
# half-width network for Starry Night and the Great Wave; style_transfer/data/README.md says how
# long it took and where), and copies it there. Four stages, as it was trained over four sessions,
# each a run of its own starting from the last; each resumable (run the script again after an
# interruption: a finished stage is passed over, an interrupted one goes on from its last
# checkpoint, bit for bit on one machine):
#
#   1. Johnson et al.'s loss layers (content block3_conv3), style weight 2: 2700 steps.
#   2. The optimisation's content layer block4_conv2 and style weight 4: 1400 steps.
#   3. The shift term (--shift_weight=100, training.py departure 9), 16 px margin: 600 steps.
#   4. The same with the 4 px margin (at 16 the network painted its grid into the margin): 300 steps.
#
# Then style_transfer/data/starry_wave_steady.npz, the same network made steady for video (its frames
# flicker less; docs/video.md): from stage 4, the motion term at 400 (training.py, departure 10)
# with the shift term, runs/starry_wave_steady_1 ... _4: 300, 600, 600 and 600 steps; the bundled
# weights are the mean of stages 3 and 4 (weight averaging, as Polyak's or SWA: with batches of 4
# crops each stage's end is a draw, and the mean had the better style figure of the two with the
# flicker of either; docs/video.md), then mixed 3:1 with stage 4's (starry_wave's): the motion term
# had cost the strokes contrast, and a quarter of the way back gives most of it back.
#
# Then style_transfer/data/starry_wave_quarter.npz, a quarter-width network (0.11 M parameters) for
# video on CPUs without bfloat16 (AVX2 only: 2.5x starry_wave_steady's frames/s; docs/video.md),
# taught by starry_wave_steady (training.py, departure 11), runs/starry_wave_quarter_1 ... _6:
#   1-2. The teacher term alone (no VGG pass: ~0.3 s a step), 3000 steps at Adam's 1e-3, then 1500
#        at 3e-4.
#   3-6. The late loss with the motion term at 400 beside the teacher term at 1000, 200, 50 and 10:
#        600, 900, 900 and 900 steps (the lower the teacher's weight, the closer the style figures
#        came to the half-width networks' at the same flicker; docs/video.md).
#
#   bash benchmarks/train_pretrained.sh
#
# Needs ../shared (the 35 training photos, the paintings, real ImageNet VGG16 weights) or
# STYLE_TRANSFER_SHARED pointing at a folder laid out as it. The runs (checkpoints, previews) are
# runs/starry_wave_1 ... runs/starry_wave_4 (docs/networks.md: what each stage changed).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${STYLE_TRANSFER_SHARED:-../shared}
train() {
    style-transfer-train --photos="$SHARED/photos" \
        --paintings="$SHARED/samples/style/starry_night.jpg,$SHARED/samples/style/great_wave_hokusai.jpg" \
        --weights="$SHARED/weights/vgg16_imagenet_notop.weights.h5" --checkpoint_every=50 --preview_every=200 "$@"
}
late=(--content_layers=block4_conv2 --style_weight=4)
train --run=runs/starry_wave_1 --steps=2700
train --run=runs/starry_wave_2 --base=runs/starry_wave_1/network.npz "${late[@]}" --seed=1 --steps=1400
train --run=runs/starry_wave_3 --base=runs/starry_wave_2/network.npz "${late[@]}" --seed=2 --steps=600 \
    --shift_weight=100 --shift_margin=16
train --run=runs/starry_wave_4 --base=runs/starry_wave_3/network.npz "${late[@]}" --seed=3 --steps=300 \
    --shift_weight=100
cp runs/starry_wave_4/network.npz style_transfer/data/starry_wave.npz
echo "style_transfer/data/starry_wave.npz: 2700 + 1400 + 600 + 300 steps"

steady=("${late[@]}" --shift_weight=100 --motion_weight=400)
train --run=runs/starry_wave_steady_1 --base=runs/starry_wave_4/network.npz "${steady[@]}" --seed=4 --steps=300
train --run=runs/starry_wave_steady_2 --base=runs/starry_wave_steady_1/network.npz "${steady[@]}" --seed=5 --steps=600
train --run=runs/starry_wave_steady_3 --base=runs/starry_wave_steady_2/network.npz "${steady[@]}" --seed=6 --steps=600
train --run=runs/starry_wave_steady_4 --base=runs/starry_wave_steady_3/network.npz "${steady[@]}" --seed=7 --steps=600
# The bundled file: the mean of the last two stages' weights, then 3:1 with starry_wave's (weight
# interpolation: the steady network was fine-tuned from it, so the line between them stays in one
# basin; docs/video.md measures 0.6, 0.75 and 0.9: 0.75 keeps E_warp under half starry_wave's and
# most of its stroke contrast); its notes, each stage's command and machine.
python - style_transfer/data/starry_wave_steady.npz runs/starry_wave_steady_{1,2,3,4}/network.npz <<'PYTHON'
import sys

from style_transfer import networks

out, *stages = sys.argv[1:]
notes = [networks.read_header(stage)["notes"] for stage in stages]
network, header = networks.load_network(stages[-1])
before, _ = networks.load_network(stages[-2])
plain, _ = networks.load_network("style_transfer/data/starry_wave.npz")
for weight, other, start in zip(network.weights, before.weights, plain.weights, strict=True):
    weight.assign(0.75 * (weight + other) / 2 + 0.25 * start)
networks.save_network(network, out, header["paintings"], {
    "script": "bash benchmarks/train_pretrained.sh",
    "from": "starry_wave",
    "stages": [n["command"] for n in notes],
    "weights": "the mean of the last two stages' weights, then 0.75 x that + 0.25 x starry_wave's",
    "steps": sum(n["steps"] for n in notes),
    "machines": sorted({n["machine"] for n in notes}),
})
PYTHON
echo "style_transfer/data/starry_wave_steady.npz: starry_wave + 300 + 600 + 600 + 600 steps, the last two averaged, 3:1 with starry_wave"

quarter=(--teacher=style_transfer/data/starry_wave_steady.npz --learning_rate=3e-4)
alone=(--content_weight=0 --style_weight=0 --tv_weight=0 --teacher_weight=1000)
train --run=runs/starry_wave_quarter_1 --width=0.25 "${alone[@]}" --teacher=style_transfer/data/starry_wave_steady.npz \
    --steps=3000
train --run=runs/starry_wave_quarter_2 --base=runs/starry_wave_quarter_1/network.npz "${alone[@]}" "${quarter[@]}" \
    --seed=1 --steps=1500
train --run=runs/starry_wave_quarter_3 --base=runs/starry_wave_quarter_2/network.npz "${late[@]}" "${quarter[@]}" \
    --motion_weight=400 --teacher_weight=1000 --seed=2 --steps=600
train --run=runs/starry_wave_quarter_4 --base=runs/starry_wave_quarter_3/network.npz "${late[@]}" "${quarter[@]}" \
    --motion_weight=400 --teacher_weight=200 --seed=3 --steps=900
train --run=runs/starry_wave_quarter_5 --base=runs/starry_wave_quarter_4/network.npz "${late[@]}" "${quarter[@]}" \
    --motion_weight=400 --teacher_weight=50 --seed=4 --steps=900
train --run=runs/starry_wave_quarter_6 --base=runs/starry_wave_quarter_5/network.npz "${late[@]}" "${quarter[@]}" \
    --motion_weight=400 --teacher_weight=10 --seed=5 --steps=900
# The bundled file: the last stage's weights; its notes, each stage's command and machine.
python - style_transfer/data/starry_wave_quarter.npz runs/starry_wave_quarter_{1,2,3,4,5,6}/network.npz <<'PYTHON'
import sys

from style_transfer import networks

out, *stages = sys.argv[1:]
notes = [networks.read_header(stage)["notes"] for stage in stages]
network, header = networks.load_network(stages[-1])
networks.save_network(network, out, header["paintings"], {
    "script": "bash benchmarks/train_pretrained.sh",
    "taught by": "starry_wave_steady",
    "stages": [n["command"] for n in notes],
    "steps": sum(n["steps"] for n in notes),
    "machines": sorted({n["machine"] for n in notes}),
})
PYTHON
echo "style_transfer/data/starry_wave_quarter.npz: 3000 + 1500 steps taught alone, then 600 + 900 + 900 + 900 with the late loss and the motion term"
