#pragma once
// The little JSON the control protocol needs: quoting strings, and reading one flat object
// (string, number, boolean and null values) per line. Bounded and non-throwing.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "overlay/result.hpp"

namespace hearsay::net::json {

// s as a JSON string literal, quotes included.
std::string quote(std::string_view s);

// Parses a flat object; values are returned as text (strings unescaped, numbers and
// booleans as written). Anything else fails with what was wrong and where.
result<std::map<std::string, std::string>> parse_flat(std::string_view text);
// The same, keeping the fields in the order they were written (for display).
result<std::vector<std::pair<std::string, std::string>>> parse_flat_ordered(std::string_view text);

}  // namespace hearsay::net::json
