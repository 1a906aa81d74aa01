// Search rules: TTL, hops, fan-out, duplicates, hits along the reverse path, limits.

#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "tests/overlay/recording_host.hpp"

using namespace hearsay;
using hearsay::test::addr;
using hearsay::test::recording_host;
using hearsay::test::single;
using hearsay::test::test_net;

namespace {

file_info make_file(std::string name, std::uint8_t tag) {
  file_info f;
  f.name = std::move(name);
  f.size = 1000 + tag;
  f.sha256.bytes.fill(tag);
  return f;
}

msg_query query_from(peer_addr origin, std::uint8_t ttl, std::string criteria, query_id id = 77) {
  msg_query q;
  q.id = id;
  q.origin = origin;
  q.ttl = ttl;
  q.hops = 1;
  q.criteria = std::move(criteria);
  return q;
}

}  // namespace

TEST_CASE("the origin sends a new query to fan-out neighbours with the configured TTL", "[search]") {
  node_config cfg;
  cfg.search.fanout = 3;
  cfg.search.ttl = 4;
  single s(cfg, 5);
  const auto id = s.n.search(micros{10}, "holiday photos");
  auto out = s.h.sent_of<msg_query>();
  REQUIRE(out.size() == 3);
  std::set<peer_addr> targets;
  for (const auto& [to, q] : out) {
    targets.insert(to);
    CHECK(s.n.members().is_active(to));
    CHECK(q.id == id);
    CHECK(q.origin == addr(1));
    CHECK(q.ttl == 4);
    CHECK(q.hops == 1);
    CHECK(q.criteria == "holiday photos");
  }
  CHECK(targets.size() == 3);  // three distinct neighbours
  CHECK(s.h.has_timer(timer_kind::query_timeout));
}

TEST_CASE("a search's TTL is capped at ttl_max", "[search]") {
  node_config cfg;
  cfg.search.ttl_max = 6;
  single s(cfg, 2);
  s.n.search(micros{0}, "x", {.ttl = 50});
  const auto sent = s.h.sent_of<msg_query>();
  REQUIRE(sent.size() == 2);  // to both neighbours: the check below is not vacuous
  for (const auto& [to, q] : sent) CHECK(q.ttl == 6);
}

TEST_CASE("a relay forwards with TTL - 1 and hops + 1, never back to the sender", "[search]") {
  node_config cfg;
  cfg.search.fanout = 10;  // all neighbours but the sender
  single s(cfg, 4);
  s.n.on_message(micros{5}, addr(100), query_from(addr(900), 3, "x"));
  auto out = s.h.sent_of<msg_query>();
  REQUIRE(out.size() == 3);
  for (const auto& [to, q] : out) {
    CHECK(to != addr(100));
    CHECK(q.ttl == 2);
    CHECK(q.hops == 2);
    CHECK(q.origin == addr(900));
  }
  REQUIRE(s.h.seen.size() == 1);
  CHECK_FALSE(s.h.seen[0].second);
}

TEST_CASE("fan-out limits how many neighbours a relay forwards to", "[search]") {
  node_config cfg;
  cfg.search.fanout = 2;
  single s(cfg, 5);
  s.n.on_message(micros{5}, addr(100), query_from(addr(900), 3, "x"));
  CHECK(s.h.sent_of<msg_query>().size() == 2);
}

TEST_CASE("a query with TTL 1 is answered but not forwarded", "[search]") {
  single s(node_config{}, 4);
  s.n.files().add(make_file("holiday photos.zip", 1));
  s.n.on_message(micros{5}, addr(100), query_from(addr(900), 1, "photos"));
  CHECK(s.h.sent_of<msg_query>().empty());
  auto hits = s.h.sent_of<msg_query_hit>();
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].first == addr(100));  // reverse path: back to the sender
  CHECK(hits[0].second.id == 77);
  CHECK(hits[0].second.holder == addr(1));
  CHECK(hits[0].second.hops == 1);
  REQUIRE(hits[0].second.files.size() == 1);
  CHECK(hits[0].second.files[0].name == "holiday photos.zip");
}

TEST_CASE("hits go straight to the origin when the query asks for it", "[search]") {
  single s(node_config{}, 2);
  s.n.files().add(make_file("song.ogg", 2));
  auto q = query_from(addr(900), 2, "song");
  q.reply_direct = true;
  s.n.on_message(micros{5}, addr(100), q);
  auto hits = s.h.sent_of<msg_query_hit>();
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].first == addr(900));
}

