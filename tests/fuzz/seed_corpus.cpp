// Writes the fuzzers' seed corpus: one valid frame of every message kind (for fuzz_frame),
// and the same bodies wrapped in fuzz_node's step format (for fuzz_node).
//   fuzz_seed_corpus tests/fuzz/corpus

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "overlay/codec.hpp"

int main(int argc, char** argv) {
  using namespace hearsay;
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seed_corpus DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir / "frame");
  std::filesystem::create_directories(dir / "node");
  const auto a = [](std::uint32_t i) { return peer_addr::from_ipv4(0x0a000000 + i, 7000); };
  sha256_digest d;
  d.bytes.fill(7);
  const std::vector<message> all = {
      msg_hello{"hearsay", a(2), "hearsay/0.1", false},
      msg_join{},
      msg_forward_join{a(5), 3},
      msg_join_reply{},
      msg_neighbor{true},
      msg_neighbor_reply{true},
      msg_disconnect{},
      msg_shuffle{a(3), 2, {a(3), a(4), a(6)}},
      msg_shuffle_reply{{a(7), a(8)}},
      msg_query{42, a(9), 3, 1, false, 0, 0, "song one"},
      msg_query_hit{42, a(9), 2, {{"song one.ogg", 10, d}}},
      msg_fetch_request{d, 0, 4},
      msg_fetch_data{d, 0, 4, 4},
      msg_fetch_error{d, fetch_error_code::busy, "busy"},
      msg_ping{1},
      msg_pong{1},
      msg_walk_check{42},
      msg_walk_status{42, true},
      msg_mix_offer{a(5), 11},
      msg_mix_replace{a(3), a(5), 11},
      msg_mix_switch{a(3), 11},
      msg_mix_answer{mix_step::replace, true, false, 11},
  };
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto frame = codec::encode_frame(a(2), all[i]);
    const std::string name = std::to_string(i) + "-" + message_name(all[i]);
    std::ofstream(dir / "frame" / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
    // fuzz_node step: op 0x00 (message from peer .2), 2-byte length, body.
    std::vector<std::uint8_t> step{0x01, static_cast<std::uint8_t>(frame.size() - 4),
                                   static_cast<std::uint8_t>((frame.size() - 4) >> 8)};
    step.insert(step.end(), frame.begin() + 4, frame.end());
    std::ofstream(dir / "node" / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(step.data()), static_cast<std::streamsize>(step.size()));
  }
  std::printf("wrote %zu seeds per target into %s\n", all.size(), dir.c_str());
  return 0;
}
