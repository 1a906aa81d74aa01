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
