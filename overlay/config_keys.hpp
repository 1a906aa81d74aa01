#pragma once
// The overlay's parameters as named, typed, documented keys with text setters. The
// simulator's scenario files ("[overlay]" keys) and the real node's TOML config share this
// one table, so a parameter means the same thing, with the same bounds, in both.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "overlay/config.hpp"
#include "overlay/result.hpp"

namespace hearsay {

struct config_key {
  std::string name;         // "fanout", "shuffle_period_ms", ...
  std::string type;         // "integer" or "boolean"
  std::string description;  // one line
  // Parses the text form and sets the field (left unchanged on failure).
  std::function<result<>(node_config&, std::string_view)> set;
};

const std::vector<config_key>& overlay_config_keys();
// The [fetch] section: how downloads are made (fetch_config), shared the same way.
const std::vector<config_key>& fetch_config_keys();
const config_key* find_overlay_key(std::string_view name);

// Cross-field checks on a node configuration.
result<> validate(const node_config& cfg);

// A syntax error in a settings or scenario file, as a compiler prints one: "source:line:col:
// what", then the line of `text` and a caret under the column (columns count characters, as
// the TOML parser's do; tabs are kept so that the caret lines up). Line 0: "source: what".
std::string syntax_error_text(std::string_view text, const std::string& source, std::uint32_t line,
                              std::uint32_t column, std::string_view what);

// Shared text parsers for key tables: whole numbers within [lo, hi], and booleans.
result<std::uint64_t> parse_integer(std::string_view text, std::uint64_t lo, std::uint64_t hi);
result<bool> parse_boolean(std::string_view text);

}  // namespace hearsay
