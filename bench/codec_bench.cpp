// The wire codec: encode, verify and decode of the two search messages.

#include <benchmark/benchmark.h>

#include "overlay/codec.hpp"

namespace {

hearsay::message query() {
  hearsay::msg_query q;
  q.id = 0x1234567890abcdefULL;
  q.origin = hearsay::peer_addr::from_ipv4(0x0a000001, 7000);
  q.ttl = 5;
  q.hops = 2;
  q.criteria = "holiday photos 2019";
  return q;
}

hearsay::message hit() {
  hearsay::msg_query_hit h;
  h.id = 0x1234567890abcdefULL;
  h.holder = hearsay::peer_addr::from_ipv4(0x0a000002, 7000);
  h.hops = 3;
  for (int i = 0; i < 3; ++i) h.files.push_back({"holiday photos 2019 part " + std::to_string(i) + ".zip", 123456789, {}});
  return h;
}

void round_trip(benchmark::State& state, const hearsay::message& m) {
  hearsay::codec::encoder enc;
  const hearsay::codec::limits lim;
  const auto sender = hearsay::peer_addr::from_ipv4(0x0a000009, 7000);
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    const auto frame = enc.encode(sender, m);
    auto r = hearsay::codec::decode(frame, lim);
    benchmark::DoNotOptimize(r.ok());
    bytes += frame.size();
  }
  state.counters["messages/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["frame_bytes"] = static_cast<double>(bytes) / static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
}

void bm_codec_query(benchmark::State& state) { round_trip(state, query()); }
void bm_codec_hit(benchmark::State& state) { round_trip(state, hit()); }
BENCHMARK(bm_codec_query);
BENCHMARK(bm_codec_hit);

}  // namespace