TEST_CASE("duplicates are dropped, unless they come with more TTL", "[search]") {
  node_config cfg;
  cfg.search.fanout = 10;
  single s(cfg, 4);
  s.n.files().add(make_file("song.ogg", 2));
  s.n.on_message(micros{5}, addr(100), query_from(addr(900), 2, "song"));
  REQUIRE(s.h.sent_of<msg_query>().size() == 3);
  REQUIRE(s.h.sent_of<msg_query_hit>().size() == 1);
  s.h.clear();

  SECTION("same TTL: dropped and counted") {
    s.n.on_message(micros{6}, addr(101), query_from(addr(900), 2, "song"));
    CHECK(s.h.sent_of<msg_query>().empty());
    CHECK(s.h.sent_of<msg_query_hit>().empty());
    CHECK(s.n.stats().queries_duplicate == 1);
    REQUIRE(s.h.seen.size() == 1);
    CHECK(s.h.seen[0].second);
  }
  SECTION("lower TTL: dropped") {
    s.n.on_message(micros{6}, addr(101), query_from(addr(900), 1, "song"));
    CHECK(s.h.sent_of<msg_query>().empty());
  }
  SECTION("higher TTL: forwarded again (not back to its sender), not answered again") {
    s.n.on_message(micros{6}, addr(101), query_from(addr(900), 4, "song"));
    auto out = s.h.sent_of<msg_query>();
    REQUIRE(out.size() == 3);
    for (const auto& [to, q] : out) {
      CHECK(to != addr(101));
      CHECK(q.ttl == 3);
    }
    CHECK(s.h.sent_of<msg_query_hit>().empty());
    CHECK(s.n.stats().queries_reforwarded == 1);
  }
}

TEST_CASE("queries with TTL above ttl_max are capped on arrival", "[search]") {
  node_config cfg;
  cfg.search.ttl_max = 3;
  cfg.search.fanout = 10;
  single s(cfg, 3);
  s.n.on_message(micros{5}, addr(100), query_from(addr(900), 200, "x"));
  for (const auto& [to, q] : s.h.sent_of<msg_query>()) CHECK(q.ttl == 2);
  CHECK(s.n.stats().queries_ttl_capped == 1);
}

TEST_CASE("malformed queries and queries from strangers are dropped", "[search]") {
  single s(node_config{}, 3);
  s.n.files().add(make_file("song.ogg", 2));
  s.n.on_message(micros{5}, addr(100), query_from(addr(900), 0, "song"));
  s.n.on_message(micros{5}, addr(100), query_from(addr(900), 3, "", 78));
  auto zero_id = query_from(addr(900), 3, "song", 0);
  s.n.on_message(micros{5}, addr(100), zero_id);
  CHECK(s.n.stats().messages_invalid == 3);
  CHECK(s.h.sent.empty());
  // A query from a peer outside the active view is dropped, and the peer is told there is
  // no link (DISCONNECT), so a one-sided link heals.
  s.n.on_message(micros{5}, addr(555), query_from(addr(900), 3, "song", 79));
  CHECK(s.n.stats().messages_unexpected == 1);
  REQUIRE(s.h.sent.size() == 1);
  CHECK(s.h.sent_of<msg_disconnect>().size() == 1);
  CHECK(s.h.sent[0].to == addr(555));
  CHECK(s.h.sent_of<msg_query_hit>().empty());
}

TEST_CASE("hits travel back along the reverse path to the origin", "[search]") {
  single s(node_config{}, 3);
  s.n.on_message(micros{5}, addr(100), query_from(addr(900), 3, "song"));
  s.h.clear();
  msg_query_hit hit{77, addr(777), 2, {make_file("song.ogg", 2)}};
  s.n.on_message(micros{9}, addr(101), hit);
  auto relayed = s.h.sent_of<msg_query_hit>();
  REQUIRE(relayed.size() == 1);
  CHECK(relayed[0].first == addr(100));
  CHECK(relayed[0].second.holder == addr(777));
  CHECK(s.n.stats().hits_relayed == 1);

  s.h.clear();
  s.n.on_message(micros{9}, addr(101), msg_query_hit{12345, addr(777), 2, {make_file("a", 1)}});
  CHECK(s.h.sent.empty());
  CHECK(s.n.stats().hits_dropped == 1);
}

TEST_CASE("relays forward at most hits_per_query_max hits per query", "[search]") {
  node_config cfg;
  cfg.search.hits_per_query_max = 2;
  single s(cfg, 3);
  s.n.on_message(micros{5}, addr(100), query_from(addr(900), 3, "song"));
  s.h.clear();
  for (std::uint32_t i = 0; i < 5; ++i) {
    s.n.on_message(micros{9}, addr(101), msg_query_hit{77, addr(700 + i), 2, {make_file("song", 1)}});
  }
  CHECK(s.h.sent_of<msg_query_hit>().size() == 2);
  CHECK(s.n.stats().hits_dropped == 3);
}

