#!/bin/bash
# Real-time factor and per-window latency of tools/demo.py for several models on one video,
# alternating, REPEATS times (README "Inference on video streams"):
#   benchmarks/demo_rtf.sh VIDEO OUT_DIR REPEATS MODEL [MODEL ...]
# e.g. benchmarks/demo_rtf.sh recording.mp4 work_dirs/rtf 2 work_dirs/deploy/kd_qat_224 \
#        work_dirs/test_kd_qat_224/int8_model.pt
set -e
video=$1 out=$2 repeats=$3
shift 3
mkdir -p "$out"
grep -o 'avx512_vnni\|avx2\|amx[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' '
echo
for rep in $(seq "$repeats"); do
  for model in "$@"; do
    name=$(basename "$model" .pt)_$rep
    echo "== $name $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
    python tools/demo.py "$video" --model "$model" --hop 8 --smooth 3 --no-progress \
      --out-video "$out/$name.mp4" --out-timeline "$out/$name.json" > "$out/$name.log" 2>&1
    grep -E 'real-time|latency|delay' "$out/$name.log"
  done
done
