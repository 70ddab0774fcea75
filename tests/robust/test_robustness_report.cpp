// The files of `deepsc robust` from a hand-made result (deepsc/robust/robustness_report.h).
#include "deepsc/robust/robustness_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace robust = deepsc::robust;

namespace {

std::vector<std::vector<std::string>> cells(const std::string& tsv) {
  std::vector<std::vector<std::string>> lines;
  std::istringstream in(tsv);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> row;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, '\t');) row.push_back(cell);
    lines.push_back(row);
  }
  return lines;
}

/// Two noises at clean and severity 3, a grid of three λ, every column present.
robust::RobustnessResult full_result() {
  robust::RobustnessResult r;
  r.noises = {"gaussian", "impulse"};
  r.lambda_grid = {0.1, 0.4, 0.7};
  r.trained_lambda = {0.1};
  r.has_csc = r.fit = r.per_sample = true;
  r.samples = 40;
  r.seconds = 1.5;
  int k = 0;
  for (const auto& noise : r.noises) {
    robust::NoiseFit f;
    f.noise = noise;
    f.severities = {0, 3};
    f.levels = {0, noise == "gaussian" ? 0.08 : 0.03};
    f.residuals = {1.0, 2.0};
    f.best_lambdas = {0.1, 0.4};
    f.fit = robust::fit_lambda(f.residuals, f.best_lambdas, 0.1, 0.7);
    f.samples = 48;
    r.fits.push_back(f);
    for (const int s : {0, 3}) {
      robust::RobustnessRow row;
      row.noise = noise;
      row.severity = s;
      row.level = s ? f.levels[1] : 0.0;
      row.fixed = 0.5 + 0.01 * k;
      row.residual = 1.0 + s;
      row.best_lambda = 0.4;
      row.best = 0.75;
      row.fit_lambda = 0.25;
      row.fitted = 0.625;
      row.per_sample_lambda = 0.3;
      row.per_sample = 0.6;
      row.curve = {row.fixed, 0.75, 0.25};
      row.curve_residual = {1.0 + s, 2.0 + s, 3.0 + s};
      r.rows.push_back(row);
      ++k;
    }
  }
  return r;
}

}  // namespace

TEST(RobustnessReport, TablesHaveOneLinePerRowAndAColumnPerHeader) {
  const auto r = full_result();
  const auto table = cells(robust::robustness_table_tsv(r));
  ASSERT_EQ(table.size(), 1 + r.rows.size());
  EXPECT_EQ(table[0], (std::vector<std::string>{"noise", "severity", "level", "fixed_lambda_top1", "residual", "best_lambda",
                                                "best_top1", "fit_lambda", "fit_top1", "per_sample_mean_lambda",
                                                "per_sample_top1"}));
  for (size_t i = 1; i < table.size(); ++i) ASSERT_EQ(table[i].size(), table[0].size()) << i;
  EXPECT_EQ(table[2], (std::vector<std::string>{"gaussian", "3", "0.08", "0.51", "4", "0.4", "0.75", "0.25", "0.625", "0.3", "0.6"}));
  EXPECT_EQ(table[3][0], "impulse");

  const auto sweep = cells(robust::robustness_sweep_tsv(r));
  ASSERT_EQ(sweep.size(), 1 + r.rows.size() * r.lambda_grid.size());
  EXPECT_EQ(sweep[0], (std::vector<std::string>{"noise", "severity", "level", "lambda", "top1", "residual"}));
  // The second row's curve, λ by λ.
  EXPECT_EQ(sweep[4], (std::vector<std::string>{"gaussian", "3", "0.08", "0.1", "0.51", "4"}));
  EXPECT_EQ(sweep[6], (std::vector<std::string>{"gaussian", "3", "0.08", "0.7", "0.25", "6"}));

  // fit.tsv: the pairs and the line's value at each residual, a blank line after each noise.
  const auto fit = cells(robust::robustness_fit_tsv(r));
  ASSERT_EQ(fit.size(), 1 + 2 * (2 + 1));
  EXPECT_EQ(fit[0], (std::vector<std::string>{"noise", "severity", "level", "residual", "best_lambda", "fitted_lambda"}));
  EXPECT_EQ(fit[2], (std::vector<std::string>{"gaussian", "3", "0.08", "2", "0.4", "0.4"}));
  EXPECT_TRUE(fit[3].empty());
  EXPECT_EQ(fit[4][0], "impulse");
  EXPECT_TRUE(fit[6].empty());
}

