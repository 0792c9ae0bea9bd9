#!/usr/bin/env bash
# Trains the network that ships in the package, style_transfer/data/starry_wave.npz (a conditional
# half-width network for Starry Night and the Great Wave; style_transfer/data/README.md says how
# long it took and where), and copies it there.
#
#   bash benchmarks/train_pretrained.sh          # resumable: run it again after an interruption
#   STEPS=4000 bash benchmarks/train_pretrained.sh   # go on training the same run to more steps
#
# Needs ../shared (the 35 training photos, the paintings, real ImageNet VGG16 weights) or
# STYLE_TRANSFER_SHARED pointing at a folder laid out as it. The run (checkpoints, previews) is
# runs/starry_wave; resuming computes what an uninterrupted run would, bit for bit on one machine.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${STYLE_TRANSFER_SHARED:-../shared}
STEPS=${STEPS:-2700}
style-transfer-train \
    --photos="$SHARED/photos" \
    --paintings="$SHARED/samples/style/starry_night.jpg,$SHARED/samples/style/great_wave_hokusai.jpg" \
    --weights="$SHARED/weights/vgg16_imagenet_notop.weights.h5" \
    --run=runs/starry_wave --steps="$STEPS" --checkpoint_every=50 --preview_every=200
cp runs/starry_wave/network.npz style_transfer/data/starry_wave.npz
echo "style_transfer/data/starry_wave.npz: $STEPS steps"
