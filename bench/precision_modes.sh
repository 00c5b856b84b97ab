#!/bin/bash
# Every model in five precision modes (MODELS=, MODES= to pick), 1 thread: bench/RESULTS.md "Every precision mode". Run from the repository root after scripts/build and scripts/fetch_models.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
M=build/tools/mixq
declare -A FILE=([resnet50]=resnet50.onnx [mobilenetv2]=mobilenetv2.onnx [ppocr_det]=ch_PP-OCRv4_det_infer.onnx [ppocr_rec]=ch_PP-OCRv4_rec_infer.onnx)
declare -A SHAPE=([resnet50]=input:1x3x224x224 [mobilenetv2]=input:1x3x224x224 [ppocr_det]=x:1x3x320x320 [ppocr_rec]=x:1x3x48x320)
for m in ${MODELS:-resnet50 mobilenetv2 ppocr_det ppocr_rec}; do
  for p in ${MODES:-force_float32 force_float16 qint8_mixed_float32 qint8_mixed_float16 qint16_mixed_float32}; do
    mkdir -p build/bench_models/modes; out=build/bench_models/modes/${m}_${p}.mixq
    calib=""; [[ $p == q* ]] && calib="--calib-data build/bench_models/calib_$m"
    $M build .cache/models/${FILE[$m]} -o $out --precision $p --input-shape ${SHAPE[$m]} $calib >/dev/null 2>&1 || echo "build failed $m $p"
    lat=$($M bench $out --threads 1 --iterations 10 2>&1 | grep latency)
    echo "$m $p $(stat -c %s $out) $lat"
  done
done
