// Libraries and the shared catalogue: the same matches whether a node keeps its own records
// or names records of a catalogue shared by many nodes (the simulator's).

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "overlay/library.hpp"

using namespace hearsay;

namespace {
file_info file(const std::string& name, std::uint8_t tag) {
  file_info f{name, 1000u + tag, {}};
  f.sha256.bytes[0] = tag;
  f.sha256.bytes[31] = 0xa5;
  return f;
}

std::vector<std::string> names_of(const std::vector<file_info>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.name);
  return out;
}
}  // namespace

TEST_CASE("a library over a shared catalogue matches as one with records of its own", "[library]") {
  const std::vector<std::string> names = {"holiday photos 2019.zip", "song one.ogg", "song two.ogg",
                                          "Photos of a Holiday.tar", "notes.txt", "one more song.mp3"};
  catalogue shared;
  for (std::size_t i = 0; i < names.size(); ++i) CHECK(shared.add(file(names[i], static_cast<std::uint8_t>(i))) == i);

  library own;
  library a, b;
  a.share(shared);
  b.share(shared);
  const std::vector<file_id> a_ids = {0, 1, 3, 5};
  for (file_id id : a_ids) {
    own.add(file(names[id], static_cast<std::uint8_t>(id)));
    a.add(id);
  }
  b.assign(std::vector<file_id>{2, 4});
  CHECK(a.size() == 4);
  CHECK(b.size() == 2);
  CHECK(shared.size() == names.size());  // records stored once

  for (const char* text : {"song", "holiday photos", "ONE", "notes", "tar", "missing", "sha256:zz"}) {
    const auto c = criteria::parse(text);
    CHECK(names_of(a.match(c, 10)) == names_of(own.match(c, 10)));
    CHECK(a.may_match(text) == own.may_match(text));
  }
  CHECK(names_of(a.match(criteria::parse("song"), 10)) == std::vector<std::string>{"song one.ogg", "one more song.mp3"});
  CHECK(names_of(b.match(criteria::parse("song"), 10)) == std::vector<std::string>{"song two.ogg"});
  CHECK_FALSE(b.may_match("photos"));
  REQUIRE(a.find(file(names[3], 3).sha256) != nullptr);
  CHECK(a.find(file(names[3], 3).sha256)->name == names[3]);
  CHECK(b.find(file(names[3], 3).sha256) == nullptr);
  // By digest, through the shared records.
  const auto by_digest = criteria::parse("sha256:" + file(names[5], 5).sha256.to_hex());
  CHECK(names_of(a.match(by_digest, 10)) == std::vector<std::string>{names[5]});
}

TEST_CASE("a library's own records: add replaces by digest, remove keeps the order of the rest", "[library]") {
  library lib;
  lib.add(file("alpha.txt", 1));
  lib.add(file("beta.txt", 2));
  lib.add(file("gamma.txt", 3));
  lib.add(file("beta renamed.txt", 2));  // the same digest: replaced in place
  CHECK(lib.size() == 3);
  CHECK(names_of(lib.match(criteria::parse("txt"), 10)) ==
        std::vector<std::string>{"alpha.txt", "beta renamed.txt", "gamma.txt"});
  CHECK(lib.may_match("beta txt"));
  CHECK(lib.match(criteria::parse("beta"), 10).size() == 1);

  CHECK(lib.remove(file("alpha.txt", 1).sha256));
  CHECK_FALSE(lib.remove(file("alpha.txt", 1).sha256));
  CHECK(names_of(lib.match(criteria::parse("txt"), 10)) == std::vector<std::string>{"beta renamed.txt", "gamma.txt"});
  CHECK_FALSE(lib.may_match("alpha"));  // the signature union follows the removal
  lib.add(file("delta.txt", 4));
  CHECK(names_of(lib.match(criteria::parse("txt"), 10)) ==
        std::vector<std::string>{"beta renamed.txt", "gamma.txt", "delta.txt"});
  lib.clear();
  CHECK(lib.empty());
  CHECK_FALSE(lib.may_match("txt"));
}

namespace {
// The substring rule written plainly: every criteria token inside one of the name's tokens.
bool contains_all(const std::string& name, const std::string& query) {
  const auto name_tokens = tokenize(name, 64);
  for (const auto& t : criteria::parse(query).tokens) {
    bool inside = false;
    for (const auto& n : name_tokens) inside = inside || n.find(t) != std::string::npos;
    if (!inside) return false;
  }
  return true;
}
}  // namespace

