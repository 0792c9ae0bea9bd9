#!/usr/bin/env bash
# Packs TensorFlow for a lent device machine that has none (see docs/gpu.md, "How this run was made").
#
#   bash benchmarks/device/prepare.sh        # here, once: ~10 minutes (zstd -19 on 2 cores)
#
# Writes .gpucarry/ (git-ignored through .git/info/exclude): c0..cN/part.N (60 MiB parts of
# TensorFlow's wheel, C++ headers dropped, zstd-compressed), c_small/ (the small wheels TF and Keras
# need that the device image lacks or holds in other versions, zstandard to unpack, CUDA 12 runtime),
# w/ (the VGG16 weights) and boot.sh. Then, with the device tool, one call per folder, each carrying
# that folder only and moving it out of the repository (a carried folder is replaced on the next call):
#   carry [".gpucarry/cK"]       command: mv .gpucarry/cK/* /tmp/
#   carry [".gpucarry/c_small"]  command: mv .gpucarry/c_small/* /tmp/
#   carry [".gpucarry/w", ".gpucarry/boot.sh"]
#     command: mv .gpucarry/w/*.h5 /tmp/; cp .gpucarry/boot.sh /tmp/; source /tmp/boot.sh && \
#              python3 benchmarks/gpu_report.py --vgg16_weights=/tmp/vgg16_imagenet_notop.weights.h5 --output=$OUT/gpu.md --pictures=$OUT
#   Training a full-width network instead (or after): carry [".gpucarry/d"]
#     command: mv .gpucarry/d /tmp/train_data; source /tmp/boot.sh && MINUTES=7 bash benchmarks/device/train.sh
# The device machine runs Python 3.12; the versions below are those the CI environment installs.
set -euo pipefail
cd "$(dirname "$0")/../.."
TF=2.21.0
W=/tmp/gpucarry-work
G=.gpucarry
grep -qx "/.gpucarry/" .git/info/exclude 2>/dev/null || echo "/.gpucarry/" >>.git/info/exclude
rm -rf "$W" "$G" && mkdir -p "$W/whl" "$G/c_small" "$G/w"
download() {
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$@"
}
download "$W/whl" "tensorflow==$TF"
# numpy, h5py, pillow, grpcio: the device image's own versions work with TF 2.21.
download "$G/c_small" absl-py==2.5.1 astunparse==1.6.3 flatbuffers==25.12.19 gast==0.7.0 google-pasta==0.2.0 \
  ml_dtypes==0.6.0 namex==0.1.0 opt_einsum==3.4.0 optree==0.20.0 packaging==26.4 protobuf==7.36.2 \
  termcolor==3.3.0 wrapt==2.5.2 typing_extensions==4.16.0 six==1.17.0 rich==15.0.0 markdown-it-py==4.3.0 \
  mdurl==0.1.2 Pygments==2.21.0 keras==3.15.1 nvidia-cuda-runtime-cu12==12.9.79 zstandard==0.25.0
(cd "$W" && mkdir tf && cd tf && unzip -q ../whl/tensorflow-*.whl && rm -rf tensorflow/include)
(cd "$W/tf" && tar cf - tensorflow tensorflow-*.dist-info) | zstd -19 -T0 --long=27 -q -o "$W/tf.tar.zst"
(cd "$W" && split -b 60M -d -a 1 tf.tar.zst part.)
for part in "$W"/part.*; do
  k=${part##*.}
  mkdir -p "$G/c$k" && mv "$part" "$G/c$k/"
done
sha256sum "$W/tf.tar.zst" | cut -d' ' -f1 >"$G/c0/tf.sha256"
cp ../shared/weights/vgg16_imagenet_notop.weights.h5 "$G/w/"
cp benchmarks/device/boot.sh "$G/boot.sh"
# For benchmarks/device/train.sh: the training photos and the four paintings (a call of their own).
mkdir -p "$G/d" && cp -r ../shared/photos "$G/d/photos"
cp ../shared/samples/style/{starry_night,great_wave_hokusai,udnie_picabia,woman-with-hat-matisse}.jpg "$G/d/"
du -sh "$G"/*
