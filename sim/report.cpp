// Run reports (see report.hpp).

#include "sim/report.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include <fmt/printf.h>
#include <nlohmann/json.hpp>

#include "overlay/strategy.hpp"

namespace hearsay::sim {

namespace {

// printf-style text appended to out, through fmt's printf: the report's formats (and so its
// bytes and fingerprint) stay as they were, each argument is formatted by its real type, and
// a line is never cut at a buffer's length.
template <typename... Args>
void appendf(std::string& out, const char* format, const Args&... args) {
  out += fmt::sprintf(format, args...);
}

template <typename T>
T percentile(const std::vector<T>& sorted, double p) {
  if (sorted.empty()) return T{};
  // Nearest rank: the smallest value with at least p of the data at or below it.
  auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// v with the decimals the JSON report has always given it ("%.*f"): the same number,
// which nlohmann-json writes in its shortest form.
double fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return std::strtod(buf, nullptr);
}

double ms(std::int64_t us) { return static_cast<double>(us) / 1000.0; }
double ms(double us) { return us / 1000.0; }

void summarize_downloads(const run_results& r, summary& out) {
  std::vector<std::int64_t> file;
  std::vector<double> rates;
  double sum_file = 0, sum_rate = 0;
  for (const auto& q : r.queries) {
    if (q.id == 0) continue;  // its origin was not running
    out.download_bytes += q.download_bytes;
    out.download_failovers += q.download_failovers;
    if (q.download_start.count() >= 0) ++out.downloads_started;
    switch (q.download) {
      case download_outcome::none:
        ++out.downloads_not_started;
        break;
      case download_outcome::running:  // (a run ends when every download has)
      case download_outcome::failed:
        ++out.downloads_failed;
        break;
      case download_outcome::timed_out:
        ++out.downloads_failed;
        ++out.downloads_timed_out;
        break;
      case download_outcome::abandoned:
        ++out.downloads_abandoned;
        break;
      case download_outcome::done: {
        ++out.downloads_done;
        file.push_back(q.file_done.count());
        sum_file += static_cast<double>(q.file_done.count());
        const auto took_us = std::max<std::int64_t>(1, (q.file_done - q.download_start).count());
        const double mbps = static_cast<double>(q.file_bytes) * 8.0 / static_cast<double>(took_us);
        rates.push_back(mbps);
        sum_rate += mbps;
        break;
      }
    }
  }
  if (file.empty()) return;
  std::sort(file.begin(), file.end());
  std::sort(rates.begin(), rates.end());
  out.file_p50_us = percentile(file, 0.50);
  out.file_p95_us = percentile(file, 0.95);
  out.file_p99_us = percentile(file, 0.99);
  out.file_mean_us = sum_file / static_cast<double>(file.size());
  out.download_rate_mean_mbps = sum_rate / static_cast<double>(rates.size());
  out.download_rate_p50_mbps = percentile(rates, 0.50);
  out.download_rate_p95_mbps = percentile(rates, 0.95);
}

double interval_success(const run_results& r, std::size_t i) {
  const auto [issued, ok] = interval_queries(r, i);
  return issued == 0 ? 0.0 : static_cast<double>(ok) / issued;
}

// The median one-way link latency of the scenario's model: its draws for 1,001 pairs of peers
// spread over the run (drawn with the run's seed, not the network stream's: a typical value is
// all the join warning needs).
double median_link_ms(const scenario& s) {
  const std::uint64_t n = std::max<std::uint32_t>(s.peers, 2);
  std::vector<std::int64_t> draws;
  for (std::uint64_t k = 0; draws.size() < 1'001; ++k) {
    const auto a = static_cast<std::uint32_t>(k % n);
    const auto b = static_cast<std::uint32_t>((k * 7'919 + n / 2) % n);
    if (a != b) draws.push_back(s.latency.link(s.seed, a, b).count());
  }
  std::sort(draws.begin(), draws.end());
  return ms(draws[draws.size() / 2]);
}

// The structure lines of the health section: the overlay beside the random graph.
void format_structure(std::string& out, const structure_comparison& c) {
  const auto& o = c.overlay;
  const auto& r = c.random;
  appendf(out, "  structure             %10s %10s   (random: the same degrees, links paired at random)\n", "overlay",
          "random");
  appendf(out, "    links               %10llu %10llu\n", static_cast<unsigned long long>(o.edges),
          static_cast<unsigned long long>(r.edges));
  appendf(out, "    clustering          %10.4f %10.4f   (mean over %u peers)\n", o.clustering, r.clustering,
          o.clustering_samples);
  appendf(out, "    hop distance mean   %10.2f %10.2f   (BFS from %u peers)\n", o.distance_mean, r.distance_mean,
          o.sources);
  appendf(out, "    hop distance p99    %10u %10u\n", o.distance_p99, r.distance_p99);
  appendf(out, "    hop distance max    %10u %10u\n", o.distance_max, r.distance_max);
  appendf(out, "    peers reached       %9.2f%% %9.2f%%\n", 100.0 * o.reached_share, 100.0 * r.reached_share);
}

nlohmann::ordered_json structure_json(const graph_structure& g) {
  return {{"peers", g.nodes},
          {"links", g.edges},
          {"clustering", fixed(g.clustering, 6)},
          {"clustering_samples", g.clustering_samples},
          {"sources", g.sources},
          {"distance_mean", fixed(g.distance_mean, 4)},
          {"distance_p99", g.distance_p99},
          {"distance_max", g.distance_max},
          {"reached_share", fixed(g.reached_share, 6)},
          {"pairs_at_distance", g.pairs_at_distance}};
}

}  // namespace

bool joins_overlap(const scenario& s, double& settle_ms) {
  settle_ms = 2.0 * median_link_ms(s) * s.node.membership.walk_length_active;
  if (s.topology.is_static() || s.peers <= s.seed_count) return false;
  const double interval_ms = ms(s.join_interval.count());
  if (!s.join_proportional) return interval_ms < settle_ms;
  return interval_ms * s.seed_count < settle_ms || settle_ms / (interval_ms * s.peers) > joining_share_max;
}

micros join_phase(const scenario& s) {
  micros total{0};
  for (std::uint32_t started = 1; started < s.peers; ++started) total += join_gap(s, started);
  return total;
}

std::pair<std::uint32_t, std::uint32_t> interval_queries(const run_results& r, std::size_t i) {
  const micros from = r.queries_start + r.over_time[i].at;
  const micros to = i + 1 < r.over_time.size() ? r.queries_start + r.over_time[i + 1].at : micros::max();
  std::uint32_t issued = 0, ok = 0;
  for (const auto& q : r.queries) {
    if (q.id == 0 || q.issued < from || q.issued >= to) continue;
    ++issued;
    ok += q.hits > 0 ? 1 : 0;
  }
  return {issued, ok};
}
std::uint64_t fingerprint(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

summary summarize(const scenario& s, const run_results& r) {
  summary out;
  std::vector<std::int64_t> latencies, kth;
  std::vector<std::uint32_t> hops;
  double sum_latency = 0, sum_hops = 0, sum_hits = 0, sum_qm = 0, sum_hm = 0, sum_dup = 0, sum_reached = 0;
  for (const auto& q : r.queries) {
    if (q.id == 0) continue;  // its origin was not running
    ++out.queries;
    sum_qm += q.query_messages;
    sum_hm += q.hit_messages;
    sum_dup += q.duplicates;
    sum_reached += q.reached;
    sum_hits += q.hits;
    if (q.kth_hit.count() >= 0) kth.push_back(q.kth_hit.count());
    if (q.hits == 0) continue;
    ++out.succeeded;
    latencies.push_back(q.first_hit.count());
    hops.push_back(q.first_hit_hops);
    sum_latency += static_cast<double>(q.first_hit.count());
    sum_hops += q.first_hit_hops;
  }
  if (out.queries == 0) return out;
  const double n = out.queries;
  out.success_rate = out.succeeded / n;
  out.hits_mean = sum_hits / n;
  out.query_messages_mean = sum_qm / n;
  out.hit_messages_mean = sum_hm / n;
  out.duplicates_mean = sum_dup / n;
  out.reached_mean = sum_reached / n;
  out.coverage_mean = out.reached_mean / std::max<double>(1, s.peers - 1);
  if (out.succeeded > 0) {
    std::sort(latencies.begin(), latencies.end());
    std::sort(hops.begin(), hops.end());
    out.first_hit_p50_us = percentile(latencies, 0.50);
    out.first_hit_p95_us = percentile(latencies, 0.95);
    out.first_hit_p99_us = percentile(latencies, 0.99);
    out.first_hit_mean_us = sum_latency / out.succeeded;
    out.hops_mean = sum_hops / out.succeeded;
    out.hops_p50 = percentile(hops, 0.50);
    out.hops_max = hops.back();
  }
  out.succeeded_k = static_cast<std::uint32_t>(kth.size());
  if (!kth.empty()) {
    std::sort(kth.begin(), kth.end());
    out.kth_hit_p50_us = percentile(kth, 0.50);
    out.kth_hit_p95_us = percentile(kth, 0.95);
    out.kth_hit_p99_us = percentile(kth, 0.99);
  }
  if (downloads_enabled(s)) summarize_downloads(r, out);
  return out;
}

attack_split split_by_attack(const scenario& s, const run_results& r) {
  attack_split out;
  std::uint32_t ok_before = 0, ok_after = 0;
  const micros attack_start = r.queries_start + s.attack.start;
  for (const auto& q : r.queries) {
    if (q.id == 0) continue;  // its origin was not running
    const bool after = q.issued >= attack_start;
    ++(after ? out.after : out.before);
    if (q.hits > 0) ++(after ? ok_after : ok_before);
  }
  out.success_before = out.before == 0 ? 0 : static_cast<double>(ok_before) / out.before;
  out.success_after = out.after == 0 ? 0 : static_cast<double>(ok_after) / out.after;
  return out;
}

std::string format_report(const scenario& s, const run_results& r) {
  const summary m = summarize(s, r);
  const auto& h = r.health;
  const auto& t = r.totals;
  const auto& mc = s.node.membership;
  const auto& sc = s.node.search;
  std::string out;
  appendf(out, "hearsay-sim  seed %llu\n", static_cast<unsigned long long>(s.seed));
  appendf(out, "\nscenario\n");
  if (s.topology.is_static()) {
    appendf(out, "  peers                 %u (all started at once on the fixed graph)\n", s.peers);
  } else {
    const std::uint32_t seeds = std::min(s.seed_count, s.peers);
    if (s.join_proportional) {
      appendf(out,
              "  peers                 %u (joining in proportion to the overlay's size over %.0f s, the last every "
              "%.3f ms, through %u seed%s, then %.0f s to settle)\n",
              s.peers, static_cast<double>(join_phase(s).count()) / 1e6, ms(s.join_interval.count()), seeds,
              seeds == 1 ? "" : "s", static_cast<double>(s.stabilize.count()) / 1e6);
    } else {
      appendf(out, "  peers                 %u (joining every %.3f ms through %u seed%s, then %.0f s to settle)\n", s.peers,
              ms(s.join_interval.count()), seeds, seeds == 1 ? "" : "s", static_cast<double>(s.stabilize.count()) / 1e6);
    }
  }
  if (s.topology.is_static()) {
    appendf(out, "  overlay               %s\n", s.topology.describe().c_str());
  } else {
    appendf(out, "  overlay               HyParView active %u, passive %u, shuffle every %.1f s\n", mc.view_size_active,
            mc.view_size_passive, static_cast<double>(mc.shuffle_period.count()) / 1e6);
  }
  out += "  search                ";
  strategy_of(sc).describe(sc, out);
  appendf(out, ", hits via %s\n", sc.reply_direct ? "direct reply" : "reverse path");
  static constexpr const char* strategies[] = {"uniform", "proportional", "square-root"};
  appendf(out, "  workload              %u files x %u replicas (%s), %u queries every %.3f ms%s\n", s.files,
          s.replication, strategies[static_cast<int>(s.replication_strategy)], s.queries, ms(s.query_interval.count()),
          s.poisson_arrivals ? " (Poisson)" : "");
  if (s.popularity_alpha > 0) appendf(out, "  popularity            Zipf, alpha %.2f\n", s.popularity_alpha);
  if (s.loss > 0 || s.partition_duration.count() > 0) {
    appendf(out, "  faults (network)      loss %.3f%%, partition of %.0f%% of peers for %.1f s at +%.1f s\n",
            100.0 * s.loss, 100.0 * s.partition_fraction, static_cast<double>(s.partition_duration.count()) / 1e6,
            static_cast<double>(s.partition_at.count()) / 1e6);
  }
  if (s.crash_fraction > 0 || s.leave_fraction > 0 || s.sessions || !s.repair) {
    appendf(out, "  churn                 crash %.0f%% at +%.1f s, leave %.0f%% at +%.1f s, repair %s\n",
            100.0 * s.crash_fraction, static_cast<double>(s.crash_at.count()) / 1e6, 100.0 * s.leave_fraction,
            static_cast<double>(s.leave_at.count()) / 1e6, s.repair ? "on" : "off");
    if (s.sessions) {
      appendf(out, "  sessions              %s; downtime %s; %.0f%% end gracefully\n", s.session_length.describe().c_str(),
              s.downtime.describe().c_str(), 100.0 * s.graceful_share);
    }
  }
  appendf(out, "  network               %s%s\n", s.latency.describe().c_str(), s.wire_codec ? ", wire codec on" : "");
  if (double settle_ms = 0; joins_overlap(s, settle_ms) && s.join_proportional) {
    appendf(out,
            "  warning               flash crowd: each seed takes a join every %.3f ms at the end, %.2f%% of the "
            "overlay joins at once, a join settles in ~%.0f ms; more join.seeds or a longer join.interval_us grow "
            "the overlay peer by peer (README: Overlay structure)\n",
            ms(s.join_interval.count()) * s.seed_count, 100.0 * settle_ms / (ms(s.join_interval.count()) * s.peers),
            settle_ms);
  } else if (joins_overlap(s, settle_ms)) {
    appendf(out,
            "  warning               flash crowd: a peer joins every %.3f ms, a join settles in ~%.0f ms; a longer "
            "join.interval_us grows the overlay peer by peer (README: Overlay structure)\n",
            ms(s.join_interval.count()), settle_ms);
  }
  if (const std::uint32_t sybils = sybil_count(s); sybils > 0) {
    appendf(out, "  attack                %u Sybils (%.1f%%) in %u network group%s, %s, joining from +%.1f s over %.1f s\n",
            sybils, 100.0 * sybils / std::max<double>(1, s.peers), s.attack.sybil_groups,
            s.attack.sybil_groups == 1 ? "" : "s",
            describe(s.attack.behaviour),
            static_cast<double>(s.attack.start.count()) / 1e6, static_cast<double>(s.attack.join_period.count()) / 1e6);
    appendf(out, "  defences              passive_per_group_max %u, active_outbound_min %u\n", mc.passive_per_group_max,
            mc.active_outbound_min);
  }
  if (downloads_enabled(s)) {
    const auto& f = s.node.fetch;
    appendf(out, "  downloads             upload %s, download %s\n", upload_capacity(s).describe().c_str(),
            download_capacity(s).describe().c_str());
    appendf(out, "  file sizes            %s\n", s.file_size.describe().c_str());
    appendf(out,
            "  fetch                 from the %s, pieces of %u KiB, %u holders x %u pieces at once, "
            "%s uploads per peer, timeout %.0f s\n",
            s.download.start == scenario::download_settings::start_kind::first_hit ? "first hit" : "hits wanted",
            f.piece_bytes / 1024, f.holders_at_once, f.pieces_per_holder,
            s.download.uploads_max == 0 ? "unlimited" : std::to_string(s.download.uploads_max).c_str(),
            static_cast<double>(s.download.timeout.count()) / 1e6);
  }

  appendf(out, "\noverlay health (when the queries start)\n");
  appendf(out, "  peers running         %u\n", h.peers_running);
  appendf(out, "  largest component     %u (%.2f%%), %u component%s\n", h.largest_component,
          100.0 * h.largest_component / std::max<double>(1, h.peers_running), h.components,
          h.components == 1 ? "" : "s");
  appendf(out, "  active view           min %u  mean %.2f  max %u\n", h.active_min, h.active_mean, h.active_max);
  appendf(out, "  in-degree             min %u  mean %.2f  max %u  stddev %.2f\n", h.in_degree_min,
          h.in_degree_mean, h.in_degree_max, h.in_degree_stddev);
  appendf(out, "  passive view          mean %.2f\n", h.passive_mean);
  appendf(out, "  asymmetric links      %llu of %llu\n", static_cast<unsigned long long>(h.links_asymmetric),
          static_cast<unsigned long long>(h.links_directed));
  format_structure(out, r.structure);

  appendf(out, "\nsearch results\n");
  appendf(out, "  %-30s %12s\n", "metric", "value");
  appendf(out, "  %-30s %12u\n", "queries", m.queries);
  appendf(out, "  %-30s %11.2f%%\n", "success rate", 100.0 * m.success_rate);
  appendf(out, "  %-30s %12.1f\n", "time to first hit p50 (ms)", ms(m.first_hit_p50_us));
  appendf(out, "  %-30s %12.1f\n", "time to first hit p95 (ms)", ms(m.first_hit_p95_us));
  appendf(out, "  %-30s %12.1f\n", "time to first hit p99 (ms)", ms(m.first_hit_p99_us));
  appendf(out, "  %-30s %12.1f\n", "time to first hit mean (ms)", ms(m.first_hit_mean_us));
  appendf(out, "  %-30s %12.2f\n", "hops to first hit mean", m.hops_mean);
  appendf(out, "  %-30s %12u\n", "hops to first hit p50", m.hops_p50);
  appendf(out, "  %-30s %12u\n", "hops to first hit max", m.hops_max);
  appendf(out, "  %-30s %12.2f\n", "hits per query", m.hits_mean);
  if (s.hits_wanted > 1) {
    char label[64];
    std::snprintf(label, sizeof label, "queries with %u+ hits", s.hits_wanted);
    appendf(out, "  %-30s %11.2f%%\n", label, 100.0 * m.succeeded_k / std::max<double>(1, m.queries));
    std::snprintf(label, sizeof label, "time to hit #%u p50 (ms)", s.hits_wanted);
    appendf(out, "  %-30s %12.1f\n", label, ms(m.kth_hit_p50_us));
    std::snprintf(label, sizeof label, "time to hit #%u p95 (ms)", s.hits_wanted);
    appendf(out, "  %-30s %12.1f\n", label, ms(m.kth_hit_p95_us));
    std::snprintf(label, sizeof label, "time to hit #%u p99 (ms)", s.hits_wanted);
    appendf(out, "  %-30s %12.1f\n", label, ms(m.kth_hit_p99_us));
  }
  appendf(out, "  %-30s %12.1f\n", "query messages per query", m.query_messages_mean);
  appendf(out, "  %-30s %12.1f\n", "hit messages per query", m.hit_messages_mean);
  appendf(out, "  %-30s %12.1f\n", "duplicates per query", m.duplicates_mean);
  appendf(out, "  %-30s %12.1f\n", "peers reached per query", m.reached_mean);
  appendf(out, "  %-30s %11.2f%%\n", "coverage", 100.0 * m.coverage_mean);

  if (downloads_enabled(s)) {
    appendf(out, "\ndownloads (time to file: from the query's issue to the verified file)\n");
    appendf(out, "  %-30s %12s\n", "metric", "value");
    appendf(out, "  %-30s %12u\n", "started", m.downloads_started);
    const double issued = std::max<double>(1, m.queries);
    appendf(out, "  %-30s %12u %6.2f%%\n", "done", m.downloads_done, 100.0 * m.downloads_done / issued);
    appendf(out, "  %-30s %12u %6.2f%%\n", "failed", m.downloads_failed, 100.0 * m.downloads_failed / issued);
    appendf(out, "  %-30s %12u\n", "  of which timed out", m.downloads_timed_out);
    appendf(out, "  %-30s %12u %6.2f%%\n", "abandoned (searcher left)", m.downloads_abandoned,
            100.0 * m.downloads_abandoned / issued);
    appendf(out, "  %-30s %12u %6.2f%%\n", "not started (no hit)", m.downloads_not_started,
            100.0 * m.downloads_not_started / issued);
    appendf(out, "  %-30s %12.1f\n", "time to file p50 (ms)", ms(m.file_p50_us));
    appendf(out, "  %-30s %12.1f\n", "time to file p95 (ms)", ms(m.file_p95_us));
    appendf(out, "  %-30s %12.1f\n", "time to file p99 (ms)", ms(m.file_p99_us));
    appendf(out, "  %-30s %12.1f\n", "time to file mean (ms)", ms(m.file_mean_us));
    appendf(out, "  %-30s %12.3f\n", "bytes moved (GB)", static_cast<double>(m.download_bytes) / 1e9);
    appendf(out, "  %-30s %12llu\n", "failovers", static_cast<unsigned long long>(m.download_failovers));
    appendf(out, "  %-30s %12.2f\n", "download rate mean (Mbit/s)", m.download_rate_mean_mbps);
    appendf(out, "  %-30s %12.2f\n", "download rate p50 (Mbit/s)", m.download_rate_p50_mbps);
    appendf(out, "  %-30s %12.2f\n", "download rate p95 (Mbit/s)", m.download_rate_p95_mbps);
  }
  const bool attack = sybil_count(s) > 0;
  if (attack) {
    const auto& a = r.attack_end;
    const attack_split split = split_by_attack(s, r);
    appendf(out, "\nattack (honest peers, at the end of the run)\n");
    appendf(out, "  %-30s %12s\n", "metric", "value");
    appendf(out, "  %-30s %12u\n", "honest peers running", a.honest_running);
    appendf(out, "  %-30s %11.2f%%\n", "eclipsed (all active Sybil)", 100.0 * a.eclipsed / std::max<double>(1, a.honest_running));
    appendf(out, "  %-30s %11.2f%%\n", "isolated (no active entry)", 100.0 * a.isolated / std::max<double>(1, a.honest_running));
    appendf(out, "  %-30s %11.2f%%\n", "Sybil share of active views", 100.0 * a.sybil_active_share);
    appendf(out, "  %-30s %11.2f%%\n", "Sybil share of outbound", 100.0 * a.sybil_outbound_share);
    appendf(out, "  %-30s %11.2f%%\n", "Sybil share of passive views", 100.0 * a.sybil_passive_share);
    appendf(out, "  %-30s %12u\n", "Sybils in a passive view, max", a.sybil_passive_max);
    if (mc.passive_per_group_max > 0) {
      appendf(out, "  %-30s %12u\n", "  bound (group max x groups)", mc.passive_per_group_max * s.attack.sybil_groups);
    }
    appendf(out, "  %-30s %11.2f%%\n", "success before the Sybils", 100.0 * split.success_before);
    appendf(out, "  %-30s %11.2f%%\n", "success after they start", 100.0 * split.success_after);
    appendf(out, "  %-30s %12llu\n", "Sybil messages sent", static_cast<unsigned long long>(r.sybil_messages));
    appendf(out, "  %-30s %12llu\n", "queries and hits swallowed", static_cast<unsigned long long>(r.sybil_queries_dropped));
  }
  if (!r.over_time.empty()) {
    appendf(out, "\nover time (from the first query)\n");
    if (attack) {
      appendf(out, "  %8s %9s %11s %8s %8s %9s %9s %8s %8s %8s %6s\n", "t (s)", "running", "component", "active",
              "queries", "success", "eclipsed", "sybil:a", "sybil:o", "sybil:p", "p max");
    } else {
      appendf(out, "  %8s %9s %11s %8s %8s %9s\n", "t (s)", "running", "component", "active", "queries", "success");
    }
    for (std::size_t i = 0; i < r.over_time.size(); ++i) {
      const auto& smp = r.over_time[i];
      const auto [issued, ok] = interval_queries(r, i);
      appendf(out, "  %8.1f %9u %10.2f%% %8.2f %8u %8.2f%%", static_cast<double>(smp.at.count()) / 1e6,
              smp.peers_running, 100.0 * smp.largest_component / std::max<double>(1, smp.peers_running),
              smp.active_mean, issued, issued == 0 ? 0.0 : 100.0 * ok / issued);
      if (attack) {
        const auto& a = smp.attack;
        appendf(out, " %8.2f%% %7.2f%% %7.2f%% %7.2f%% %6u", 100.0 * a.eclipsed / std::max<double>(1, a.honest_running),
                100.0 * a.sybil_active_share, 100.0 * a.sybil_outbound_share, 100.0 * a.sybil_passive_share,
                a.sybil_passive_max);
      }
      out += '\n';
    }
  }

  appendf(out, "\ntraffic (all peers, whole run)\n");
  const auto membership_msgs = t.messages_sent - t.queries_forwarded - t.hits_sent - t.hits_relayed;
  appendf(out, "  messages sent         %llu (membership %llu, query %llu, hit %llu)\n",
          static_cast<unsigned long long>(t.messages_sent), static_cast<unsigned long long>(membership_msgs),
          static_cast<unsigned long long>(t.queries_forwarded),
          static_cast<unsigned long long>(t.hits_sent + t.hits_relayed));
  appendf(out, "  joins / shuffles      %llu / %llu, neighbour requests %llu (%llu refused), failures seen %llu\n",
          static_cast<unsigned long long>(t.joins_sent), static_cast<unsigned long long>(t.shuffles_sent),
          static_cast<unsigned long long>(t.neighbor_requests_sent),
          static_cast<unsigned long long>(t.neighbor_requests_rejected),
          static_cast<unsigned long long>(t.peers_failed));
  if (t.mixes_started > 0) {
    // (only with mixing on: the reports of runs without it stay as they were)
    appendf(out, "  mixing                %llu swaps offered, %llu made\n", static_cast<unsigned long long>(t.mixes_started),
            static_cast<unsigned long long>(t.mixes_done));
  }
  appendf(out, "  dropped               %llu unexpected, %llu invalid, %llu hits, %llu rate-limited\n",
          static_cast<unsigned long long>(t.messages_unexpected), static_cast<unsigned long long>(t.messages_invalid),
          static_cast<unsigned long long>(t.hits_dropped), static_cast<unsigned long long>(t.queries_rate_limited));
  appendf(out, "  per-peer load         messages received: min %llu  mean %.1f  p99 %llu  max %llu\n",
          static_cast<unsigned long long>(r.load_min), r.load_mean, static_cast<unsigned long long>(r.load_p99),
          static_cast<unsigned long long>(r.load_max));
  appendf(out, "  events                %llu over %.1f s of virtual time\n", static_cast<unsigned long long>(r.events),
          static_cast<double>(r.end.count()) / 1e6);
  appendf(out, "\nfingerprint: %016llx\n", static_cast<unsigned long long>(fingerprint(out)));
  return out;
}

std::string format_json(const scenario& s, const run_results& r, bool per_query) {
  const summary m = summarize(s, r);
  const auto& h = r.health;
  using json = nlohmann::ordered_json;
  // Milliseconds and rates from microsecond counts, rounded as the text report rounds them.
  auto ms3 = [](auto us) { return fixed(ms(us), 3); };
  json out = {{"seed", s.seed},
              {"peers", s.peers},
              {"fanout", s.node.search.fanout},
              {"ttl", s.node.search.ttl},
              {"view_size_active", s.node.membership.view_size_active},
              {"view_size_passive", s.node.membership.view_size_passive},
              {"files", s.files},
              {"replication", s.replication},
              {"latency", s.latency.describe()}};
  out["health"] = {{"peers_running", h.peers_running},
                   {"largest_component", h.largest_component},
                   {"components", h.components},
                   {"active_min", h.active_min},
                   {"active_mean", fixed(h.active_mean, 4)},
                   {"active_max", h.active_max},
                   {"in_degree_min", h.in_degree_min},
                   {"in_degree_mean", fixed(h.in_degree_mean, 4)},
                   {"in_degree_max", h.in_degree_max},
                   {"in_degree_stddev", fixed(h.in_degree_stddev, 4)},
                   {"passive_mean", fixed(h.passive_mean, 4)},
                   {"links_asymmetric", h.links_asymmetric}};
  {
    double settle_ms = 0;
    const bool overlap = joins_overlap(s, settle_ms);
    out["structure"] = {{"overlay", structure_json(r.structure.overlay)},
                        {"random", structure_json(r.structure.random)},
                        {"flash_crowd", overlap},
                        {"join_settle_ms", fixed(settle_ms, 3)}};
  }
  out["queries"] = m.queries;
  out["success_rate"] = fixed(m.success_rate, 6);
  out["first_hit_ms"] = {{"p50", ms3(m.first_hit_p50_us)},
                         {"p95", ms3(m.first_hit_p95_us)},
                         {"p99", ms3(m.first_hit_p99_us)},
                         {"mean", ms3(m.first_hit_mean_us)}};
  out["hops"] = {{"mean", fixed(m.hops_mean, 4)}, {"p50", m.hops_p50}, {"max", m.hops_max}};
  out["hits_per_query"] = fixed(m.hits_mean, 4);
  out["query_messages_per_query"] = fixed(m.query_messages_mean, 4);
  out["hit_messages_per_query"] = fixed(m.hit_messages_mean, 4);
  out["duplicates_per_query"] = fixed(m.duplicates_mean, 4);
  out["reached_per_query"] = fixed(m.reached_mean, 4);
  out["coverage"] = fixed(m.coverage_mean, 6);
  out["kth_hit_ms"] = {{"k", s.hits_wanted},
                       {"queries", m.succeeded_k},
                       {"p50", ms3(m.kth_hit_p50_us)},
                       {"p95", ms3(m.kth_hit_p95_us)},
                       {"p99", ms3(m.kth_hit_p99_us)}};
  out["load"] = {{"min", r.load_min}, {"mean", fixed(r.load_mean, 4)}, {"p99", r.load_p99}, {"max", r.load_max}};
  if (downloads_enabled(s)) {
    out["downloads"] = {{"started", m.downloads_started},
                        {"done", m.downloads_done},
                        {"failed", m.downloads_failed},
                        {"timed_out", m.downloads_timed_out},
                        {"abandoned", m.downloads_abandoned},
                        {"not_started", m.downloads_not_started},
                        {"time_to_file_ms",
                         {{"p50", ms3(m.file_p50_us)},
                          {"p95", ms3(m.file_p95_us)},
                          {"p99", ms3(m.file_p99_us)},
                          {"mean", ms3(m.file_mean_us)}}},
                        {"bytes", m.download_bytes},
                        {"failovers", m.download_failovers},
                        {"rate_mbps",
                         {{"mean", fixed(m.download_rate_mean_mbps, 4)},
                          {"p50", fixed(m.download_rate_p50_mbps, 4)},
                          {"p95", fixed(m.download_rate_p95_mbps, 4)}}}};
  }
  if (const std::uint32_t sybils = sybil_count(s); sybils > 0) {
    const auto& a = r.attack_end;
    const attack_split split = split_by_attack(s, r);
    json over_time = json::array();
    for (std::size_t i = 0; i < r.over_time.size(); ++i) {
      const auto& smp = r.over_time[i];
      const auto& b = smp.attack;
      over_time.push_back({{"t_s", fixed(static_cast<double>(smp.at.count()) / 1e6, 3)},
                           {"eclipsed", fixed(static_cast<double>(b.eclipsed) / std::max<double>(1, b.honest_running), 6)},
                           {"sybil_active_share", fixed(b.sybil_active_share, 6)},
                           {"sybil_outbound_share", fixed(b.sybil_outbound_share, 6)},
                           {"sybil_passive_share", fixed(b.sybil_passive_share, 6)},
                           {"sybil_passive_max", b.sybil_passive_max},
                           {"queries", interval_queries(r, i).first},
                           {"success", fixed(interval_success(r, i), 6)}});
    }
    out["attack"] = {{"sybils", sybils},
                     {"groups", s.attack.sybil_groups},
                     {"behaviour", describe(s.attack.behaviour)},
                     {"start_s", fixed(static_cast<double>(s.attack.start.count()) / 1e6, 3)},
                     {"join_period_s", fixed(static_cast<double>(s.attack.join_period.count()) / 1e6, 3)},
                     {"passive_per_group_max", s.node.membership.passive_per_group_max},
                     {"active_outbound_min", s.node.membership.active_outbound_min},
                     {"honest_running", a.honest_running},
                     {"eclipsed", fixed(static_cast<double>(a.eclipsed) / std::max<double>(1, a.honest_running), 6)},
                     {"isolated", fixed(static_cast<double>(a.isolated) / std::max<double>(1, a.honest_running), 6)},
                     {"sybil_active_share", fixed(a.sybil_active_share, 6)},
                     {"sybil_outbound_share", fixed(a.sybil_outbound_share, 6)},
                     {"sybil_passive_share", fixed(a.sybil_passive_share, 6)},
                     {"sybil_passive_max", a.sybil_passive_max},
                     {"success_before", fixed(split.success_before, 6)},
                     {"success_after", fixed(split.success_after, 6)},
                     {"sybil_messages", r.sybil_messages},
                     {"queries_swallowed", r.sybil_queries_dropped},
                     {"over_time", std::move(over_time)}};
  }
  out["events"] = r.events;
  if (per_query) {
    json records = json::array();
    for (const auto& q : r.queries) {
      json rec = {{"origin", q.origin},
                  {"file", q.file},
                  {"issued_us", q.issued.count()},
                  {"first_hit_us", q.first_hit.count()},
                  {"hops", static_cast<unsigned>(q.first_hit_hops)},
                  {"hits", q.hits},
                  {"query_messages", q.query_messages},
                  {"hit_messages", q.hit_messages},
                  {"duplicates", q.duplicates},
                  {"reached", q.reached}};
      if (downloads_enabled(s)) {
        rec["download"] = describe(q.download);
        rec["download_start_us"] = q.download_start.count();
        rec["file_done_us"] = q.file_done.count();
        rec["file_bytes"] = q.file_bytes;
        rec["download_bytes"] = q.download_bytes;
        rec["download_failovers"] = q.download_failovers;
      }
      records.push_back(std::move(rec));
    }
    out["per_query"] = std::move(records);
  }
  // One top-level field a line and one per-query record a line, as before, so that line
  // tools (grep, sed, awk) still find a field or a record on one line.
  std::string text = "{\n";
  bool first = true;
  for (const auto& [key, value] : out.items()) {
    text += first ? "  " : ",\n  ";
    first = false;
    text += json(key).dump() + ": ";
    if (key == "per_query") {
      text += "[";
      for (std::size_t i = 0; i < value.size(); ++i) text += (i == 0 ? "\n    " : ",\n    ") + value[i].dump();
      text += value.empty() ? "]" : "\n  ]";
    } else {
      text += value.dump();
    }
  }
  text += "\n}\n";
  return text;
}

}  // namespace hearsay::sim