TEST_CASE("the origin collects hits with their latency, up to its limit, then closes the query",
          "[search]") {
  node_config cfg;
  cfg.search.hits_per_query_max = 3;
  single s(cfg, 2);
  const auto id = s.n.search(micros{1'000}, "song");
  for (std::uint32_t i = 0; i < 5; ++i) {
    s.n.on_message(micros{1'000 + 250 * (i + 1)}, addr(100), msg_query_hit{id, addr(700 + i), 3, {make_file("song", 1)}});
  }
  REQUIRE(s.h.hits.size() == 3);
  CHECK(s.h.hits[0].id == id);
  CHECK(s.h.hits[0].latency == micros{250});
  CHECK(s.h.hits[2].latency == micros{750});
  CHECK(s.h.hits[0].hit.holder == addr(700));
  CHECK(s.n.stats().hits_received == 3);
  CHECK(s.n.stats().hits_dropped == 2);

  const auto t = std::find_if(s.h.timers.begin(), s.h.timers.end(), [](const auto& x) {
    return x.second.kind == timer_kind::query_timeout;
  });
  REQUIRE(t != s.h.timers.end());
  CHECK(t->first == micros{1'000} + cfg.search.query_timeout);
  s.n.on_timer(t->first, t->second);
  REQUIRE(s.h.done.size() == 1);
  CHECK(s.h.done[0] == std::pair<query_id, std::uint32_t>{id, 3});
  // After closing, late hits are dropped, not delivered.
  s.n.on_message(t->first + micros{1}, addr(100), msg_query_hit{id, addr(799), 3, {make_file("song", 1)}});
  CHECK(s.h.hits.size() == 3);
}

TEST_CASE("the origin ignores echoes of its own query", "[search]") {
  node_config cfg;
  cfg.search.fanout = 10;
  single s(cfg, 3);
  s.n.files().add(make_file("song", 1));
  const auto id = s.n.search(micros{0}, "song");
  s.h.clear();
  s.n.on_message(micros{5}, addr(100), query_from(addr(1), 4, "song", id));
  CHECK(s.h.sent_of<msg_query_hit>().empty());
  CHECK(s.n.stats().queries_duplicate == 1);
}

TEST_CASE("dup_cache: bounded by capacity and lifetime", "[search]") {
  dup_cache cache(4, micros{100});
  for (query_id id = 1; id <= 6; ++id) cache.insert(id, micros{static_cast<std::int64_t>(id)}, addr(1), 0);
  CHECK(cache.size() == 4);
  CHECK(cache.find(1, micros{10}) == nullptr);  // evicted, oldest first
  CHECK(cache.find(2, micros{10}) == nullptr);
  CHECK(cache.find(3, micros{10}) != nullptr);
  CHECK(cache.find(6, micros{10}) != nullptr);
  CHECK(cache.find(3, micros{104}) == nullptr);  // 101 us old: expired
  CHECK(cache.find(6, micros{104}) != nullptr);
  cache.insert(7, micros{200}, addr(1), 0);  // sweeps out the expired ones
  CHECK(cache.size() == 1);
  // An expired id can be inserted again.
  cache.insert(6, micros{500}, addr(1), 0);
  CHECK(cache.find(6, micros{550}) != nullptr);
}

TEST_CASE("dup_cache with a capacity of one keeps the newest id only", "[search]") {
  dup_cache cache(1, micros{1'000'000});
  for (query_id id = 1; id <= 5; ++id) {
    cache.insert(id, micros{static_cast<std::int64_t>(10 * id)}, addr(1), 0);
    CHECK(cache.size() == 1);
    CHECK(cache.find(id, micros{100}) != nullptr);
    if (id > 1) CHECK(cache.find(id - 1, micros{100}) == nullptr);
  }
}

TEST_CASE("the token signature never hides a match: match agrees with a plain token check", "[search]") {
  // Names and queries built from a small vocabulary, so that many queries share bits with
  // files they do not match (and some signatures collide).
  const std::vector<std::string> words = {"alpha", "beta", "gamma", "delta", "file", "000123", "000124",
                                          "x", "y", "z", "photo", "photos", "mp4", "zip", "2019", "2020"};
  rng r(42);
  library lib;
  std::vector<std::vector<std::string>> file_tokens;
  for (std::uint8_t i = 0; i < 60; ++i) {
    std::string name;
    for (int k = 0, n = 1 + static_cast<int>(r.below(4)); k < n; ++k) name += words[r.below(words.size())] + "_";
    lib.add(make_file(name, i));
    file_tokens.push_back(criteria::parse(name).tokens);
  }
  std::size_t matched = 0, prefiltered = 0;
  for (std::size_t q = 0; q < 400; ++q) {
    std::string text;
    for (int k = 0, n = 1 + static_cast<int>(r.below(3)); k < n; ++k) text += words[r.below(words.size())] + " ";
    const auto c = criteria::parse(text);
    std::size_t expected = 0;
    for (const auto& t : file_tokens) {
      const bool has_all = std::includes(t.begin(), t.end(), c.tokens.begin(), c.tokens.end());
      if (has_all) ++expected;
      if (!has_all && (c.signature & ~token_signature(t)) != 0) ++prefiltered;
    }
    CHECK(lib.match(c, 1000).size() == expected);
    matched += expected;
  }
  CHECK(matched > 0);
  CHECK(prefiltered > 0);  // the signature does turn files away before any string compare
}

TEST_CASE("may_match never turns away criteria that match, and does turn some away", "[search]") {
  const std::vector<std::string> words = {"Alpha", "beta", "GAMMA", "delta", "file", "000123", "000124",
                                          "x", "y", "z", "photo", "photos", "mp4", "zip", "2019", "2020"};
  const std::vector<std::string> separators = {" ", "_", "-", "  ", ".", "/"};
  rng r(7);
  std::size_t refused = 0, matching = 0;
  for (int round = 0; round < 200; ++round) {
    library lib;
    CHECK_FALSE(lib.may_match("alpha"));  // nothing to match
    std::vector<sha256_digest> digests;
    for (std::uint8_t i = 0, n = static_cast<std::uint8_t>(1 + r.below(3)); i < n; ++i) {
      std::string name;
      for (int k = 0, m = 1 + static_cast<int>(r.below(4)); k < m; ++k) name += words[r.below(words.size())] + separators[r.below(separators.size())];
      lib.add(make_file(name, static_cast<std::uint8_t>(round * 3 + i)));
      digests.push_back(make_file(name, static_cast<std::uint8_t>(round * 3 + i)).sha256);
    }
    if (round % 5 == 0 && digests.size() > 1) {
      lib.remove(digests.back());  // the union of signatures follows removals
      digests.pop_back();
    }
    for (int q = 0; q < 20; ++q) {
      std::string text = separators[r.below(separators.size())];
      // Sometimes more than tokens_max tokens: those past the limit are ignored by both.
      const int tokens = r.chance(0.1) ? 40 : 1 + static_cast<int>(r.below(3));
      for (int k = 0; k < tokens; ++k) text += words[r.below(words.size())] + separators[r.below(separators.size())];
      const bool matches = !lib.match(criteria::parse(text), 1000).empty();
      if (matches) {
        ++matching;
        REQUIRE(lib.may_match(text));
      }
      if (!lib.may_match(text)) ++refused;
    }
    const std::string by_digest = "sha256:" + digests.front().to_hex();
    CHECK(lib.may_match(" " + by_digest + " "));
    CHECK(lib.match(criteria::parse(by_digest), 10).size() == 1);
    lib.clear();
    CHECK_FALSE(lib.may_match(by_digest));
  }
  CHECK(matching > 100);
  CHECK(refused > 1000);  // most criteria miss a small library's bits

  // Tokens past tokens_max are ignored by both: here the 33rd, which no file has.
  library lib;
  lib.add(make_file("alpha beta.txt", 1));
  std::string long_text = "alpha beta";
  for (int k = 0; k < 30; ++k) long_text += " alpha";
  CHECK(lib.match(criteria::parse(long_text + " qqq"), 10).size() == 1);
  CHECK(lib.may_match(long_text + " qqq"));
  CHECK_FALSE(lib.may_match("alpha qqq"));
}

TEST_CASE("library matching: all tokens, any case, or an exact digest", "[search]") {
  library lib;
  lib.add(make_file("Holiday_Photos-2019.zip", 1));
  lib.add(make_file("holiday video.mp4", 2));
  lib.add(make_file("notes.txt", 3));
  auto names = [&](std::string_view text, std::size_t max = 10) {
    std::vector<std::string> out;
    for (const auto& f : lib.match(criteria::parse(text), max)) out.push_back(f.name);
    return out;
  };
  CHECK(names("holiday") == std::vector<std::string>{"Holiday_Photos-2019.zip", "holiday video.mp4"});
  CHECK(names("PHOTOS 2019") == std::vector<std::string>{"Holiday_Photos-2019.zip"});
  CHECK(names("photo").empty());  // whole tokens only
  CHECK(names("holiday", 1).size() == 1);
  CHECK(names("  ").empty());
  sha256_digest d;
  d.bytes.fill(3);
  CHECK(names("sha256:" + d.to_hex()) == std::vector<std::string>{"notes.txt"});
  // Replacing by digest keeps one record.
  lib.add(make_file("notes-renamed.txt", 3));
  CHECK(lib.size() == 3);
  CHECK(names("renamed") == std::vector<std::string>{"notes-renamed.txt"});
  CHECK(lib.remove(d));
  CHECK_FALSE(lib.remove(d));
}

namespace {
// A line 0 - 1 - 2 - ... - (n-1) of nodes; queries from node 0.
struct line {
  explicit line(std::size_t n, node_config c) : cfg(std::move(c)), net(cfg) {
    for (std::size_t i = 0; i < n; ++i) {
      net.add_node(300 + i);
      net.at(i).start(micros{0});
    }
    for (std::size_t i = 0; i + 1 < n; ++i) net.link(i, i + 1);
  }
  node_config cfg;
  test_net net;
};
}  // namespace

TEST_CASE("on a line, a TTL-t query reaches exactly t hops and hits come back", "[search]") {
  line l(8, node_config{});
  for (std::size_t i = 1; i < 8; ++i) {
    l.net.at(i).files().add(make_file("song number " + std::to_string(i), static_cast<std::uint8_t>(i)));
  }
  const auto id = l.net.at(0).search(micros{0}, "song", {.ttl = 4});
  l.net.run();
  std::size_t reached = 0;
  for (std::size_t i = 1; i < 8; ++i) {
    if (l.net.at(i).stats().queries_received > 0) ++reached;
  }
  CHECK(reached == 4);
  const auto& hits = l.net.host_of(0).hits;
  REQUIRE(hits.size() == 4);
  std::set<std::uint8_t> hops;
  for (const auto& h : hits) {
    CHECK(h.id == id);
    hops.insert(h.hit.hops);
    CHECK(test_net::index_of(h.hit.holder) == h.hit.hops);  // node i is i hops away
  }
  CHECK(hops == std::set<std::uint8_t>{1, 2, 3, 4});
}

TEST_CASE("on a ring, duplicate suppression delivers each node one fresh copy", "[search]") {
  node_config cfg;
  line l(10, cfg);
  l.net.link(9, 0);  // close the ring
  l.net.at(5).files().add(make_file("rare", 9));
  l.net.at(0).search(micros{0}, "rare", {.ttl = 10});
  l.net.run();
  std::uint64_t fresh = 0, dup = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    for (const auto& [id, duplicate] : l.net.host_of(i).seen) (duplicate ? dup : fresh) += 1;
  }
  CHECK(fresh == 9);  // everyone but the origin, once
  CHECK(l.net.host_of(0).hits.size() == 1);  // one holder, one hit
  CHECK(l.net.at(5).stats().hits_sent == 1);
  CHECK(dup >= 1);  // the two directions meet
}

TEST_CASE("dup_cache agrees with a lifetime model while the capacity does not bind", "[search]") {
  // The model keeps each id's last insert time in a map; the table's probing, growth and
  // sweeps must never change what is remembered.
  const micros lifetime{500};
  dup_cache cache(1'000'000, lifetime);
  std::map<query_id, micros> model;
  hearsay::rng random(99);
  micros now{0};
  std::size_t largest_table = 0;
  for (int step = 0; step < 20'000; ++step) {
    now += micros{static_cast<std::int64_t>(random.below(4))};
    // Ids from a small range, so that re-inserts, expiries and collisions are frequent.
    const query_id id = 1 + random.below(200);
    const auto it = model.find(id);
    const bool live = it != model.end() && now - it->second <= lifetime;
    REQUIRE((cache.find(id, now) != nullptr) == live);
    if (!live && random.chance(0.7)) {
      model[id] = now;
      cache.insert(id, now, addr(static_cast<std::uint32_t>(id % 5)), static_cast<std::uint8_t>(id % 7));
      REQUIRE(cache.find(id, now)->ttl_best == id % 7);
      REQUIRE(*cache.upstream_of(*cache.find(id, now)) == addr(static_cast<std::uint32_t>(id % 5)));
    }
    REQUIRE(cache.size() * 4 <= cache.slot_count() * 3);
    largest_table = std::max(largest_table, cache.slot_count());
  }
  // About 180 ids are live at a time (a lifetime of 500 us, an insert every 2.8 us or so):
  // sweeps keep the table near that, however many ids went through it.
  CHECK(largest_table <= 1024);
}

TEST_CASE("dup_cache::find_or_insert answers as find() and then insert() would", "[search]") {
  // Two caches fed the same steps, one through find() then insert(), the other through the
  // single-probe find_or_insert(); small ids and a short lifetime make expired ids (refreshed in
  // place), growth and sweeps frequent, and a small capacity makes room by eviction too.
  const micros lifetime{300};
  dup_cache a(96, lifetime);
  dup_cache b(96, lifetime);
  hearsay::rng random(7);
  micros now{0};
  std::size_t found_count = 0;
  for (int step = 0; step < 20'000; ++step) {
    now += micros{static_cast<std::int64_t>(random.below(3))};
    const query_id id = 1 + random.below(300);
    const peer_addr up = addr(static_cast<std::uint32_t>(random.below(6)));
    const auto ttl = static_cast<std::uint8_t>(random.below(8));
    dup_cache::entry* before = a.find(id, now);
    const std::uint8_t ttl_before = before != nullptr ? before->ttl_best : 0;
    if (before == nullptr) a.insert(id, now, up, ttl);
    bool found = true;
    dup_cache::entry& e = b.find_or_insert(id, now, up, ttl, nullptr, found);
    REQUIRE(found == (before != nullptr));
    if (found) {
      ++found_count;
      REQUIRE(e.ttl_best == ttl_before);  // the earlier copy's entry, untouched
    } else {
      REQUIRE(e.ttl_best == ttl);
      REQUIRE(*b.upstream_of(e) == up);
      REQUIRE(b.find(id, now) == &e);
    }
    REQUIRE(a.size() == b.size());
    REQUIRE(a.slot_count() == b.slot_count());
  }
  CHECK(found_count > 1000);  // duplicates were asked about often
  CHECK(found_count < 19'000);  // and so were new and expired ids
}

TEST_CASE("dup_cache at capacity lets the oldest ids go first, an eighth at a time", "[search]") {
  const std::uint32_t capacity = 64;
  for (const micros lifetime : {micros{1'000'000'000}, micros{300}}) {
    INFO("lifetime " << lifetime.count());
    dup_cache cache(capacity, lifetime);
    std::map<query_id, micros> model;  // last insert time of every id inserted
    hearsay::rng random(7);
    micros now{0};
    for (int step = 0; step < 20'000; ++step) {
      now += micros{static_cast<std::int64_t>(random.below(3))};
      const query_id id = 1 + random.below(400);
      const dup_cache::entry* found = cache.find(id, now);
      const auto it = model.find(id);
      const bool live = it != model.end() && now - it->second <= lifetime;
      if (found != nullptr) {
        REQUIRE(live);  // never remembers an id it was not given, or one that expired
        REQUIRE(found->ttl_best == id % 11);
        REQUIRE(*cache.upstream_of(*found) == addr(static_cast<std::uint32_t>(id % 13)));
      }
      if (found == nullptr && random.chance(0.8)) {
        model[id] = now;
        cache.insert(id, now, addr(static_cast<std::uint32_t>(id % 13)), static_cast<std::uint8_t>(id % 11));
        REQUIRE(cache.find(id, now) != nullptr);
      }
      REQUIRE(cache.size() <= capacity);
      if (step % 50 != 0) continue;
      // Live ids the cache let go were all inserted no later than every live id it kept,
      // and it keeps at least 7/8 of its capacity (or every live id, if fewer).
      micros newest_dropped{-1};
      micros oldest_kept{std::numeric_limits<std::int64_t>::max()};
      std::size_t live_count = 0, kept = 0;
      for (const auto& [k, t] : model) {
        if (now - t > lifetime) continue;
        ++live_count;
        if (cache.find(k, now) != nullptr) {
          ++kept;
          oldest_kept = std::min(oldest_kept, t);
        } else {
          newest_dropped = std::max(newest_dropped, t);
        }
      }
      REQUIRE(newest_dropped <= oldest_kept);
      REQUIRE(kept >= std::min<std::size_t>(live_count, capacity - capacity / 8));
    }
  }
}

TEST_CASE("dup_cache keeps exact times while its epoch moves", "[search]") {
  // Times are 32-bit microsecond offsets: over three hours the epoch moves five times, and
  // every step checks the lifetime boundary to the microsecond.
  const micros lifetime{10'000'000};
  dup_cache cache(100, lifetime);
  const micros start{123'456'789'000};
  auto inserted_at = [&](std::int64_t k) { return start + micros{k * 1'000'000}; };
  for (std::int64_t k = 0; k < 3 * 3600; ++k) {
    const micros now = inserted_at(k);
    const auto id = static_cast<query_id>(k + 1);
    cache.insert(id, now, addr(1), static_cast<std::uint8_t>(k % 250));
    REQUIRE(cache.find(id, now)->ttl_best == k % 250);
    if (k >= 10) {
      // The id of ten seconds ago is exactly a lifetime old now: still live, and gone one
      // microsecond later.
      INFO("step " << k);
      REQUIRE(cache.find(id - 10, now) != nullptr);
      REQUIRE(cache.find(id - 10, now)->ttl_best == (k - 10) % 250);
      REQUIRE(cache.find(id - 10, now + micros{1}) == nullptr);
    }
    // Eleven ids are live at a time; expired ones are swept out as the table fills, so it
    // stays at 32 slots (11 fill at most 3/8 of it) for three hours of inserts.
    if (k >= 10) REQUIRE(cache.size() >= 11);
    REQUIRE(cache.size() <= 24);
    REQUIRE(cache.slot_count() <= 32);
  }
}

TEST_CASE("dup_cache grows with every id live: 16 slots to 64, then doubling, upstreams kept", "[search]") {
  // Ids that never expire, from three neighbours whose links keep memos: the first table
  // fills 3/4 at the 13th id and is re-laid at 64 slots (not 32); the next growth, at the
  // 49th, doubles to 128. Growth drops nothing, so every id keeps its upstream and the
  // memos stay valid (no renumbering: the upstream table keeps its three entries).
  dup_cache cache(1'000'000, micros{1'000'000'000});
  std::uint64_t memo[3] = {0, 0, 0};
  std::vector<std::size_t> table_at;  // slot count after each insert
  for (std::uint32_t k = 0; k < 60; ++k) {
    const micros now{std::int64_t{k}};
    cache.insert(k + 1, now, addr(k % 3), static_cast<std::uint8_t>(k % 9), &memo[k % 3]);
    table_at.push_back(cache.slot_count());
    REQUIRE(cache.upstream_count() == std::min<std::size_t>(k + 1, 3));
    for (std::uint32_t j = 0; j <= k; ++j) {
      const dup_cache::entry* e = cache.find(j + 1, now);
      REQUIRE(e != nullptr);
      REQUIRE(e->ttl_best == j % 9);
      REQUIRE(*cache.upstream_of(*e) == addr(j % 3));
    }
  }
  CHECK(table_at[11] == 16);   // 12 ids: 3/4 of 16
  CHECK(table_at[12] == 64);   // the 13th makes room: every id live, a size skipped
  CHECK(table_at[47] == 64);   // 48 ids: 3/4 of 64
  CHECK(table_at[48] == 128);  // then doubling
  CHECK(cache.size() == 60);
}

TEST_CASE("dup_cache keeps each id's upstream, and only the upstreams its ids name", "[search]") {
  // Neighbours come and go: each window of 50 ids has 4 upstreams of its own. Sweeps drop the
  // upstreams of expired ids, so the table of upstreams stays small.
  const micros lifetime{1'000};
  dup_cache cache(1'000'000, lifetime);
  std::size_t largest = 0;
  for (std::uint32_t k = 0; k < 20'000; ++k) {
    const micros now{std::int64_t{k} * 10};
    const query_id id = k + 1;
    const peer_addr up = addr(100 + (k / 50) * 4 + k % 4);
    cache.insert(id, now, up, 3);
    REQUIRE(*cache.upstream_of(*cache.find(id, now)) == up);
    if (k >= 100) {
      // The id of 1 ms ago is still live, with its own upstream.
      const dup_cache::entry* old = cache.find(id - 100, now);
      REQUIRE(old != nullptr);
      REQUIRE(*cache.upstream_of(*old) == addr(100 + ((k - 100) / 50) * 4 + (k - 100) % 4));
    }
    largest = std::max(largest, cache.upstream_count());
  }
  // The 101 ids live at a sweep name at most 12 upstreams; the table of 512 slots is swept
  // again at 384 ids, so at most 283 inserts (7 windows, 28 upstreams) come on top. Of the
  // 1,600 upstreams seen, never more than 40 are held.
  CHECK(largest <= 40);
  CHECK(largest >= 12);
}

TEST_CASE("dup_cache memos of upstream numbers stay right across sweeps that renumber", "[search]") {
  // Three neighbours, each with its link's memo. Neighbour 1 goes quiet; once its ids have
  // expired a sweep drops it, and the others' numbers move down. Their memos, taken before,
  // must not be believed after: every id keeps the upstream it came from.
  const micros lifetime{1'000};
  dup_cache cache(1'000'000, lifetime);
  std::uint64_t memo[3] = {0, 0, 0};
  std::map<query_id, std::uint32_t> sender;  // id -> neighbour
  query_id next = 1;
  auto insert = [&](std::uint32_t k, micros now) {
    const query_id id = next++;
    cache.insert(id, now, addr(k), 1, &memo[k]);
    sender[id] = k;
    REQUIRE(*cache.upstream_of(*cache.find(id, now)) == addr(k));
  };
  for (std::int64_t t = 0; t < 5; ++t) {
    for (std::uint32_t k = 0; k < 3; ++k) insert(k, micros{t});
  }
  CHECK(memo[0] != 0);
  const std::uint64_t before = memo[2];
  // Neighbours 0 and 2 only, long after: the sweeps that come as the table fills drop
  // neighbour 1 (and 0's old ids), and 2 is renumbered.
  micros now{10'000};
  for (int step = 0; step < 200; ++step) {
    now += micros{1};
    insert(static_cast<std::uint32_t>(step % 2 == 0 ? 0 : 2), now);
  }
  CHECK(cache.upstream_count() == 2);  // neighbour 1 is gone
  CHECK(memo[2] != before);            // re-learned under the new numbering
  for (const auto& [id, k] : sender) {
    const dup_cache::entry* e = cache.find(id, now);
    if (e == nullptr) continue;  // expired
    REQUIRE(*cache.upstream_of(*e) == addr(k));
  }
}

TEST_CASE("dup_cache of a hub: thousands of upstreams, and past the limit none", "[search]") {
  // A hub of a static topology hears each query from a different neighbour. Beyond
  // upstreams_max distinct upstreams an id is still remembered, but without its upstream.
  const std::size_t n = dup_cache::upstreams_max + 100;
  dup_cache cache(1'000'000, micros{1'000'000'000});
  auto upstream = [](std::size_t k) { return peer_addr::from_ipv4(0x0B000000u + static_cast<std::uint32_t>(k), 7000); };
  for (std::size_t k = 0; k < n; ++k) cache.insert(k + 1, micros{1'000}, upstream(k), 2);
  CHECK(cache.upstream_count() == dup_cache::upstreams_max);
  for (std::size_t k = 0; k < n; k += 97) {
    const dup_cache::entry* e = cache.find(k + 1, micros{2'000});
    REQUIRE(e != nullptr);
    REQUIRE(e->ttl_best == 2);
    if (k < dup_cache::upstreams_max) {
      REQUIRE(cache.upstream_of(*e).has_value());
      REQUIRE(*cache.upstream_of(*e) == upstream(k));
    } else {
      REQUIRE(!cache.upstream_of(*e).has_value());
    }
  }
  // An upstream it already knows is still found for new ids.
  cache.insert(n + 1, micros{1'000}, upstream(12'345), 1);
  CHECK(*cache.upstream_of(*cache.find(n + 1, micros{1'000})) == upstream(12'345));
}

TEST_CASE("dup_cache with a lifetime of a day", "[search]") {
  // Long lifetimes count in coarser ticks (128 us for a day): expiry may come up to a tick
  // early, never late, and nothing is forgotten across an epoch move days later.
  const micros day{86'400'000'000};
  dup_cache cache(10, day);
  const micros t0{5'000'000'000'000};
  cache.insert(1, t0, addr(1), 0);
  CHECK(cache.find(1, t0 + day - micros{1'000}) != nullptr);
  CHECK(cache.find(1, t0 + day + micros{1}) == nullptr);
  // Four days on (past 2^31 ticks of 128 us = 76 hours from the epoch): the epoch moves.
  const micros later = t0 + 4 * day;
  cache.insert(2, later, addr(1), 0);
  CHECK(cache.find(2, later + day - micros{1'000}) != nullptr);
  CHECK(cache.find(2, later + day + micros{1}) == nullptr);
  CHECK(cache.find(1, later) == nullptr);
  CHECK(cache.size() <= 2);  // id 1, expired, leaves at the next sweep
}

TEST_CASE("a neighbour sending queries faster than its rate is throttled", "[search]") {
  node_config cfg;
  cfg.search.queries_per_neighbor_per_s = 10;
  cfg.search.queries_per_neighbor_burst = 5;
  single s(cfg, 3);
  // A burst of 8 distinct queries at the same instant: 5 pass, 3 are dropped.
  for (query_id id = 1; id <= 8; ++id) s.n.on_message(micros{1'000}, addr(100), query_from(addr(900), 2, "x", id));
  CHECK(s.n.stats().queries_rate_limited == 3);
  CHECK(s.h.seen.size() == 5);
  // Another neighbour has its own allowance.
  s.n.on_message(micros{1'000}, addr(101), query_from(addr(900), 2, "x", 50));
  CHECK(s.h.seen.size() == 6);
  // 300 ms later the first neighbour has earned 3 more queries, not more.
  for (query_id id = 10; id <= 15; ++id) s.n.on_message(micros{301'000}, addr(100), query_from(addr(900), 2, "x", id));
  CHECK(s.h.seen.size() == 9);
  CHECK(s.n.stats().queries_rate_limited == 6);
}

TEST_CASE("a neighbour's query budget belongs to its link and goes with it", "[search]") {
  node_config cfg;
  cfg.search.queries_per_neighbor_per_s = 10;
  cfg.search.queries_per_neighbor_burst = 5;
  single s(cfg, 3);  // neighbours addr(100), addr(101), addr(102)
  query_id id = 1;
  // Distinct queries from one neighbour at one instant; how many the budget refused.
  auto burst = [&](std::uint32_t from, int count) {
    const auto before = s.n.stats().queries_rate_limited;
    for (int k = 0; k < count; ++k) s.n.on_message(micros{1'000}, addr(from), query_from(addr(900), 2, "x", id++));
    return s.n.stats().queries_rate_limited - before;
  };
  CHECK(burst(100, 5) == 0);
  CHECK(burst(101, 6) == 1);
  // The first link goes (the others move down a place in the view)...
  s.n.on_message(micros{1'000}, addr(100), msg_disconnect{});
  REQUIRE_FALSE(s.n.members().is_active(addr(100)));
  // ... and each budget stays with its neighbour: 101's is still spent, 102's is whole.
  CHECK(burst(101, 1) == 1);
  CHECK(burst(102, 6) == 1);
  // A new link to addr(100) starts with a full budget, whatever the old one had left.
  s.n.on_message(micros{1'000}, addr(100), msg_neighbor{true});
  REQUIRE(s.n.members().is_active(addr(100)));
  CHECK(burst(100, 6) == 1);
}
