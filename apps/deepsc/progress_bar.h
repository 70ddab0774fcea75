#pragma once
/// A one-line progress bar with rate and ETA for long loops. On a terminal it redraws in place
/// (at most 5 times a second); into a file or pipe it writes a plain line every 10 %.

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <ostream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace deepsc::cli {

class ProgressBar {
 public:
  /// `interactive` defaults to "stream is std::cerr and stderr is a terminal".
  explicit ProgressBar(std::ostream& out, int interactive = -1)
      : out_(out), interactive_(interactive >= 0 ? interactive == 1 : (&out == &std::cerr && ::isatty(2))) {}

  /// `rate` is shown with `unit` (images per second by default); `suffix` is appended to the line
  /// (for example the current objective).
  void update(int64_t done, int64_t total, const std::string& label, double rate, double eta_seconds,
              const std::string& unit = "img/s", const std::string& suffix = "") {
    const auto now = std::chrono::steady_clock::now();
    const int64_t tenth = total > 0 ? done * 10 / total : 0;
    if (interactive_) {
      if (done != total && now - last_ < std::chrono::milliseconds(200)) return;
    } else if (tenth == last_tenth_ && done != total) {
      return;
    }
    last_ = now;
    last_tenth_ = tenth;
    constexpr int width = 24;
    const int filled = total > 0 ? static_cast<int>(width * done / total) : 0;
    std::ostringstream line;
    line << label << " [" << std::string(filled, '=') << std::string(width - filled, ' ') << "] " << done << "/"
         << total << " " << std::fixed << std::setprecision(0) << rate << " " << unit << " ETA " << format_time(eta_seconds) << suffix;
    if (interactive_) {
      out_ << "\r" << line.str() << "\033[K" << std::flush;
      drawn_ = true;
    } else {
      out_ << line.str() << "\n" << std::flush;
    }
  }

  /// Ends the in-place line (call before printing anything else).
  void finish() {
    if (drawn_) out_ << "\n" << std::flush;
    drawn_ = false;
    last_tenth_ = -1;
  }

  static std::string format_time(double seconds) {
    const auto s = static_cast<int64_t>(seconds + 0.5);
    std::ostringstream text;
    text << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60 << ":" << std::setw(2) << s % 60;
    return text.str();
  }

 private:
  std::ostream& out_;
  bool interactive_;
  bool drawn_ = false;
  int64_t last_tenth_ = -1;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace deepsc::cli