TEST_CASE("a library set to substrings finds parts and prefixes of words, in any case", "[library]") {
  const std::vector<std::string> names = {"holiday photos.txt", "medium10mb.bin", "Small File.TXT", "notes 2026.md",
                                          "photograph.PNG"};
  library lib, words;
  lib.set_mode(match_mode::substrings);
  for (std::size_t i = 0; i < names.size(); ++i) {
    lib.add(file(names[i], static_cast<std::uint8_t>(i)));
    words.add(file(names[i], static_cast<std::uint8_t>(i)));
  }
  auto found = [&](const library& l, const std::string& text) { return names_of(l.match(criteria::parse(text), 10)); };
  using names_t = std::vector<std::string>;
  CHECK(found(lib, "photo") == names_t{"holiday photos.txt", "photograph.PNG"});
  CHECK(found(lib, "medium") == names_t{"medium10mb.bin"});
  CHECK(found(lib, "10mb") == names_t{"medium10mb.bin"});  // inside a word, not only its start
  CHECK(found(lib, "PHOTO Holi") == names_t{"holiday photos.txt"});  // every token, any case
  CHECK(found(lib, "small txt") == names_t{"Small File.TXT"});
  CHECK(found(lib, "photos.txt") == names_t{"holiday photos.txt"});
  CHECK(found(lib, "dayphot").empty());  // a token lies inside one word, never across two
  CHECK(found(lib, "photo zebra").empty());
  CHECK(found(lib, "...").empty());  // no token: nothing
  CHECK(found(lib, "sha256:" + file(names[1], 1).sha256.to_hex()) == names_t{"medium10mb.bin"});
  CHECK(lib.match(criteria::parse("o"), 2).size() == 2);  // at most max_results
  // The filter never turns away a file that matches; with few names it turns away what none
  // can match (the letter pairs of many names fill its 64 bits, and then each file's own
  // filter is what spares the matching).
  for (const char* text : {"photo", "medium", "10mb", "s", "2026 notes", "PNG"}) CHECK(lib.may_match(text));
  library small;
  small.set_mode(match_mode::substrings);
  small.add(file("ab.txt", 9));
  CHECK(small.may_match("AB"));
  CHECK(small.may_match("x"));
  CHECK_FALSE(small.may_match("zebra"));
  CHECK(small.match(criteria::parse("abc"), 10).empty());
  // The default (the simulator's rule) is unchanged: whole words only.
  CHECK(found(words, "photo").empty());
  CHECK(found(words, "photos") == names_t{"holiday photos.txt"});
  CHECK_FALSE(words.may_match("medium"));
  // clear() keeps the mode (a rescan refills the library).
  lib.clear();
  lib.add(file("medium10mb.bin", 1));
  CHECK(found(lib, "medium") == names_t{"medium10mb.bin"});
}

TEST_CASE("substring matching agrees with the plain rule on many names and queries", "[library]") {
  // A small alphabet makes tokens overlap and repeat ("aab" inside "aaab"): the automaton's
  // failure links decide those.
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  auto draw = [&](std::uint64_t n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % n;
  };
  auto word = [&](std::size_t longest) {
    std::string w;
    for (std::uint64_t k = 0, n = 1 + draw(longest); k < n; ++k) w += "abAB1"[draw(5)];
    return w;
  };
  std::vector<std::string> names;
  library lib;
  lib.set_mode(match_mode::substrings);
  for (int i = 0; i < 200; ++i) {
    std::string name = word(8);
    for (std::uint64_t k = 0, n = draw(4); k < n; ++k) name += (draw(2) ? " " : "-") + word(8);
    names.push_back(name);
    file_info f{name, 1u, {}};
    f.sha256.bytes[0] = static_cast<std::uint8_t>(i);
    f.sha256.bytes[1] = static_cast<std::uint8_t>(i >> 8);
    lib.add(f);
  }
  for (int q = 0; q < 500; ++q) {
    std::string query = word(4);
    for (std::uint64_t k = 0, n = draw(3); k < n; ++k) query += " " + word(4);
    std::vector<std::string> expected;
    for (const auto& n : names) {
      if (contains_all(n, query)) expected.push_back(n);
    }
    INFO(query);
    CHECK(names_of(lib.match(criteria::parse(query), names.size())) == expected);
    if (!expected.empty()) CHECK(lib.may_match(query));
  }
}

TEST_CASE("a substring query's cost is bounded by its size", "[library]") {
  // The automaton has at most one state per byte of the tokens (plus the root), whatever
  // the tokens; a name is then read once, a step per byte.
  std::vector<std::string> tokens;
  std::size_t bytes = 0;
  for (std::size_t k = 0; k < substring_matcher::tokens_max; ++k) {
    tokens.push_back(std::string(7, static_cast<char>('a' + k % 26)) + std::to_string(k));
    bytes += tokens.back().size();
  }
  const substring_matcher m(tokens);
  CHECK(m.states() <= bytes + 1);
  CHECK_FALSE(m.matches(tokenize("aaaaaaa0 bbbbbbb1")));
  CHECK(m.matches(tokens));
  // Criteria beyond tokens_max tokens are cut to that many.
  std::string long_query;
  for (int k = 0; k < 100; ++k) long_query += "w" + std::to_string(k) + " ";
  CHECK(criteria::parse(long_query).tokens.size() == criteria::tokens_max);
}
