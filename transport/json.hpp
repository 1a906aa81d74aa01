#pragma once
// The little JSON the control protocol needs: quoting strings, and reading one flat object
// (string, number, boolean and null values) per line. Bounded and non-throwing.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearsay::net::json {

// s as a JSON string literal, quotes included.
std::string quote(std::string_view s);

// Parses a flat object; values are returned as text (strings unescaped, numbers and
// booleans as written). False with a message on anything else.
bool parse_flat(std::string_view text, std::map<std::string, std::string>& out, std::string& error);
// The same, keeping the fields in the order they were written (for display).
bool parse_flat(std::string_view text, std::vector<std::pair<std::string, std::string>>& out, std::string& error);

}  // namespace hearsay::net::json
