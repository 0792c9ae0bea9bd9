# `source` on a lent device machine after the parts of prepare.sh have been moved to /tmp: unpacks
# TensorFlow into /tmp/site once, and runs its CUDA 12 build on the image's CUDA 13 libraries, linked
# under the CUDA 12 names TensorFlow dlopens (not what users install: docs/gpu.md says so next to
# the figures). Ends by checking that TensorFlow sees a GPU and runs a convolution and a matmul.
S=/tmp/site
if [ ! -f /tmp/tf_ready ]; then
  cat /tmp/part.? >/tmp/tf.tar.zst
  [ "$(sha256sum /tmp/tf.tar.zst | cut -d' ' -f1)" = "$(cat /tmp/tf.sha256)" ] || { echo "parts missing or damaged"; return 3; }
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $S /tmp/*.whl || return 4
  PYTHONPATH=$S python3 -c "import sys, zstandard; zstandard.ZstdDecompressor(max_window_size=2**31).copy_stream(open('/tmp/tf.tar.zst', 'rb'), sys.stdout.buffer, write_size=1 << 24)" |
    tar xf - -C $S || return 5
  touch /tmp/tf_ready
fi
export PYTHONPATH=$S PYTHONUNBUFFERED=1
C=/tmp/cu12compat
mkdir -p $C
LIBS=$(find / \( -path /proc -o -path /sys -o -path $S -o -path /dev \) -prune -o \( -name 'libcublas*.so.*' \
  -o -name 'libcudnn.so.9*' -o -name 'libcufft.so.*' -o -name 'libcusolver.so.*' -o -name 'libcusparse.so.*' \
  -o -name 'libnvJitLink.so.*' -o -name 'libcupti.so.*' -o -name 'libnccl.so.*' -o -name 'libcurand.so.*' \
  -o -name libdevice.10.bc -o -name ptxas \) -print 2>/dev/null)
DIRS=$(echo "$LIBS" | grep '\.so' | xargs -r -n1 dirname | sort -u)
link() { # NAME PATTERN: the newest match of PATTERN, under NAME
  local src
  src=$(for d in $DIRS; do ls $d/$2 2>/dev/null; done | sort -V | tail -1)
  if [ -n "$src" ]; then ln -sf "$src" $C/$1 && echo "$1 -> $src"; else echo "$1: nothing matches $2"; fi
}
link libcublas.so.12 'libcublas.so.1[0-9]'
link libcublasLt.so.12 'libcublasLt.so.1[0-9]'
link libcufft.so.11 'libcufft.so.1[0-9]'
link libcusolver.so.11 'libcusolver.so.1[0-9]'
link libcusparse.so.12 'libcusparse.so.1[0-9]'
link libnvJitLink.so.12 'libnvJitLink.so.1[0-9]'
link libcupti.so.12 'libcupti.so.1[0-9]'
link libcurand.so.10 'libcurand.so.1[0-9]'
export LD_LIBRARY_PATH=$C:$S/nvidia/cuda_runtime/lib:$(echo $DIRS | tr ' ' ':')${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
LIBDEVICE=$(echo "$LIBS" | grep libdevice.10.bc | head -1)
[ -n "$LIBDEVICE" ] && export XLA_FLAGS="--xla_gpu_cuda_data_dir=$(dirname "$(dirname "$(dirname "$LIBDEVICE")")")"
PTXAS=$(echo "$LIBS" | grep '/ptxas$' | head -1)
[ -n "$PTXAS" ] && export PATH=$PATH:$(dirname "$PTXAS")
CHECK=$(python3 -c "
import tensorflow as tf
gpus = tf.config.list_physical_devices('GPU')
print('TensorFlow', tf.__version__, 'GPUs:', gpus)
assert gpus, 'TensorFlow sees no GPU'
x = tf.nn.conv2d(tf.ones([1, 32, 32, 3]), tf.ones([3, 3, 3, 8]), 1, 'SAME')
print('conv and matmul:', float(tf.reduce_sum(x)), float(tf.reduce_sum(tf.matmul(tf.ones([64, 64]), tf.ones([64, 64])))))
" 2>&1) || { echo "$CHECK" | tail -20; return 6; }
echo "$CHECK" | grep -v '^[WI]0000' | tail -3
