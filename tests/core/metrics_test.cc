#include "core/metrics.h"

#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cartsense {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(MetricsTest, ExpositionLineByLine) {
  MetricsRegistry registry;
  registry.GetCounter("cartsense_weigh_events_total", "Weight events emitted", {{"sign", "added"}})
      .Increment(3);
  registry
      .GetCounter("cartsense_weigh_events_total", "Weight events emitted", {{"sign", "removed"}})
      .Increment();
  registry.GetGauge("cartsense_basket_items", "Items in the basket").Set(2.5);
  Histogram& h = registry.GetHistogram("cartsense_stage_process_ms", "Process time",
                                       {{"stage", "weigh"}}, {1, 10});
  h.Observe(0.5);
  h.Observe(5);
  h.Observe(50);

  const std::vector<std::string> expected = {
      "# HELP cartsense_basket_items Items in the basket",
      "# TYPE cartsense_basket_items gauge",
      "cartsense_basket_items 2.5",
      "# HELP cartsense_stage_process_ms Process time",
      "# TYPE cartsense_stage_process_ms histogram",
      "cartsense_stage_process_ms_bucket{stage=\"weigh\",le=\"1\"} 1",
      "cartsense_stage_process_ms_bucket{stage=\"weigh\",le=\"10\"} 2",
      "cartsense_stage_process_ms_bucket{stage=\"weigh\",le=\"+Inf\"} 3",
      "cartsense_stage_process_ms_sum{stage=\"weigh\"} 55.5",
      "cartsense_stage_process_ms_count{stage=\"weigh\"} 3",
      "# HELP cartsense_weigh_events_total Weight events emitted",
      "# TYPE cartsense_weigh_events_total counter",
      "cartsense_weigh_events_total{sign=\"added\"} 3",
      "cartsense_weigh_events_total{sign=\"removed\"} 1",
  };
  EXPECT_EQ(Lines(registry.ExposePrometheus()), expected);
  EXPECT_TRUE(registry.Check().ok());
}

TEST(MetricsTest, SameNameAndLabelsIsTheSameMetric) {
  MetricsRegistry registry;
  Counter& a = registry.GetCounter("x_total", "x", {{"k", "v"}});
  Counter& b = registry.GetCounter("x_total", "x", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.GetCounter("odd_total", "odd\nhelp \\", {{"path", "a\"b\\c\nd"}}).Increment();
  const auto lines = Lines(registry.ExposePrometheus());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "# HELP odd_total odd\\nhelp \\\\");
  EXPECT_EQ(lines[2], "odd_total{path=\"a\\\"b\\\\c\\nd\"} 1");
}

TEST(MetricsTest, MisuseIsReported) {
  MetricsRegistry registry;
  registry.GetCounter("9bad name", "bad");
  EXPECT_FALSE(registry.Check().ok());

  MetricsRegistry clash;
  clash.GetCounter("thing", "a counter");
  clash.GetGauge("thing", "now a gauge");
  EXPECT_NE(clash.Check().message().find("two types"), std::string::npos);

  MetricsRegistry reserved;
  reserved.GetHistogram("h", "h", {{"le", "1"}});
  EXPECT_FALSE(reserved.Check().ok());
}

TEST(MetricsTest, GaugeAddAndSpecialValues) {
  MetricsRegistry registry;
  Gauge& g = registry.GetGauge("g", "g");
  g.Add(1.25);
  g.Add(-0.25);
  EXPECT_DOUBLE_EQ(g.value(), 1.0);
  g.Set(std::numeric_limits<double>::infinity());
  EXPECT_EQ(Lines(registry.ExposePrometheus())[2], "g +Inf");
}

}  // namespace
}  // namespace cartsense
