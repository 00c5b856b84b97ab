#!/bin/bash
# Before-and-after of two mixq binaries where each builds its own model files (a change to a build-time pass
# shows only so): float32, int8 from the bench's calibration samples and the bench's QDQ model, for every model
# of bench/compare_engines.py (run it once first: it makes build/bench_models). Then ROUNDS (3) rounds alternate
# old and new (`mixq bench --iterations 10`) per model, mode and thread count (THREADS, "1 2"); the last lines
# give each binary's fastest inference over the rounds (min ms) and new/old.
#   OLD=/path/to/old/tools/mixq NEW=build/tools/mixq bash bench/ab_builds.sh
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OLD=${OLD:?set OLD to the other binary}
NEW=${NEW:-build/tools/mixq}
B=build/bench_models
M=.cache/models
WORK=${WORK:-$(mktemp -d)}
declare -A SRC=([resnet50]=$M/resnet50.onnx [mobilenetv2]=$M/mobilenetv2.onnx [ppocr_det]=$M/ch_PP-OCRv4_det_infer.onnx
                [ppocr_rec]=$M/ch_PP-OCRv4_rec_infer.onnx [bert_layer]=$B/bert_layer.onnx)
declare -A SHAPE=([resnet50]=input:1x3x224x224 [mobilenetv2]=input:1x3x224x224 [ppocr_det]=x:1x3x320x320
                  [ppocr_rec]=x:1x3x48x320 [bert_layer]=x:1x128x768)
MODELS="resnet50 mobilenetv2 ppocr_det ppocr_rec bert_layer"
for m in $MODELS; do
  for tag in old new; do
    bin=$OLD
    [ $tag = new ] && bin=$NEW
    $bin build "${SRC[$m]}" -o "$WORK/${m}_f32_$tag.mixq" --input-shape "${SHAPE[$m]}" >/dev/null || exit 1
    $bin build "${SRC[$m]}" -o "$WORK/${m}_i8_$tag.mixq" --precision qint8_mixed_float32 --input-shape "${SHAPE[$m]}" \
      --calib-data "$B/calib_$m" >/dev/null || exit 1
    $bin build "$B/${m}_qdq.onnx" -o "$WORK/${m}_qdq_$tag.mixq" --precision qint8_mixed_float32 \
      --input-shape "${SHAPE[$m]}" >/dev/null || exit 1
  done
done
for t in ${THREADS:-1 2}; do
  for round in $(seq "${ROUNDS:-3}"); do
    for m in $MODELS; do
      for v in f32 i8 qdq; do
        o=$($OLD bench "$WORK/${m}_${v}_old.mixq" --threads "$t" --iterations 10 2>&1 | awk '/latency/ {print $4}')
        n=$($NEW bench "$WORK/${m}_${v}_new.mixq" --threads "$t" --iterations 10 2>&1 | awk '/latency/ {print $4}')
        echo "t$t $round ${m}_$v $o $n"
      done
    done
  done
done | tee /dev/stderr | awk '{k = $1 " " $3; if (!(k in o) || $4 < o[k]) o[k] = $4; if (!(k in n) || $5 < n[k]) n[k] = $5}
  END {for (k in o) printf "%-24s old %8.2f new %8.2f new/old %.2f\n", k, o[k], n[k], n[k] / o[k]}' | sort
