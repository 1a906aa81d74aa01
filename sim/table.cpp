// Run results as CSV rows (see table.hpp).

#include "sim/table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "sim/report.hpp"

namespace hearsay::sim {

namespace {
std::string clean(std::string text) {
  for (auto& c : text) {
    if (c == ',' || c == '\n' || c == '\r') c = ';';
  }
  return text;
}
std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}
}  // namespace

std::string csv_header() {
  return "point,seed,peers,topology,fanout,ttl,view_size_active,view_size_passive,shuffle_period_ms,files,"
         "replication,replication_strategy,popularity_alpha,latency,queries,success_rate,first_hit_p50_ms,"
         "first_hit_p95_ms,first_hit_p99_ms,first_hit_mean_ms,hops_mean,hits_mean,query_messages,hit_messages,"
         "duplicates,reached,coverage,kth_hit_k,kth_success_rate,kth_hit_p50_ms,load_mean,load_max,"
         "largest_component,membership_messages,events,downloads_done_rate,downloads_failed_rate,"
         "downloads_abandoned_rate,time_to_file_p50_ms,time_to_file_p95_ms,time_to_file_p99_ms,download_bytes,"
         "download_failovers,download_rate_mean_mbps,sybil_share,sybil_groups,eclipsed_share,sybil_active_share,"
         "sybil_passive_share,sybil_passive_max,success_under_attack,clustering,clustering_random,distance_mean,"
         "distance_mean_random,distance_p99,distance_p99_random,distance_max,distance_max_random,reached_share,"
         "reached_share_random,flash_crowd\n";
}

std::string csv_row(const scenario& s, const run_results& r, const std::string& point) {
  const summary m = summarize(s, r);
  static constexpr const char* strategies[] = {"uniform", "proportional", "square_root"};
  const auto& t = r.totals;
  const auto membership = t.messages_sent - t.queries_forwarded - t.hits_sent - t.hits_relayed;
  std::string row;
  bool first = true;
  auto add = [&](const std::string& v) {
    // A separator before every field but the first, even when the first is empty (a single
    // run has no point label).
    if (!first) row += ',';
    first = false;
    row += v;
  };
  add(clean(point));
  add(std::to_string(s.seed));
  add(std::to_string(s.peers));
  add(clean(s.topology.is_static() ? s.topology.describe() : "hyparview"));
  add(std::to_string(s.node.search.fanout));
  add(std::to_string(s.node.search.ttl));
  add(std::to_string(s.node.membership.view_size_active));
  add(std::to_string(s.node.membership.view_size_passive));
  add(std::to_string(s.node.membership.shuffle_period.count() / 1000));
  add(std::to_string(s.files));
  add(std::to_string(s.replication));
  add(strategies[static_cast<int>(s.replication_strategy)]);
  add(fmt(s.popularity_alpha, 3));
  add(clean(s.latency.describe()));
  add(std::to_string(m.queries));
  add(fmt(m.success_rate, 6));
  add(fmt(static_cast<double>(m.first_hit_p50_us) / 1000.0, 3));
  add(fmt(static_cast<double>(m.first_hit_p95_us) / 1000.0, 3));
  add(fmt(static_cast<double>(m.first_hit_p99_us) / 1000.0, 3));
  add(fmt(m.first_hit_mean_us / 1000.0, 3));
  add(fmt(m.hops_mean, 4));
  add(fmt(m.hits_mean, 4));
  add(fmt(m.query_messages_mean, 3));
  add(fmt(m.hit_messages_mean, 3));
  add(fmt(m.duplicates_mean, 3));
  add(fmt(m.reached_mean, 3));
  add(fmt(m.coverage_mean, 6));
  add(std::to_string(s.hits_wanted));
  add(fmt(m.queries == 0 ? 0.0 : static_cast<double>(m.succeeded_k) / m.queries, 6));
  add(fmt(static_cast<double>(m.kth_hit_p50_us) / 1000.0, 3));
  add(fmt(r.load_mean, 3));
  add(std::to_string(r.load_max));
  add(std::to_string(r.health.largest_component));
  add(std::to_string(membership));
  add(std::to_string(r.events));
  // Downloads (zeros when the scenario has none).
  const double issued = std::max<double>(1, m.queries);
  add(fmt(m.downloads_done / issued, 6));
  add(fmt(m.downloads_failed / issued, 6));
  add(fmt(m.downloads_abandoned / issued, 6));
  add(fmt(static_cast<double>(m.file_p50_us) / 1000.0, 3));
  add(fmt(static_cast<double>(m.file_p95_us) / 1000.0, 3));
  add(fmt(static_cast<double>(m.file_p99_us) / 1000.0, 3));
  add(std::to_string(m.download_bytes));
  add(std::to_string(m.download_failovers));
  add(fmt(m.download_rate_mean_mbps, 4));
  // The attack (zeros without one): the honest peers' state at the end, and the success of
  // the searches issued once the Sybils started.
  const auto& a = r.attack_end;
  const bool attacked = sybil_count(s) > 0;
  add(fmt(s.attack.sybil_share, 4));
  add(std::to_string(attacked ? s.attack.sybil_groups : 0));
  add(fmt(static_cast<double>(a.eclipsed) / std::max<double>(1, a.honest_running), 6));
  add(fmt(a.sybil_active_share, 6));
  add(fmt(a.sybil_passive_share, 6));
  add(std::to_string(a.sybil_passive_max));
  add(fmt(attacked ? split_by_attack(s, r).success_after : 0.0, 6));
  // The overlay's structure when the queries start, each figure beside a random graph's with the
  // same degrees; and whether its joins overlapped (report.hpp, joins_overlap).
  const auto& o = r.structure.overlay;
  const auto& g = r.structure.random;
  add(fmt(o.clustering, 6));
  add(fmt(g.clustering, 6));
  add(fmt(o.distance_mean, 4));
  add(fmt(g.distance_mean, 4));
  add(std::to_string(o.distance_p99));
  add(std::to_string(g.distance_p99));
  add(std::to_string(o.distance_max));
  add(std::to_string(g.distance_max));
  add(fmt(o.reached_share, 6));
  add(fmt(g.reached_share, 6));
  double settle_ms = 0;
  add(joins_overlap(s, settle_ms) ? "1" : "0");
  return row + "\n";
}

