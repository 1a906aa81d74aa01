// Flat JSON objects for the control protocol (see json.hpp).

#include "transport/json.hpp"

#include <cstdio>

namespace hearsay::net::json {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

namespace {
struct parser {
  std::string_view s;
  std::size_t i = 0;

  void skip() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
  }
  result<> expect(char c) {
    skip();
    if (i < s.size() && s[i] == c) {
      ++i;
      return {};
    }
    return failure(std::string("expected '") + c + "' at " + std::to_string(i));
  }
  result<std::string> string() {
    if (auto open = expect('"'); !open) return open.error();
    std::string out;
    while (i < s.size() && s[i] != '"') {
      char c = s[i++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= s.size()) break;
      const char e = s[i++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i + 4 > s.size()) break;
          unsigned v = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = s[i++];
            v = v * 16 + static_cast<unsigned>(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
          }
          // Only the ASCII range is needed here; other code points are kept as UTF-8.
          if (v < 0x80) {
            out += static_cast<char>(v);
          } else if (v < 0x800) {
            out += static_cast<char>(0xc0 | (v >> 6));
            out += static_cast<char>(0x80 | (v & 0x3f));
          } else {
            out += static_cast<char>(0xe0 | (v >> 12));
            out += static_cast<char>(0x80 | ((v >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (v & 0x3f));
          }
          break;
        }
        default: out += e;
      }
    }
    if (i >= s.size()) return failure("unterminated string");
    ++i;
    return out;
  }
  result<std::string> scalar() {
    skip();
    if (i < s.size() && s[i] == '"') return string();
    const std::size_t start = i;
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ' ') ++i;
    std::string out(s.substr(start, i - start));
    if (out.empty() || out == "[" || out[0] == '{' || out[0] == '[') return failure("only flat values are supported");
    return out;
  }
};
}  // namespace

result<std::vector<std::pair<std::string, std::string>>> parse_flat_ordered(std::string_view text) {
  if (text.size() > (1u << 16)) return failure("request too long");
  parser p{text, 0};
  if (auto open = p.expect('{'); !open) return open.error();
  std::vector<std::pair<std::string, std::string>> out;
  // Nothing may follow the object but white space.
  auto at_end = [&]() -> result<std::vector<std::pair<std::string, std::string>>> {
    ++p.i;
    p.skip();
    if (p.i != text.size()) return failure("text after the object at " + std::to_string(p.i));
    return std::move(out);
  };
  p.skip();
  if (p.i < text.size() && text[p.i] == '}') return at_end();
  while (true) {
    auto k = p.string();
    if (!k) return k.error();
    if (auto colon = p.expect(':'); !colon) return colon.error();
    auto v = p.scalar();
    if (!v) return v.error();
    out.emplace_back(std::move(*k), std::move(*v));
    p.skip();
    if (p.i < text.size() && text[p.i] == ',') {
      ++p.i;
      continue;
    }
    if (p.i >= text.size() || text[p.i] != '}') {
      auto close = p.expect('}');
      return close.error();
    }
    return at_end();
  }
}

result<std::map<std::string, std::string>> parse_flat(std::string_view text) {
  auto fields = parse_flat_ordered(text);
  if (!fields) return fields.error();
  // A repeated key keeps its last value, as before.
  std::map<std::string, std::string> out;
  for (auto& [k, v] : *fields) out[k] = std::move(v);
  return out;
}

}  // namespace hearsay::net::json
