// The control protocol's JSON (see json.hpp).

#include "transport/json.hpp"

namespace hearsay::net::json {

std::string line(const object& j) { return j.dump(-1, ' ', false, object::error_handler_t::replace); }

namespace {
// Events of nlohmann's SAX parser collected as (key, text) pairs: the numbers' text comes
// as written, and anything nested stops the parse.
struct flat_reader : nlohmann::json_sax<nlohmann::json> {
  std::vector<std::pair<std::string, std::string>> fields;
  std::string error;
  int depth = 0;

  bool value(std::string text) {
    if (depth != 1) return refuse("a value outside the object");
    fields.back().second = std::move(text);
    return true;
  }
  bool refuse(std::string why) {
    error = std::move(why);
    return false;
  }
  bool null() override { return value("null"); }
  bool boolean(bool v) override { return value(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return value(std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return value(std::to_string(v)); }
  bool number_float(number_float_t, const string_t& text) override { return value(text); }
  bool string(string_t& v) override { return value(std::move(v)); }
  bool binary(binary_t&) override { return refuse("binary values are not supported"); }
  bool start_object(std::size_t) override {
    return ++depth == 1 || refuse("only flat values are supported");
  }
  bool key(string_t& k) override {
    fields.emplace_back(std::move(k), std::string());
    return true;
  }
  bool end_object() override {
    --depth;
    return true;
  }
  bool start_array(std::size_t) override {
    return refuse(depth == 0 ? "not an object" : "only flat values are supported");
  }
  bool end_array() override { return false; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception& e) override {
    return refuse(e.what());
  }
};
}  // namespace

result<std::vector<std::pair<std::string, std::string>>> parse_flat_ordered(std::string_view text) {
  if (text.size() > (1u << 16)) return failure("request too long");
  flat_reader reader;
  // Strict: nothing may follow the object but white space. The SAX parser reports errors to
  // the reader rather than throwing; the catch is for anything it might throw all the same,
  // since a request line must never end the node.
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text, &reader, nlohmann::json::input_format_t::json, true);
  } catch (const nlohmann::json::exception& e) {
    return failure(e.what());
  }
  // A success is an object: a bare value or an array was refused by the reader.
  if (!ok) return failure(reader.error.empty() ? "not a JSON object" : reader.error);
  return std::move(reader.fields);
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
