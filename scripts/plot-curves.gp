# Training curves of a deepsc run folder: gnuplot -e "run='RUN_DIR'" scripts/plot-curves.gp
# Reads RUN_DIR/metrics.tsv (written by `deepsc train`), writes RUN_DIR/curves.png.
if (!exists("run")) run = "."
set terminal pngcairo size 1100,420 font ",10"
set output run."/curves.png"
set datafile separator "\t"
set key autotitle columnhead
set multiplot layout 1,2
set title "Loss"
set xlabel "epoch"
set grid
plot run."/metrics.tsv" using 1:2 with linespoints title "train", \
     ""                 using 1:4 with linespoints title "test"
set title "Top-1 accuracy (%)"
plot run."/metrics.tsv" using 1:($3*100) with linespoints title "train", \
     ""                 using 1:($5*100) with linespoints title "test"
unset multiplot