TEST(RobustnessReport, JsonHoldsTheRowsFitsAndInfo) {
  const auto r = full_result();
  robust::RobustnessReportInfo info{"run/checkpoint-best.pt", "sdnet18", "mnist", "test", "generated", 7};
  const auto j = robust::robustness_json(r, info);
  EXPECT_EQ(j["model"], "sdnet18");
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["samples"], 40);
  EXPECT_EQ(j["corrupted_from"], "generated");
  EXPECT_EQ(j["lambda_grid"], r.lambda_grid);
  EXPECT_EQ(j["recalibrate_bn"], 0);
  ASSERT_EQ(j["rows"].size(), r.rows.size());
  const auto& row = j["rows"][1];
  EXPECT_EQ(row["severity"], 3);
  EXPECT_DOUBLE_EQ(row["fixed_top1"].get<double>(), 0.51);
  EXPECT_DOUBLE_EQ(row["per_sample_top1"].get<double>(), 0.6);
  EXPECT_EQ(row["curve"]["lambda"], r.lambda_grid);
  EXPECT_EQ(row["curve"]["top1"], r.rows[1].curve);
  ASSERT_TRUE(j["fits"].contains("impulse"));
  EXPECT_EQ(j["fits"]["impulse"]["levels"], (std::vector<int>{0, 3}));
  EXPECT_NEAR(j["fits"]["impulse"]["slope"].get<double>(), 0.3, 1e-12);
  EXPECT_EQ(j["fits"]["impulse"]["samples"], 48);

  // A model without CSC layers: only its accuracy, no curve, no sweep lines.
  robust::RobustnessResult plain;
  plain.noises = {"shot"};
  plain.lambda_grid = {0.1};
  for (const int s : {0, 1}) {
    robust::RobustnessRow row;
    row.noise = "shot";
    row.severity = s;
    row.level = s ? 500.0 : 0.0;
    row.fixed = s ? 0.8 : 0.9;
    plain.rows.push_back(row);
  }
  const auto plain_json = robust::robustness_json(plain, info);
  EXPECT_FALSE(plain_json["rows"][0].contains("curve"));
  EXPECT_FALSE(plain_json["rows"][0].contains("fit_top1"));
  EXPECT_TRUE(plain_json["fits"].empty());
  const auto table = cells(robust::robustness_table_tsv(plain));
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(table[0].size(), 4u);
  EXPECT_EQ(table[2], (std::vector<std::string>{"shot", "1", "500", "0.8"}));
  EXPECT_EQ(cells(robust::robustness_sweep_tsv(plain)).size(), 1u);
}

TEST(RobustnessReport, PlotScriptDrawsAPanelPerNoiseAndTheFitOnlyWithOne) {
  auto r = full_result();
  auto script = robust::robustness_plot_script(r);
  EXPECT_NE(script.find("set output 'robust.png'"), std::string::npos);
  EXPECT_NE(script.find("set multiplot layout 1,2"), std::string::npos);
  EXPECT_NE(script.find("strcol(1) eq 'gaussian'"), std::string::npos);
  EXPECT_NE(script.find("strcol(1) eq 'impulse'"), std::string::npos);
  EXPECT_NE(script.find("set output 'fit.png'"), std::string::npos);
  r.fit = false;
  script = robust::robustness_plot_script(r);
  EXPECT_EQ(script.find("fit.png"), std::string::npos);
  EXPECT_EQ(script.find("fit.tsv"), std::string::npos);
}

TEST(RobustnessReport, SummaryPrintsPercentagesAndTheChosenLambdas) {
  const auto r = full_result();
  const robust::RobustnessReportInfo info{"c.pt", "sdnet18", "mnist", "test", "generated", 0};
  const auto text = robust::robustness_summary(r, info);
  EXPECT_EQ(text.rfind("sdnet18 on mnist/test, 40 images, 1.50 s; top-1 %\n", 0), 0u) << text;
  EXPECT_NE(text.find("fixed lambda"), std::string::npos);
  EXPECT_NE(text.find("per-sample lambda"), std::string::npos);
  // Row 2: 51.00 at the trained λ, 75.00 at λ 0.40, 62.50 at the fitted 0.25, 60.00 at a mean 0.30.
  EXPECT_NE(text.find("51.00         75.00 (0.40)    62.50 (0.25)    60.00 (mean 0.30)"), std::string::npos) << text;
  std::istringstream lines(text);
  int count = 0;
  for (std::string line; std::getline(lines, line);) ++count;
  EXPECT_EQ(count, 2 + static_cast<int>(r.rows.size()));
}

TEST(RobustnessReport, MarkdownTableNamesEveryColumnAndHasARowPerLevel) {
  const auto r = full_result();
  std::istringstream in(robust::robustness_table_markdown(r));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2 + r.rows.size());  // header, separator, one line per row
  auto columns = [](const std::string& line) { return std::count(line.begin(), line.end(), '|') - 1; };
  EXPECT_EQ(columns(lines[0]), 11);
  for (const auto& line : lines) EXPECT_EQ(columns(line), columns(lines[0])) << line;
  EXPECT_NE(lines[0].find("top-1 % at the trained λ"), std::string::npos);
  EXPECT_NE(lines[0].find("λ(r)"), std::string::npos);
  // Fractions become percentages with two decimals; the clean level is named.
  EXPECT_EQ(lines[2], "| gaussian | 0 | clean | 50.00 | 1.00 | 0.40 | 75.00 | 0.25 | 62.50 | 0.30 | 60.00 |");
  EXPECT_EQ(lines[3], "| gaussian | 3 | 0.08 | 51.00 | 4.00 | 0.40 | 75.00 | 0.25 | 62.50 | 0.30 | 60.00 |");
  // Without CSC layers only the accuracy column is left.
  auto plain = r;
  plain.has_csc = plain.fit = plain.per_sample = false;
  std::istringstream plain_in(robust::robustness_table_markdown(plain));
  std::string header;
  std::getline(plain_in, header);
  EXPECT_EQ(header, "| noise | severity | level | top-1 % at the trained λ |");
}
