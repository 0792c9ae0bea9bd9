#!/usr/bin/env bash
# Trains a full-width conditional network (Starry Night, Great Wave; PAINTINGS=all adds Udnie and
# Woman with a Hat, docs/networks.md) on a lent GPU for a fixed time,
# and leaves what it made under $OUT: the network at the last step reached, the checkpoints (to go
# on here or on the next lent machine: the same command resumes), previews and the log.
#
# On the device machine, after prepare.sh's calls have put TensorFlow, the VGG16 weights and boot.sh
# in /tmp (its header lists them):
#   carry [".gpucarry/d"]  command: mv .gpucarry/d /tmp/train_data; source /tmp/boot.sh && \
#       MINUTES=7 bash benchmarks/device/train.sh
# (prepare.sh puts the 35 training photos and the two paintings in .gpucarry/d.) Time it: the
# device budget is 15 minutes a session, about 5 of them to start the machine and carry the parts.
#
# The run stops with SIGINT after MINUTES (style-transfer-train checkpoints the step it was at),
# then the same command with --steps at that step writes network.npz without training further.
# A run started on the CPU (runs/...) can be carried here and resumed: RUN=<its folder>. Checked
# here on the CPU (MINUTES=1, --crop_size=64): stopped at step 72, ckpt-72 and network.npz written.
# PAINTINGS=all checked so too (MINUTES=1, --crop_size=64 --style_size=128): stopped at step 112, a
# four-painting network.npz written.
set -uo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-/tmp/train_data}
RUN=${RUN:-$OUT/full_width}
MINUTES=${MINUTES:-7}
paintings="$DATA/starry_night.jpg,$DATA/great_wave_hokusai.jpg"
if [ "${PAINTINGS:-}" = all ]; then
    paintings="$paintings,$DATA/udnie_picabia.jpg,$DATA/woman-with-hat-matisse.jpg"
fi
args=(--photos="$DATA/photos" --paintings="$paintings"
    --weights=/tmp/vgg16_imagenet_notop.weights.h5 --run="$RUN" --width=1.0 --batch_size=8
    --content_layers=block4_conv2 --style_weight=4 --shift_weight=100
    --checkpoint_every=200 --preview_every=1000 "$@")
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || echo "no nvidia-smi"
# --steps: an end beyond reach (the time stops it first); the log has a line every 5 % of it.
timeout -s INT "${MINUTES}m" python3 -m style_transfer.train_cli "${args[@]}" --steps="${STEPS:-20000}" 2>&1 |
    tail -c 20000 >"$OUT/train.log"
last=$(find "$RUN/checkpoints" -name 'ckpt-*.index' | sed 's/.*ckpt-\([0-9]*\)\.index/\1/' | sort -n | tail -1)
if [ -z "$last" ]; then
    echo "no checkpoint was written (see $OUT/train.log)"
    tail -20 "$OUT/train.log"
    exit 1
fi
python3 -m style_transfer.train_cli "${args[@]}" --steps="$last" 2>&1 | tail -3
tail -5 "$OUT/train.log"
ls -la "$RUN"
