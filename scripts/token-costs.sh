#!/usr/bin/env bash
# Median of 5 runs (time, peak memory) of `resizer convert` for each transformation, on a 12 MP JPEG.
set -euo pipefail
B=${1:-target/release/resizer}
SRC=${SRC:-/tmp/token-costs-src.jpg}
[ -f "$SRC" ] || { echo "usage: SRC=a-12MP.jpg $0 [resizer binary]" >&2; exit 2; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for t in "w_300" "w_300,a_90" "w_300,a_45" "w_300,r_max" "w_300,bo_10px_solid_black" "w_300,o_50,f_png" \
         "w_300,e_sepia" "w_300,e_brightness:30,e_contrast:20" "w_300,e_pixelate" "w_300,e_trim" \
         "c_crop,w_2000,h_2000,g_center/w_300" "w_1200/w_300" "w_300,fl_progressive" "w_300,ar_1:1,c_fill"; do
  times=$(for i in 1 2 3 4 5; do /usr/bin/time -f "%e %M" "$B" convert "$SRC" "$t" /tmp/token-costs-out.$( [[ "$t" == *f_png* ]] && echo png || echo jpg) 2>&1 >/dev/null | tail -1; done)
  t_med=$(echo "$times" | awk '{print $1}' | median)
  m_med=$(echo "$times" | awk '{print $2}' | median)
  printf '| `%s` | %s s | %s MB |\n' "$t" "$t_med" "$((m_med/1024))"
done
