// SVG line charts (see plot.hpp).

#include "sim/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace hearsay::sim {

namespace {
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}
std::string num(double v) {
  char buf[32];
  if (std::abs(v) >= 1000 || v == std::floor(v)) std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (std::abs(v) >= 10) std::snprintf(buf, sizeof buf, "%.1f", v);
  else std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}
// A "nice" tick step for a range (1, 2 or 5 times a power of ten).
double tick_step(double span) {
  if (!(span > 0)) return 1;
  const double raw = span / 5;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * p) return m * p;
  }
  return 10 * p;
}
constexpr const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

// A chart's opening: the <svg> element w x h on a white ground, and the title centred over the
// plot area [left, w - right].
std::string svg_open(double w, double h, double left, double right, const std::string& title) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
                "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                "<text x=\"%.0f\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n",
                w, h, (left + w - right) / 2, escape(title).c_str());
  return buf;
}
// The axes' names: x under the plot area, y turned along its left side.
std::string svg_axis_labels(double w, double h, double left, double right, double top, double bottom,
                            const std::string& x_label, const std::string& y_label) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n<text transform=\"translate(18 %.0f) "
                "rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
                (left + w - right) / 2, h - 16, escape(x_label).c_str(), (top + h - bottom) / 2, escape(y_label).c_str());
  return buf;
}
}  // namespace

std::string svg_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                      std::vector<series> data) {
  const double w = 720, h = 440, left = 80, right = 170, top = 40, bottom = 60;
  double x_min = INFINITY, x_max = -INFINITY, y_min = 0, y_max = -INFINITY;
  for (auto& s : data) {
    std::sort(s.points.begin(), s.points.end());
    for (auto [x, y] : s.points) {
      x_min = std::min(x_min, x);
      x_max = std::max(x_max, x);
      y_min = std::min(y_min, y);
      y_max = std::max(y_max, y);
    }
  }
  if (!(x_max >= x_min)) x_min = 0, x_max = 1;
  if (!(y_max > y_min)) y_max = y_min + 1;
  if (x_max == x_min) x_max = x_min + 1;
  const double xs = tick_step(x_max - x_min), ys = tick_step(y_max - y_min);
  x_min = std::floor(x_min / xs) * xs;
  x_max = std::ceil(x_max / xs) * xs;
  y_max = std::ceil(y_max / ys) * ys;
  auto px = [&](double x) { return left + (x - x_min) / (x_max - x_min) * (w - left - right); };
  auto py = [&](double y) { return h - bottom - (y - y_min) / (y_max - y_min) * (h - top - bottom); };
  char buf[512];
  std::string out;
  out += svg_open(w, h, left, right, title);
  for (double x = x_min; x <= x_max + xs / 2; x += xs) {
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"middle\">%s</text>\n",
                  px(x), py(y_min), px(x), py(y_max), px(x), h - bottom + 18, num(x).c_str());
    out += buf;
  }
  for (double y = y_min; y <= y_max + ys / 2; y += ys) {
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"end\">%s</text>\n",
                  px(x_min), py(y), px(x_max), py(y), left - 6, py(y) + 4, num(y).c_str());
    out += buf;
  }
  out += svg_axis_labels(w, h, left, right, top, bottom, x_label, y_label);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const char* colour = colours[i % std::size(colours)];
    std::string path;
    for (auto [x, y] : data[i].points) {
      std::snprintf(buf, sizeof buf, "%s%.1f,%.1f", path.empty() ? "" : " ", px(x), py(y));
      path += buf;
    }
    if (data[i].line) {
      std::snprintf(buf, sizeof buf, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour);
      out += buf + path + "\"/>\n";
    }
    for (auto [x, y] : data[i].points) {
      std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(x), py(y), colour);
      out += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"2\"/><text "
                  "x=\"%.0f\" y=\"%.0f\">%s</text>\n",
                  w - right + 15, top + 10 + 18.0 * static_cast<double>(i), w - right + 35,
                  top + 10 + 18.0 * static_cast<double>(i), colour, w - right + 40,
                  top + 14 + 18.0 * static_cast<double>(i), escape(data[i].name).c_str());
    out += buf;
  }
  out += "</svg>\n";
  return out;
}

