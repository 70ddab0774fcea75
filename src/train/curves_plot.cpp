#include "deepsc/train/curves_plot.h"

namespace deepsc::train {

std::string training_curves_script() {
  return "# Training curves of this run folder: gnuplot plot-curves.gp (run here) reads metrics.tsv, writes curves.png\n"
         "set terminal pngcairo size 1100,420 font ',10'\n"
         "set output 'curves.png'\n"
         "set datafile separator '\\t'\n"
         "set key autotitle columnhead\n"
         "set multiplot layout 1,2\n"
         "set title 'Cross-entropy loss (mean per image)'\n"
         "set xlabel 'epoch'\n"
         "set xtics 1\n"
         "set grid\n"
         "plot 'metrics.tsv' using 1:2 with linespoints title 'train', '' using 1:4 with linespoints title 'test'\n"
         "set title 'Top-1 accuracy (%)'\n"
         "plot 'metrics.tsv' using 1:($3*100) with linespoints title 'train', '' using 1:($5*100) with linespoints title 'test'\n"
         "unset multiplot\n";
}

}  // namespace deepsc::train
