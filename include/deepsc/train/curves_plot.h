#pragma once
/// The training curves of a run folder as a gnuplot script: loss and top-1 accuracy per epoch, train
/// and test, read from the folder's metrics.tsv (columns as the trainer writes them: epoch,
/// train_loss, train_top1, test_loss, test_top1, test_top5, lr, seconds) and drawn into curves.png.
/// `deepsc train` runs it in the run folder with viz::run_gnuplot (no shell) after training.

#include <string>

namespace deepsc::train {

/// The script; it names no path but metrics.tsv and curves.png, so it is run in the run folder.
std::string training_curves_script();

}  // namespace deepsc::train