std::string svg_histogram(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<double>& values, std::size_t bins) {
  const double w = 720, h = 360, left = 80, right = 40, top = 40, bottom = 60;
  char buf[512];
  std::string out;
  out += svg_open(w, h, left, right, title);
  if (values.empty()) {
    std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">no values</text>\n</svg>\n",
                  (left + w - right) / 2, h / 2);
    return out + buf;
  }
  const auto [lo_it, hi_it] = std::minmax_element(values.begin(), values.end());
  // Bins of a round width (1, 2 or 5 times a power of ten), starting on a multiple of it.
  const double raw = (*hi_it - *lo_it) / static_cast<double>(std::max<std::size_t>(1, bins));
  double width = 1;
  if (raw > 0) {
    const double p = std::pow(10.0, std::floor(std::log10(raw)));
    width = 10 * p;
    for (double m : {1.0, 2.0, 5.0}) {
      if (raw <= m * p) {
        width = m * p;
        break;
      }
    }
  }
  const double x_min = std::floor(*lo_it / width) * width;
  const auto count = static_cast<std::size_t>(std::floor((*hi_it - x_min) / width)) + 1;
  std::vector<std::size_t> counts(count, 0);
  for (double v : values) counts[std::min(count - 1, static_cast<std::size_t>(std::floor((v - x_min) / width)))]++;
  const double x_max = x_min + width * static_cast<double>(count);
  double y_max = static_cast<double>(*std::max_element(counts.begin(), counts.end()));
  const double ys = tick_step(y_max);
  y_max = std::ceil(y_max / ys) * ys;
  auto px = [&](double x) { return left + (x - x_min) / (x_max - x_min) * (w - left - right); };
  auto py = [&](double y) { return h - bottom - y / y_max * (h - top - bottom); };
  for (double y = 0; y <= y_max + ys / 2; y += ys) {
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"end\">%s</text>\n",
                  px(x_min), py(y), px(x_max), py(y), left - 6, py(y) + 4, num(y).c_str());
    out += buf;
  }
  const double xs = tick_step(x_max - x_min);
  for (double x = std::ceil(x_min / xs) * xs; x <= x_max + xs / 1000; x += xs) {
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", px(x),
                  h - bottom + 18, num(x).c_str());
    out += buf;
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (counts[i] == 0) continue;
    const double x0 = px(x_min + width * static_cast<double>(i)), x1 = px(x_min + width * static_cast<double>(i + 1));
    const double y0 = py(static_cast<double>(counts[i]));
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s to %s: %zu</title></rect>\n",
                  x0 + 0.5, y0, std::max(0.5, x1 - x0 - 1), py(0) - y0, colours[0],
                  num(x_min + width * static_cast<double>(i)).c_str(),
                  num(x_min + width * static_cast<double>(i + 1)).c_str(), counts[i]);
    out += buf;
  }
  return out + svg_axis_labels(w, h, left, right, top, bottom, x_label, y_label) + "</svg>\n";
}

std::vector<series> series_from(const table& t, const std::string& x, const std::string& y, const std::string& group) {
  const int g = t.column(group);
  // group value -> x -> (sum of y, count); std::map keeps the output order stable.
  std::map<double, std::map<double, std::pair<double, int>>> acc;
  std::map<double, std::string> names;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const double xv = t.number(r, x), yv = t.number(r, y);
    if (std::isnan(xv) || std::isnan(yv)) continue;
    const double gv = g < 0 ? 0 : t.number(r, group);
    auto& cell = acc[gv][xv];
    cell.first += yv;
    cell.second += 1;
    names[gv] = g < 0 ? y : group + " " + t.rows[r][static_cast<std::size_t>(g)];
  }
  std::vector<series> out;
  for (const auto& [gv, points] : acc) {
    series s{names[gv], {}};
    for (const auto& [xv, cell] : points) s.points.emplace_back(xv, cell.first / cell.second);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace hearsay::sim