std::string csv_queries(const run_results& r) {
  std::string out = "query,origin,file,issued_us,first_hit_us,kth_hit_us,hops,hits,query_messages,hit_messages,"
                    "duplicates,reached,download,download_start_us,file_done_us,file_bytes,download_bytes,"
                    "download_failovers\n";
  char buf[384];
  for (std::size_t i = 0; i < r.queries.size(); ++i) {
    const auto& q = r.queries[i];
    if (q.id == 0) continue;  // its origin was not running
    std::snprintf(buf, sizeof buf, "%zu,%u,%u,%lld,%lld,%lld,%u,%u,%u,%u,%u,%u,%s,%lld,%lld,%llu,%llu,%u\n", i, q.origin,
                  q.file, static_cast<long long>(q.issued.count()), static_cast<long long>(q.first_hit.count()),
                  static_cast<long long>(q.kth_hit.count()), q.first_hit_hops, q.hits, q.query_messages,
                  q.hit_messages, q.duplicates, q.reached, describe(q.download),
                  static_cast<long long>(q.download_start.count()), static_cast<long long>(q.file_done.count()),
                  static_cast<unsigned long long>(q.file_bytes), static_cast<unsigned long long>(q.download_bytes),
                  q.download_failovers);
    out += buf;
  }
  return out;
}

int table::column(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<int>(i);
  }
  return -1;
}

double table::number(std::size_t row, const std::string& name) const {
  const int c = column(name);
  if (c < 0 || row >= rows.size() || static_cast<std::size_t>(c) >= rows[row].size()) return NAN;
  char* end = nullptr;
  const std::string& text = rows[row][static_cast<std::size_t>(c)];
  const double v = std::strtod(text.c_str(), &end);
  return (end == text.c_str() || *end != '\0') ? NAN : v;
}

result<table> table::parse(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  auto split = [](const std::string& l) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream ls(l);
    while (std::getline(ls, field, ',')) fields.push_back(field);
    if (!l.empty() && l.back() == ',') fields.emplace_back();
    return fields;
  };
  if (!std::getline(in, line)) return failure("empty table");
  table out;
  out.columns = split(line);
  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    auto fields = split(line);
    if (fields.size() != out.columns.size()) {
      return failure("line " + std::to_string(number) + ": " + std::to_string(fields.size()) + " fields, expected " +
                     std::to_string(out.columns.size()));
    }
    out.rows.push_back(std::move(fields));
  }
  return out;
}

}  // namespace hearsay::sim
