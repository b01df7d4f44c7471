# Draws bench-results/summary.png: one panel per benchmark, ours (blue)
# beside the baseline (grey/orange), whiskers from min to max over the runs,
# the goal as a dashed red line.
#
#   python3 benchmarks/summary.py bench-results
#   gnuplot -e "dir='bench-results'" benchmarks/summary.gp
#
# summary.py writes the data (summary.dat, one block per panel) and the
# panel settings (summary_panels.gp) from the JSONs.

if (!exists("dir")) dir = "bench-results"
load dir."/summary_panels.gp"
data = dir."/summary.dat"

cols = 4
rows = (panels + cols - 1) / cols
if (rows < 1) rows = 1
set terminal pngcairo size 1800, 520 * rows font "Sans,10"
set output dir."/summary.png"

set style fill solid 0.85 border -1
set boxwidth 0.6
set grid ytics lc rgb "#dddddd"
set key off
set ytics nomirror
set format y "%.1s%c"
set xrange [-0.6:*]
set offsets 0, 0.6, 0, 0
colour(c) = c == 1 ? 0x3a6fb0 : (c == 2 ? 0x9a9a9a : 0xe08a2c)

set multiplot layout rows, cols \
    title "caf-durable load benchmarks: blue = caf-durable, grey = baseline, orange = second baseline, red dashes = goal (bars: medians, whiskers: min to max)" \
    font "Sans,13"
do for [i = 1:panels] {
  set title titles[i] font "Sans,10.5"
  set ylabel ylabels[i]
  if (xrotate[i] > 0) {
    set xtics nomirror rotate by xrotate[i] right font "Sans,9"
  } else {
    set xtics nomirror norotate font "Sans,9"
  }
  unset arrow
  if (goals[i] > 0) {
    set arrow 1 from graph 0, first goals[i] to graph 1, first goals[i] \
        nohead dt 2 lw 2 lc rgb "#cc2222" front
  }
  if (logscale[i]) {
    set logscale y
  } else {
    unset logscale y
  }
  set yrange [ymin[i]:ymax[i]]
  plot data index (i - 1) using 0:2:(colour($5)):xtic(1) with boxes lc rgb variable, \
       ''   index (i - 1) using 0:3:(0):($4 - $3) with vectors nohead lc rgb "black" lw 1, \
       ''   index (i - 1) using 0:4:6 with labels offset 0, 0.8 font "Sans,9"
}
unset multiplot
