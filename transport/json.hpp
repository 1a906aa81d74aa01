#pragma once
// The control protocol's JSON, through nlohmann-json: one object per line, written in the
// order its fields were added, and read back as one flat object. Neither throws.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "overlay/result.hpp"

namespace hearsay::net::json {

// Insertion order is kept: clients and scripts read "event" first, and the CLI shows a
// status in the node's order.
using object = nlohmann::ordered_json;

// j as one line of compact JSON. Strings that are not valid UTF-8 (a remote peer's file
// names may be any bytes) have their bad bytes replaced by U+FFFD instead of throwing.
std::string line(const object& j);

// Parses a flat object; values are returned as text (strings unescaped, numbers and
// booleans as written). Anything else fails with what was wrong and where.
result<std::map<std::string, std::string>> parse_flat(std::string_view text);
// The same, keeping the fields in the order they were written (for display).
result<std::vector<std::pair<std::string, std::string>>> parse_flat_ordered(std::string_view text);

}  // namespace hearsay::net::json
