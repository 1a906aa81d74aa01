// Run reports (see report.hpp).

#include "sim/report.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <utility>
#include <vector>

#include "overlay/strategy.hpp"

namespace hearsay::sim {

namespace {

void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string& out, const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  if (n > 0) out.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

template <typename T>
T percentile(const std::vector<T>& sorted, double p) {
  if (sorted.empty()) return T{};
  // Nearest rank: the smallest value with at least p of the data at or below it.
  auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
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

// The searches issued in the interval of over-time sample i (until the next one), and how
// many of them found a hit; the share that did.
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

void append_structure_json(std::string& out, const graph_structure& g) {
  appendf(out,
          "{\"peers\": %u, \"links\": %llu, \"clustering\": %.6f, \"clustering_samples\": %u, \"sources\": %u, "
          "\"distance_mean\": %.4f, \"distance_p99\": %u, \"distance_max\": %u, \"reached_share\": %.6f, "
          "\"pairs_at_distance\": [",
          g.nodes, static_cast<unsigned long long>(g.edges), g.clustering, g.clustering_samples, g.sources,
          g.distance_mean, g.distance_p99, g.distance_max, g.reached_share);
  for (std::size_t d = 0; d < g.pairs_at_distance.size(); ++d) {
    appendf(out, "%s%llu", d == 0 ? "" : ", ", static_cast<unsigned long long>(g.pairs_at_distance[d]));
  }
  out += "]}";
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
  std::string out = "{\n";
  appendf(out, "  \"seed\": %llu,\n  \"peers\": %u,\n", static_cast<unsigned long long>(s.seed), s.peers);
  appendf(out, "  \"fanout\": %u,\n  \"ttl\": %u,\n  \"view_size_active\": %u,\n  \"view_size_passive\": %u,\n",
          s.node.search.fanout, s.node.search.ttl, s.node.membership.view_size_active,
          s.node.membership.view_size_passive);
  appendf(out, "  \"files\": %u,\n  \"replication\": %u,\n  \"latency\": \"%s\",\n", s.files, s.replication,
          s.latency.describe().c_str());
  appendf(out, "  \"health\": {\"peers_running\": %u, \"largest_component\": %u, \"components\": %u, "
               "\"active_min\": %u, \"active_mean\": %.4f, \"active_max\": %u, \"in_degree_min\": %u, "
               "\"in_degree_mean\": %.4f, \"in_degree_max\": %u, \"in_degree_stddev\": %.4f, "
               "\"passive_mean\": %.4f, \"links_asymmetric\": %llu},\n",
          h.peers_running, h.largest_component, h.components, h.active_min, h.active_mean, h.active_max,
          h.in_degree_min, h.in_degree_mean, h.in_degree_max, h.in_degree_stddev, h.passive_mean,
          static_cast<unsigned long long>(h.links_asymmetric));
  {
    double settle_ms = 0;
    const bool overlap = joins_overlap(s, settle_ms);
    appendf(out, "  \"structure\": {\"overlay\": ");
    append_structure_json(out, r.structure.overlay);
    out += ", \"random\": ";
    append_structure_json(out, r.structure.random);
    appendf(out, ", \"flash_crowd\": %s, \"join_settle_ms\": %.3f},\n", overlap ? "true" : "false", settle_ms);
  }
  appendf(out, "  \"queries\": %u,\n  \"success_rate\": %.6f,\n", m.queries, m.success_rate);
  appendf(out, "  \"first_hit_ms\": {\"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f, \"mean\": %.3f},\n",
          ms(m.first_hit_p50_us), ms(m.first_hit_p95_us), ms(m.first_hit_p99_us), ms(m.first_hit_mean_us));
  appendf(out, "  \"hops\": {\"mean\": %.4f, \"p50\": %u, \"max\": %u},\n", m.hops_mean, m.hops_p50, m.hops_max);
  appendf(out, "  \"hits_per_query\": %.4f,\n  \"query_messages_per_query\": %.4f,\n", m.hits_mean,
          m.query_messages_mean);
  appendf(out, "  \"hit_messages_per_query\": %.4f,\n  \"duplicates_per_query\": %.4f,\n", m.hit_messages_mean,
          m.duplicates_mean);
  appendf(out, "  \"reached_per_query\": %.4f,\n  \"coverage\": %.6f,\n", m.reached_mean, m.coverage_mean);
  appendf(out, "  \"kth_hit_ms\": {\"k\": %u, \"queries\": %u, \"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f},\n",
          s.hits_wanted, m.succeeded_k, ms(m.kth_hit_p50_us), ms(m.kth_hit_p95_us), ms(m.kth_hit_p99_us));
  appendf(out, "  \"load\": {\"min\": %llu, \"mean\": %.4f, \"p99\": %llu, \"max\": %llu},\n",
          static_cast<unsigned long long>(r.load_min), r.load_mean, static_cast<unsigned long long>(r.load_p99),
          static_cast<unsigned long long>(r.load_max));
  if (downloads_enabled(s)) {
    appendf(out,
            "  \"downloads\": {\"started\": %u, \"done\": %u, \"failed\": %u, \"timed_out\": %u, \"abandoned\": %u, "
            "\"not_started\": %u, \"time_to_file_ms\": {\"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f, \"mean\": %.3f}, "
            "\"bytes\": %llu, \"failovers\": %llu, \"rate_mbps\": {\"mean\": %.4f, \"p50\": %.4f, \"p95\": %.4f}},\n",
            m.downloads_started, m.downloads_done, m.downloads_failed, m.downloads_timed_out, m.downloads_abandoned,
            m.downloads_not_started, ms(m.file_p50_us), ms(m.file_p95_us), ms(m.file_p99_us), ms(m.file_mean_us),
            static_cast<unsigned long long>(m.download_bytes), static_cast<unsigned long long>(m.download_failovers),
            m.download_rate_mean_mbps, m.download_rate_p50_mbps, m.download_rate_p95_mbps);
  }
  if (const std::uint32_t sybils = sybil_count(s); sybils > 0) {
    const auto& a = r.attack_end;
    const attack_split split = split_by_attack(s, r);
    appendf(out,
            "  \"attack\": {\"sybils\": %u, \"groups\": %u, \"behaviour\": \"%s\", \"start_s\": %.3f, \"join_period_s\": %.3f, "
            "\"passive_per_group_max\": %u, \"active_outbound_min\": %u, \"honest_running\": %u, \"eclipsed\": %.6f, "
            "\"isolated\": %.6f, \"sybil_active_share\": %.6f, \"sybil_outbound_share\": %.6f, "
            "\"sybil_passive_share\": %.6f, \"sybil_passive_max\": %u, \"success_before\": %.6f, \"success_after\": %.6f, "
            "\"sybil_messages\": %llu, \"queries_swallowed\": %llu, \"over_time\": [",
            sybils, s.attack.sybil_groups, describe(s.attack.behaviour), static_cast<double>(s.attack.start.count()) / 1e6,
            static_cast<double>(s.attack.join_period.count()) / 1e6, s.node.membership.passive_per_group_max,
            s.node.membership.active_outbound_min, a.honest_running,
            static_cast<double>(a.eclipsed) / std::max<double>(1, a.honest_running),
            static_cast<double>(a.isolated) / std::max<double>(1, a.honest_running), a.sybil_active_share,
            a.sybil_outbound_share, a.sybil_passive_share, a.sybil_passive_max, split.success_before,
            split.success_after, static_cast<unsigned long long>(r.sybil_messages),
            static_cast<unsigned long long>(r.sybil_queries_dropped));
    for (std::size_t i = 0; i < r.over_time.size(); ++i) {
      const auto& smp = r.over_time[i];
      const auto& b = smp.attack;
      appendf(out,
              "%s{\"t_s\": %.3f, \"eclipsed\": %.6f, \"sybil_active_share\": %.6f, \"sybil_outbound_share\": %.6f, "
              "\"sybil_passive_share\": %.6f, \"sybil_passive_max\": %u, \"queries\": %u, \"success\": %.6f}",
              i == 0 ? "" : ", ", static_cast<double>(smp.at.count()) / 1e6,
              static_cast<double>(b.eclipsed) / std::max<double>(1, b.honest_running), b.sybil_active_share,
              b.sybil_outbound_share, b.sybil_passive_share, b.sybil_passive_max, interval_queries(r, i).first,
              interval_success(r, i));
    }
    out += "]},\n";
  }
  appendf(out, "  \"events\": %llu", static_cast<unsigned long long>(r.events));
  if (per_query) {
    out += ",\n  \"per_query\": [\n";
    for (std::size_t i = 0; i < r.queries.size(); ++i) {
      const auto& q = r.queries[i];
      std::string download;
      if (downloads_enabled(s)) {
        appendf(download,
                ", \"download\": \"%s\", \"download_start_us\": %lld, \"file_done_us\": %lld, \"file_bytes\": %llu, "
                "\"download_bytes\": %llu, \"download_failovers\": %u",
                describe(q.download), static_cast<long long>(q.download_start.count()),
                static_cast<long long>(q.file_done.count()), static_cast<unsigned long long>(q.file_bytes),
                static_cast<unsigned long long>(q.download_bytes), q.download_failovers);
      }
      appendf(out,
              "    {\"origin\": %u, \"file\": %u, \"issued_us\": %lld, \"first_hit_us\": %lld, \"hops\": %u, "
              "\"hits\": %u, \"query_messages\": %u, \"hit_messages\": %u, \"duplicates\": %u, \"reached\": %u%s}%s\n",
              q.origin, q.file, static_cast<long long>(q.issued.count()), static_cast<long long>(q.first_hit.count()),
              q.first_hit_hops, q.hits, q.query_messages, q.hit_messages, q.duplicates, q.reached, download.c_str(),
              i + 1 < r.queries.size() ? "," : "");
    }
    out += "  ]";
  }
  out += "\n}\n";
  return out;
}

}  // namespace hearsay::sim
